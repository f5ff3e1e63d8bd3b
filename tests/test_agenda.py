"""evkb's agenda strategy (engine/agenda.py) fires the rules in experta's own depth
order: every diagnosis of the seed evaluation and blind sets is the same, evidence
order included, under experta's ``DepthStrategy``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from experta.strategies import DepthStrategy as ExpertaDepth

import engine.rules
from engine.diagnose import Diagnoser
from evkb.api import diagnosis_json
from kb.schema import KnowledgeBase
from tests.test_diagnosis_cases import DEV, load_cases

BLIND = Path(__file__).parent / "fixtures" / "blind"


def _cases() -> list[dict[str, Any]]:
    cases = load_cases(DEV)
    for name in ("seed-1.yaml", "seed-2.yaml", "seed-3.yaml"):
        data = yaml.safe_load((BLIND / name).read_text(encoding="utf-8"))
        cases += data if isinstance(data, list) else data["cases"]
    return cases


def test_the_agenda_fires_rules_in_expertas_order(
    seed_kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    ours, theirs = Diagnoser(seed_kb), Diagnoser(seed_kb)
    cases = _cases()
    assert len(cases) > 100
    for case in cases:
        a = ours.diagnose(case["text"], error=case.get("error"))
        with monkeypatch.context() as m:  # engines built now keep experta's strategy
            m.setattr(engine.rules, "DepthStrategy", ExpertaDepth)
            b = theirs.diagnose(case["text"], error=case.get("error"))
        assert diagnosis_json(a) == diagnosis_json(b), case["text"]
    strategies = {
        type(p.engine._engine.strategy).__module__
        for d in (ours, theirs)
        for p in d._partitions.values()
    }
    assert strategies == {"engine.agenda", "experta.strategies"}
