"""The minimal safe procedure for each dev case: the steps it names are in, the
steps it excludes are out, the parts it names are on the list; in every procedure
lockout comes before any work inside the cabinet and verification comes last."""

from __future__ import annotations

import re
from typing import Any

import pytest

from engine.diagnose import Diagnoser
from evkb import api
from kb.schema import KnowledgeBase
from tests.test_diagnosis_cases import DEV, load_cases

CASES = load_cases(DEV)


@pytest.fixture(scope="module")
def diagnoser(seed_kb: KnowledgeBase) -> Diagnoser:
    return Diagnoser(seed_kb)


def result(d: Diagnoser, case: dict[str, Any]) -> dict[str, Any]:
    return api.diagnosis_json(d.diagnose(case["text"], error=case.get("error")))


@pytest.mark.skipif(not DEV.exists(), reason="../shared/eval/dev_cases.yaml not present")
@pytest.mark.parametrize("case", CASES, ids=lambda c: c["id"])
def test_procedure_includes_excludes_and_parts(diagnoser: Diagnoser, case: dict[str, Any]) -> None:
    out = result(diagnoser, case)
    titles = [s["title"] for s in out["procedure"]]
    for pat in case.get("steps_in", []):
        assert any(re.search(pat, t, re.I) for t in titles), (pat, titles)
    for pat in case.get("steps_out", []):
        assert not any(re.search(pat, t, re.I) for t in titles), (pat, titles)
    names = [p["name"] for p in out["parts"]]
    for pat in case.get("parts_in", []):
        assert any(re.search(pat, n, re.I) for n in names), (pat, names)


@pytest.mark.skipif(not DEV.exists(), reason="../shared/eval/dev_cases.yaml not present")
@pytest.mark.parametrize("case", CASES, ids=lambda c: c["id"])
def test_lockout_before_cabinet_work_and_verification_last(
    diagnoser: Diagnoser, seed_kb: KnowledgeBase, case: dict[str, Any]
) -> None:
    out = result(diagnoser, case)
    steps = {s.id: s for s in seed_kb.steps}
    ids = [s["id"] for s in out["procedure"]]
    assert ids, "every dev case gets a procedure"
    for i, sid in enumerate(ids):
        for req in steps[sid].requires:
            assert req in ids[:i], f"{sid} needs {req} before it: {ids}"
        if steps[sid].requires_lockout and not re.search(r"LOTO|lock", steps[sid].title):
            assert any(re.search(r"LOTO|lock", steps[r].title) for r in ids[:i]), ids
    assert re.search(r"verification", out["procedure"][-1]["title"], re.I)


def test_spring_and_cable_fixes_stay_apart(diagnoser: Diagnoser) -> None:
    """No cable swap for a broken spring, no spring job for a CP break."""
    spring = result(diagnoser, {"text": "reel is dead, cord lies on the floor"})
    cp = result(diagnoser, {"text": "CP to ground 0 V on the unplugged cable"})
    assert not any("Cable Assembly" in s["title"] for s in spring["procedure"])
    assert not any("Spring" in s["title"] for s in cp["procedure"])
    assert any("Spring" in p["name"] or "spring" in p["name"] for p in spring["parts"])


def test_part_probability_and_variant_from_serial_generation(diagnoser: Diagnoser) -> None:
    gen2 = result(diagnoser, {"text": "gen 2 unit, cable hangs loose and will not retract"})
    plain = result(diagnoser, {"text": "cable hangs loose and will not retract"})
    kit2 = next(p for p in gen2["parts"] if "spring" in p["name"].lower())
    kit = next(p for p in plain["parts"] if "spring" in p["name"].lower())
    assert kit2["variant"] == "Gen 2"
    assert kit["variant"] == "" and kit["variants"] == ["Gen 1", "Gen 2"]
    assert 0.5 < kit["probability"] <= 1.0


def test_next_question_separates_remaining_causes(diagnoser: Diagnoser) -> None:
    out = result(diagnoser, {"text": "station offline", "error": "CP-ERR-WIFI"})
    assert out["questions"], "an ambiguous report gets a question"
    assert all(len(q["separates"]) >= 1 for q in out["questions"])


def test_precedence_cycle_is_an_error_naming_the_steps(seed_kb: KnowledgeBase) -> None:
    from dataclasses import replace

    from engine.plan import step_graph
    from kb.errors import KBError

    steps = {s.id: s for s in seed_kb.steps}
    lock = "chargepoint-ct4000-cable-retractor/step/4.4"
    spring = "chargepoint-ct4000-cable-retractor/step/4.5"
    looped = replace(steps[lock], requires=(spring,))
    kb = replace(seed_kb, steps=tuple(looped if s.id == lock else s for s in seed_kb.steps))
    with pytest.raises(KBError, match=r"cycle: .*4\.4.*4\.5|cycle: .*4\.5.*4\.4"):
        step_graph(kb)
