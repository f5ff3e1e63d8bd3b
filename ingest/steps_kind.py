"""A step's kind and, when the manual gives none, its minutes: from its words
(kb/curated/steps.yaml, general field vocabulary), set once at ingest.

>>> v = default_vocabulary()
>>> v.kind_of("Remote and Initial Triage", ()), v.kind_of("Check CAN cable", ())
('remote', 'inspection')
>>> v.kind_of("Measure output voltage with multimeter", ()), v.kind_of("Replace battery", ())
('measurement', 'repair')
>>> v.estimate("repair", 3)
27.0
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.roles import fold
from kb.curated import CURATED_DIR, load_yaml, records
from kb.schema import STEP_KINDS, StepKind

if TYPE_CHECKING:
    from ingest.state import IngestState


@dataclass(frozen=True)
class StepVocabulary:
    kinds: tuple[tuple[StepKind, re.Pattern[str]], ...]
    minutes: tuple[tuple[StepKind, float, float], ...]  # kind, base, per sub-step

    def kind_of(self, title: str, substeps: Sequence[str]) -> StepKind:
        """The first kind (in steps.yaml's order) the title names, else the first
        the sub-steps name. A qualifier does not count: "(Before LOTO)" or
        "without opening the cabinet" says what the step is *not*."""
        automatic = next(k for k, _p in self.kinds if k == "automatic") if self.kinds else None
        for text in (title, " ".join(substeps)):
            t = fold(text)
            if automatic and self._match("automatic", t):
                return "automatic"
            t = re.sub(r"\([^)]*\)", " ", t)
            t = re.sub(r"\b(?:before|without|no|not|prior to)\s+[\w-]+(?:\s+[\w-]+)?", " ", t)
            for kind, pat in self.kinds:
                if pat.search(t):
                    return kind
        return "repair"

    def _match(self, kind: StepKind, text: str) -> bool:
        return any(k == kind and p.search(text) for k, p in self.kinds)

    def names(self, kind: StepKind, text: str) -> bool:
        """Whether ``text`` uses the words of ``kind`` (a tool's Purpose "LOTO
        verification" names the lockout).

        >>> default_vocabulary().names("lockout", "LOTO verification")
        True
        """
        return self._match(kind, fold(text))

    def estimate(self, kind: StepKind, substeps: int) -> float:
        for k, base, per in self.minutes:
            if k == kind:
                return float(base + per * substeps)
        return 10.0


def _pattern(words: Sequence[str]) -> re.Pattern[str]:
    alts = sorted({fold(w).strip() for w in words}, key=len, reverse=True)
    body = "|".join(re.escape(a).replace(r"\ ", r"\s+") for a in alts)
    return re.compile(rf"(?<![\w-])(?:{body})(?![\w-])")


def _load(path: Path) -> StepVocabulary:
    root = load_yaml(path)
    kinds: list[tuple[StepKind, re.Pattern[str]]] = []
    for rec in records(root, "kinds"):
        name = rec.text("kind")
        if name not in STEP_KINDS:
            raise rec.node("kind").fail(f"expected a step kind among {', '.join(STEP_KINDS)}")
        kinds.append((name, _pattern(rec.strings("words"))))
    minutes: list[tuple[StepKind, float, float]] = []
    table = root.get("minutes", dict)
    for name, node in table.items():
        if name not in STEP_KINDS:
            raise node.fail(f"expected a step kind among {', '.join(STEP_KINDS)}")
        base, per = node.number("base"), node.number("per_substep")
        assert base is not None and per is not None
        if base < 0 or per < 0:
            raise node.fail("expected minutes of zero or more")
        minutes.append((name, base, per))
    missing = [k for k in STEP_KINDS if k not in {m[0] for m in minutes}]
    if missing:
        raise root.fail(f"expected minutes for every step kind (missing {', '.join(missing)})")
    return StepVocabulary(tuple(kinds), tuple(minutes))


@functools.lru_cache(maxsize=4)
def _cached(path: str, mtime: float) -> StepVocabulary:
    return _load(Path(path))


def load_vocabulary(directory: Path | None = None) -> StepVocabulary:
    path = (directory or CURATED_DIR) / "steps.yaml"
    return _cached(str(path), path.stat().st_mtime if path.exists() else 0.0)


def default_vocabulary() -> StepVocabulary:
    return load_vocabulary()


def _vocab(state: IngestState) -> StepVocabulary:
    return state.vocab or default_vocabulary()


def step_kind(state: IngestState, title: str, substeps: Sequence[str]) -> StepKind:
    return _vocab(state).kind_of(title, substeps)


def names_kind(state: IngestState, kind: StepKind, text: str) -> bool:
    return _vocab(state).names(kind, text)


def estimate_minutes(
    state: IngestState, kind: StepKind, title: str, substeps: Sequence[str]
) -> tuple[float, str]:
    n = len(substeps)
    minutes = _vocab(state).estimate(kind, n)
    return minutes, f"estimated: {kind} step, {n} sub-steps"
