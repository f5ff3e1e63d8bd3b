"""Closed work orders as evidence (a pure function of the history and a partition).

The Dirichlet posterior mean of a cause's frequency, (N0 p + k) / (N0 + n), relative
to its prior p. Causes no order found keep their weight; only the share of the
unknown-fault leak and of the others shrinks, so this is exactly a prior update,
recomputed per query."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping

from engine.partition import Partition
from engine.rules import Contrib
from engine.score import LEAK

# How many closed work orders the manual's prior is worth (Dirichlet pseudo-count):
# with 20, three orders closed on a cause with a 10 % prior multiply its odds by 2.5.
HISTORY_WEIGHT = 20.0
# The most the repair history may multiply one cause's odds by, however many orders
# (a bound on what a few accounts can do to every technician's ranking).
HISTORY_MAX_ODDS = 4.0

# Repair history: closed work orders per (equipment, error code) -> {cause id: count}.
History = Mapping[tuple[str, str], Mapping[str, int]]


def history_contribs(
    part: Partition,
    codes: list[str],
    history: History,
    canonical: Callable[[Iterable[str]], set[str]],
) -> list[Contrib]:
    """``canonical`` maps codes to the station codes they stand for (OCPP aliases)."""
    if part.key == "*" or not history:
        return []
    want = canonical(codes)
    counts: dict[str, int] = {}
    for (eq, error), per in history.items():
        if eq != part.key:
            continue
        # an order counts when it reported the same fault (OCPP aliases resolved),
        # or for any code when the query names none
        if want and not (canonical(re.split(r"[,\s]+", error)) & want):
            continue
        for cid, n in per.items():
            counts[cid] = counts.get(cid, 0) + n
    total = sum(counts.values())
    out = []
    for cid, k in sorted(counts.items()):
        if cid not in part.causes or k <= 0:
            continue
        p = math.exp(part.log_prior[cid]) * (1 - LEAK)
        w = math.log((HISTORY_WEIGHT * p + k) / (HISTORY_WEIGHT * p))
        capped = w > math.log(HISTORY_MAX_ODDS)
        w = min(w, math.log(HISTORY_MAX_ODDS))
        c = part.causes[cid]
        where = f"{part.key}, {' / '.join(codes) or 'any error code'}"
        bound = f"; weight capped at x{HISTORY_MAX_ODDS:g} odds" if capped else ""
        out.append(
            Contrib(
                id=f"history:{cid}",
                cause=cid,
                logw=w,
                kind="repair history",
                observation=(
                    f"{k} of {total} counted closed work orders ({where}) found this cause{bound}"
                ),
                matched=c.title,
                path=c.source.path,
                line=c.source.line_start,
                reason="repair history",
                slot="history",
            )
        )
    return out
