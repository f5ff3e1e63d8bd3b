"""Small statistics helpers: median and p95 (nearest rank) of timings."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any


def percentile(xs: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sample."""
    if not xs:
        raise ValueError("percentile of an empty sample")
    s = sorted(xs)
    k = max(1, math.ceil(q / 100 * len(s)))
    return s[k - 1]


def summary(xs: Sequence[float]) -> dict[str, Any]:
    """n, median, p95, p5, min, max and mean of a sample (empty sample: n = 0 only).
    For a throughput p5 is the slow tail, as p95 is for a duration."""
    if not xs:
        return {"n": 0}
    return {
        "n": len(xs),
        "median": statistics.median(xs),
        "p95": percentile(xs, 95),
        "p5": percentile(xs, 5),
        "min": min(xs),
        "max": max(xs),
        "mean": statistics.fmean(xs),
    }
