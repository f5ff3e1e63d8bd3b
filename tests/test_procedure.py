"""The minimal safe procedure for each dev case: the steps it names are in, the
steps it excludes are out, the parts it names are on the list; in every procedure
lockout comes before any work inside the cabinet and verification comes last."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from engine.diagnose import Diagnoser
from evkb import api
from kb.schema import KnowledgeBase
from tests.conftest import FIXTURES
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


VARIANTS: list[dict[str, Any]] = yaml.safe_load((FIXTURES / "variants.yaml").read_text())


@pytest.mark.parametrize("case", VARIANTS, ids=lambda c: c["text"][:40])
def test_part_variant_from_serial_or_generation(
    diagnoser: Diagnoser, seed_kb: KnowledgeBase, case: dict[str, Any]
) -> None:
    """The serial number (or the generation) on the report picks the part's variant,
    in the JSON and on the dispatcher's pick list; without either, the pick list
    offers the choice. A part is needed at least as often as the causes it fixes."""
    out = result(diagnoser, case)
    part = next((p for p in out["parts"] if re.search(case["part"], p["name"], re.I)), None)
    assert part is not None, out["parts"]
    assert part["variant"] == case["variant"], part
    assert len(part["variants"]) > 1 and (
        not case["variant"] or case["variant"] in part["variants"]
    )
    picklist = api.picklist(seed_kb, case["text"])
    row = next(line for line in picklist.splitlines() if part["name"] in line)
    cells = [c.strip() for c in row.strip("|").split("|")]
    if case["variant"]:
        assert case["variant"] in cells, row
        assert not any(v in row for v in part["variants"] if v != case["variant"]), row
    else:
        assert all(v in row for v in part["variants"]), row
    confidence = {c["id"]: c["confidence"] for c in out["causes"]}
    assert part["causes"] and set(part["causes"]) <= set(confidence)
    assert sum(confidence[c] for c in part["causes"]) - 1e-3 <= part["probability"] <= 1.0


def answers_to(q: dict[str, Any], seed_kb: KnowledgeBase) -> tuple[str, str]:
    """(an answer that speaks for the causes the question separates, one that speaks
    against them): yes / no for "Do you observe ...?"; for "Measure ...", a reading
    the manual says implies them and one inside the expected range."""
    if q["kind"] == "observe":
        return "yes", "no"
    m = next(m for m in seed_kb.measurements if m.id == q["ref"])
    assert m.low is not None
    normal = m.low if m.high is None else (m.low + m.high) / 2
    imp = next(i for i in m.implications if i.cause in q["separates"])
    if imp.when == "open":
        return "open circuit", f"{normal:g}"
    if imp.when == "zero":
        return "0", f"{normal:g}"
    assert imp.when in ("low", "high", "equals") and imp.value is not None, imp
    return f"{imp.value:g}", f"{normal:g}"


@pytest.mark.parametrize(
    ("text", "code"),
    [("station offline", "CP-ERR-WIFI"), ("cable hangs loose", "CP-ERR-RET")],
)
def test_next_question_separates_remaining_causes(
    diagnoser: Diagnoser, seed_kb: KnowledgeBase, text: str, code: str
) -> None:
    """An ambiguous report gets questions; each is about some of the causes still
    ranked (not all of them: then it would separate nothing), and answering it moves
    those causes: up for the answer that fits them, down for the one that does not."""
    first = diagnoser.diagnose(text, error=code)
    out = api.diagnosis_json(first)
    assert out["questions"], "an ambiguous report gets a question"
    ranked = [c["id"] for c in out["causes"]]
    before = {rc.cause.id: rc.confidence for rc in first.all_causes}
    for q in out["questions"]:
        assert q["separates"] and set(q["separates"]) < set(ranked), (q, ranked)
        fits, does_not = answers_to(q, seed_kb)
        for answer, up in ((fits, True), (does_not, False)):
            after = diagnoser.diagnose(text, error=code, answers=[(q["ref"], answer)])
            conf = {rc.cause.id: rc.confidence for rc in after.all_causes}
            moved = [conf[c] > before[c] if up else conf[c] < before[c] for c in q["separates"]]
            assert all(moved), (
                q["text"],
                answer,
                {c: (before[c], conf[c]) for c in q["separates"]},
            )
            asked = [x.text for x in after.plan.questions] if after.plan else []
            assert q["text"] not in asked, "an answered question is not asked again"


def test_precedence_cycle_is_an_error_naming_the_steps(seed_kb: KnowledgeBase) -> None:
    from dataclasses import replace

    from kb.errors import KBError
    from kb.precedence import Precedence, step_graph

    steps = {s.id: s for s in seed_kb.steps}
    lock = "chargepoint-ct4000-cable-retractor/step/4.4"
    spring = "chargepoint-ct4000-cable-retractor/step/4.5"
    looped = replace(steps[lock], requires=(spring,))
    kb = replace(seed_kb, steps=tuple(looped if s.id == lock else s for s in seed_kb.steps))
    with pytest.raises(KBError, match=r"cycle: .*4\.4.*4\.5|cycle: .*4\.5.*4\.4"):
        step_graph(kb)
    # the engine's own graph refuses it too, naming the steps on the cycle
    with pytest.raises(KBError, match=r"cycle among: .*4\.4.*4\.5"):
        Precedence.of(kb)
