"""The procedure is ordered by what kind of work each step is: remote steps before
anyone is dispatched, then what can be seen or measured on site, the lockout, the
work it guards, restore and verification; and every tool a chosen step needs is on
the list, the lockout's own (the meter that proves the supply dead) included.

Checked over every evaluation case and every error code of the seed knowledge base,
and end to end on a manual with a step of every stage (tests/fixtures/plan)."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import simulate as sim
from engine.diagnose import Diagnoser
from evkb import api
from ingest.pipeline import compile_paths
from kb.precedence import stage
from kb.schema import KnowledgeBase, Step
from tests.conftest import FIXTURES
from tests.test_diagnosis_cases import DEV, load_cases
from tests.test_simulate import brute_force

PLAN = FIXTURES / "plan"
EXPECTED = yaml.safe_load((PLAN / "expected.yaml").read_text(encoding="utf-8"))
CASE_FILES = [DEV, FIXTURES / "paraphrases.yaml", FIXTURES / "holdout.yaml"]
CASE_FILES += [FIXTURES / "workorders.yaml"]
LOCKOUT_PURPOSE = re.compile(r"\bLOTO\b|\block-?out\b", re.I)


def every_report(kb: KnowledgeBase) -> list[dict[str, Any]]:
    """Every evaluation case, and every error code reported alone (as a station or
    a dispatcher forwarding it would)."""
    cases = [c for path in CASE_FILES for c in load_cases(path)]
    codes = {e.code for e in kb.error_codes} | {c for m in kb.manuals for c in m.error_codes}
    codes |= {a.code for a in kb.code_aliases}
    return cases + [{"id": code, "text": "", "error": code} for code in sorted(codes)]


@pytest.fixture(scope="module")
def diagnoser(seed_kb: KnowledgeBase) -> Diagnoser:
    return Diagnoser(seed_kb)


@pytest.fixture(scope="module")
def results(seed_kb: KnowledgeBase, diagnoser: Diagnoser) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for case in every_report(seed_kb):
        d = diagnoser.diagnose(case["text"], error=case.get("error"))
        out.append(
            (f"{case['id']}: {case['text']!r} {case.get('error') or ''}", api.diagnosis_json(d))
        )
    assert len(out) > 100
    return out


def _steps(kb: KnowledgeBase, result: dict[str, Any]) -> list[Step]:
    by_id = {s.id: s for s in kb.steps}
    return [by_id[p["id"]] for p in result["procedure"]]


def test_no_lockout_or_cabinet_work_before_a_remote_step(
    seed_kb: KnowledgeBase, results: list[tuple[str, dict[str, Any]]]
) -> None:
    with_remote = verified = 0
    # the manuals that give a verification step (the code catalogue gives none)
    verifying = {s.manual for s in seed_kb.steps if s.kind == "verification"}
    for name, r in results:
        steps = _steps(seed_kb, r)
        kinds = [s.kind for s in steps]
        if "remote" in kinds:
            with_remote += 1
            last_remote = max(i for i, k in enumerate(kinds) if k == "remote")
            early = [s for s in steps[:last_remote] if s.kind in ("lockout", "cabinet")]
            assert not early, f"{name}: {[s.title for s in early]} before a remote step: {kinds}"
        # and the stages never go back: on site before lockout, restore and
        # verification last
        stages = [stage(s) for s in steps]
        assert stages == sorted(stages), f"{name}: {kinds}"
        if {s.manual for s in steps} & verifying:
            assert steps[-1].kind == "verification", f"{name}: {kinds}"
            verified += 1
    assert with_remote >= 10, "remote steps are part of many procedures"
    assert verified >= 0.8 * len(results), "most procedures work from a manual that verifies"


def test_every_tool_of_a_chosen_step_is_listed(
    seed_kb: KnowledgeBase, results: list[tuple[str, dict[str, Any]]]
) -> None:
    tools = {t.id: t for t in seed_kb.tools}
    meters = 0
    for name, r in results:
        listed = {t["id"] for t in r["tools"]}
        for s in _steps(seed_kb, r):
            missing = [tools[t].name for t in s.tools if t not in listed]
            assert not missing, f"{name}: {s.title} needs {missing}; listed {sorted(listed)}"
            if s.kind == "lockout":
                # the manual's tool for the lockout itself ("LOTO verification")
                for t in seed_kb.tools:
                    if t.manual == s.manual and LOCKOUT_PURPOSE.search(t.purpose):
                        assert t.id in listed, f"{name}: lockout without {t.name}"
                        meters += 1
    assert meters > 0, "some procedure locks out where the manual names a lockout tool"


def test_the_lockout_instruction_is_the_lockout_steps_own(seed_kb: KnowledgeBase) -> None:
    """The work order says how to lock out as the manual's lockout step says, not a
    sentence of its own (one manual verifies 0 VAC, the other does not say so)."""
    lte = api.workorder(seed_kb, "lost connection after the earthquake", error="CP-ERR-WIFI")
    ret = api.workorder(seed_kb, "cable hangs loose and will not retract", error="CP-ERR-RET")
    for order, manual in (
        (lte, "chargepoint-ct4000-lte-module"),
        (ret, "chargepoint-ct4000-cable-retractor"),
    ):
        lock = next(s for s in seed_kb.steps if s.manual == manual and s.kind == "lockout")
        safety = order.split("## Safety", 1)[1].split("## Parts", 1)[0]
        assert lock.substeps[0] in safety, safety
    verify_0v = re.compile(r"verify 0 ?VAC", re.I)
    assert verify_0v.search(lte) and "Digital multimeter" in lte
    assert not verify_0v.search(ret)


# ------------------------------------------------------------------ every stage


@pytest.fixture(scope="module")
def stage_kb() -> KnowledgeBase:
    return compile_paths([PLAN / "stage-order.md"])


def test_step_kinds_and_the_lockout_tool_come_from_ingest(stage_kb: KnowledgeBase) -> None:
    kinds = {s.number: s.kind for s in stage_kb.steps}
    assert kinds == EXPECTED["kinds"]
    lock = next(s for s in stage_kb.steps if s.kind == "lockout")
    names = {t.id: t.name for t in stage_kb.tools}
    assert set(EXPECTED["lockout_tools"]) <= {names[t] for t in lock.tools}


@pytest.mark.parametrize("case", EXPECTED["cases"], ids=lambda c: c["text"] or c["error"])
def test_procedure_follows_the_stages(stage_kb: KnowledgeBase, case: dict[str, Any]) -> None:
    d = Diagnoser(stage_kb).diagnose(case["text"], error=case["error"])
    assert d.plan is not None
    numbers = [ps.step.number for ps in d.plan.steps]
    assert numbers == case["steps"], [(ps.step.title, ps.reason) for ps in d.plan.steps]
    tools = {t.name for t in d.plan.tools}
    assert set(EXPECTED["lockout_tools"]) <= tools
    order = api.workorder(stage_kb, case["text"], error=case["error"])
    lock = next(s for s in stage_kb.steps if s.kind == "lockout")
    assert lock.substeps[0] in order


def test_restore_only_after_a_lockout(stage_kb: KnowledgeBase) -> None:
    plan = Diagnoser(stage_kb).planner.plan(
        [
            ("stage-order/cause/backend-session-stuck", 0.9),
            ("stage-order/cause/supply-fuse-blown", 0.05),
        ]
    )
    kinds = [ps.step.kind for ps in plan.steps]
    assert "lockout" not in kinds and "restore" not in kinds, kinds
    assert kinds[0] == "remote" and kinds[-1] == "verification"


# ------------------------------------------------------------------ visits


@st.composite
def visited_models(draw: st.DrawFn) -> sim.FaultModel:
    """Small fault models where some steps are done on site and the first of them
    costs a visit."""
    steps = [f"s{i}" for i in range(draw(st.integers(1, 5)))]
    minutes = {s: draw(st.integers(1, 40)) for s in steps}
    requires = {
        s: draw(st.lists(st.sampled_from(steps[:i]), max_size=2, unique=True)) if i else []
        for i, s in enumerate(steps)
    }
    causes = [f"c{i}" for i in range(draw(st.integers(1, 5)))]
    tests: dict[str, list[str]] = {}
    fixes: dict[str, list[str]] = {}
    for c in causes:
        tests[c] = draw(st.lists(st.sampled_from(steps), max_size=2, unique=True))
        fixes[c] = draw(
            st.lists(st.sampled_from(steps), min_size=0 if tests[c] else 1, max_size=2, unique=True)
        )
    return sim.model(
        "E",
        {c: draw(st.integers(1, 9)) for c in causes},
        minutes,
        tests=tests,
        fixes=fixes,
        requires=requires,
        verify=draw(st.integers(0, 20)),
        visit=draw(st.integers(0, 90)),
        on_site=draw(st.lists(st.sampled_from(steps), unique=True)),
    )


@settings(max_examples=150, deadline=None)
@given(visited_models())
def test_optimum_with_visits_is_the_best_order(m: sim.FaultModel) -> None:
    best = sim.optimal(m)
    assert best == pytest.approx(brute_force(m), abs=1e-9)
    assert sim.expected(m, lambda c: sim.perfect(m, c)) <= best + 1e-9


def test_remote_first_is_near_the_optimum(seed_kb: KnowledgeBase) -> None:
    """With visits costing what the planner assumes, evkb is within 5 % of the
    optimum for every seed code; with free visits (the model before visits were
    counted) it is as far from it as it was then (CP-ERR-WIFI +5.1 %)."""
    paid = {r.code: r for r in api.simulate(seed_kb)}
    free = {r.code: r for r in api.simulate(seed_kb, visit=0)}
    assert paid.keys() == free.keys() == {"CP-ERR-RET", "CP-ERR-WIFI"}
    for code, r in paid.items():
        assert r.evkb <= 1.05 * r.optimal, r
        assert r.perfect > free[code].perfect, "knowing the cause does not save the visit"
        assert free[code].evkb <= 1.06 * free[code].optimal, free[code]
