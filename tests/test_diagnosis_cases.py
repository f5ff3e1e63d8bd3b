"""The engine against observation -> expected-cause cases: the shared dev cases
(every one must rank its cause first) and the team's paraphrase set, written blind
to the matcher and lexicon (>= 90 % first, 100 % in the top three)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.diagnose import Diagnoser
from kb.schema import KnowledgeBase
from tests.conftest import FIXTURES, SHARED

DEV = SHARED / "eval" / "dev_cases.yaml"


def load_cases(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, list)
    return data


@pytest.fixture(scope="module")
def diagnoser(seed_kb: KnowledgeBase) -> Diagnoser:
    return Diagnoser(seed_kb)


def rank_of(diagnoser: Diagnoser, case: dict[str, Any]) -> int | None:
    d = diagnoser.diagnose(case["text"], error=case.get("error"))
    for i, rc in enumerate(d.causes, 1):
        if re.search(case["cause"], rc.cause.title, re.I):
            return i
    return None


@pytest.mark.skipif(not DEV.exists(), reason="../shared/eval/dev_cases.yaml not present")
@pytest.mark.parametrize("case", load_cases(DEV), ids=lambda c: c["id"])
def test_dev_case_ranks_expected_cause_first(diagnoser: Diagnoser, case: dict[str, Any]) -> None:
    d = diagnoser.diagnose(case["text"], error=case.get("error"))
    titles = [rc.cause.title for rc in d.causes]
    assert titles, f"no cause ranked for {case['text']!r}: {d.message}"
    assert re.search(case["cause"], titles[0], re.I), titles[:3]


def test_paraphrase_set_generalises(diagnoser: Diagnoser) -> None:
    cases = load_cases(FIXTURES / "paraphrases.yaml")
    assert len(cases) >= 40
    ranks = {c["id"]: rank_of(diagnoser, c) for c in cases}
    top1 = sum(1 for r in ranks.values() if r == 1) / len(cases)
    top3 = sum(1 for r in ranks.values() if r is not None and r <= 3) / len(cases)
    misses = {k: r for k, r in ranks.items() if r != 1}
    print(
        f"paraphrases: {len(cases)} cases, top-1 {top1:.1%}, top-3 {top3:.1%}; not first: {misses}"
    )
    assert top1 >= 0.90, misses
    assert top3 == 1.0, {k: r for k, r in misses.items() if r is None or r > 3}


def test_blind_holdout_floor(diagnoser: Diagnoser) -> None:
    """A second set written blind to the matcher, the lexicon and the first set, and
    never tuned against. Measured 82.5 % top-1 / 95 % top-3 when it was added; the
    floor only guards against regressions. Do not edit the lexicon to fit it."""
    cases = load_cases(FIXTURES / "holdout.yaml")
    assert len(cases) >= 40
    ranks = {c["id"]: rank_of(diagnoser, c) for c in cases}
    top1 = sum(1 for r in ranks.values() if r == 1) / len(cases)
    top3 = sum(1 for r in ranks.values() if r is not None and r <= 3) / len(cases)
    print(f"holdout: {len(cases)} cases, top-1 {top1:.1%}, top-3 {top3:.1%}")
    assert top1 >= 0.75
    assert top3 >= 0.90
