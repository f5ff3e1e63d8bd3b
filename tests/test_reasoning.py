"""Troubleshooting reasoning, class by class, on more than one manual: what a
technician reports (symptom, reading, what was tried and what happened, a fault
that went away, a bare number between test points, a cue the manual states) ->
the kind and direction of the evidence it gives a named cause, as the explanation
shows it (``Diagnosis.causes[i].evidence``), cited to the manual line that holds
it. Cases: tests/fixtures/reasoning/*.yaml (format in its README.md)."""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from _pytest.mark.structures import ParameterSet

from engine.diagnose import Diagnoser, Diagnosis, EvidenceItem, RankedCause
from ingest.pipeline import compile_paths
from tests.conftest import FIXTURES, ROOT
from tests.markdown_text import cited_line_problem

REASONING = FIXTURES / "reasoning"
# the classes of issue 11, each with its fixture file
CLASSES = {
    "symptom-match.yaml": "symptom match",
    "reading-out-of-range.yaml": "reading out of range",
    "normal-finding.yaml": "in-range reading or normal finding",
    "action-outcome.yaml": "action outcome",
    "went-away-by-itself.yaml": "fault that went away by itself",
    "unit-from-test-point.yaml": "unit inferred from a test point",
    "stated-cue.yaml": "stated cue",
    "reading-against-stated-reference.yaml": "reading against the reference the report states",
}


def _load(name: str) -> dict[str, Any]:
    data = yaml.safe_load((REASONING / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict) and data["class"] == CLASSES[name], name
    return data


FILES = {name: _load(name) for name in CLASSES}


def _params() -> list[ParameterSet]:
    out = []
    for data in FILES.values():
        for i, case in enumerate(data["cases"]):
            case = {"reasons": data["reasons"], "kinds": data.get("kinds"), **case}
            xfail = case.get("xfail")
            marks = [pytest.mark.xfail(reason=str(xfail), strict=True)] if xfail else []
            doc = Path(case["manual"]).stem
            out.append(pytest.param(case, id=f"{data['class']}:{doc}:{i}", marks=marks))
    return out


def _document(case: dict[str, Any]) -> Path:
    path = (ROOT / str(case["manual"])).resolve()
    if not path.is_file():
        pytest.skip(f"{case['manual']} is not here")
    return path


@functools.cache
def _diagnoser(path: Path) -> Diagnoser:
    """The seed knowledge base for a manual under manuals/ (all of them, as the
    product runs), else the document compiled on its own."""
    old = os.getcwd()
    os.chdir(ROOT)
    try:
        seed = ROOT / "manuals"
        return Diagnoser(compile_paths([seed if path.parent == seed else path]))
    finally:
        os.chdir(old)


def _the_cause(d: Diagnosis, case: dict[str, Any], path: Path) -> RankedCause:
    found = [
        rc
        for rc in d.all_causes
        if re.search(case["cause"], rc.cause.title, re.I)
        and (ROOT / rc.cause.source.path).resolve() == path
    ]
    titles = sorted({rc.cause.title for rc in d.all_causes})
    assert len(found) == 1, f"{len(found)} causes titled like {case['cause']!r}: {titles}"
    return found[0]


def _shown(rc: RankedCause) -> list[str]:
    return [
        f"{e.reason} ({e.kind}) {e.weight:+.2f} {e.observation!r} ~ {e.matched!r}"
        for e in rc.evidence
    ]


@pytest.mark.parametrize("case", _params())
def test_report_gives_the_cause_evidence_of_its_kind(case: dict[str, Any]) -> None:
    path = _document(case)
    d = _diagnoser(path)
    diagnosis = d.diagnose(case["text"], error=case.get("error"))
    rc = _the_cause(diagnosis, case, path)
    sign = 1 if case["direction"] == "for" else -1
    reasons, kinds = set(case["reasons"]), case["kinds"]
    evidence: list[EvidenceItem] = [
        e
        for e in rc.evidence
        if e.reason in reasons and (not kinds or e.kind in kinds) and e.weight * sign > 0
    ]
    assert evidence, (
        f"no {sorted(reasons)} evidence ({kinds or 'any'}) {case['direction']} "
        f"{rc.cause.title!r}; it has {_shown(rc)}"
    )
    for e in evidence:
        # it comes from the report, and the manual line it cites holds it
        assert e.observation and e.observation.lower() != (case.get("error") or "").lower()
        problem = cited_line_problem(e.path, e.line, e.matched, rc.cause.title)
        assert problem is None, problem
    # and the cause moves that way against the error code alone
    if case.get("error"):
        before = d.diagnose("", error=case["error"])
        was = {r.cause.id: r.confidence for r in before.all_causes}.get(rc.cause.id)
        if was is not None:
            assert (rc.confidence - was) * sign > 0, (was, rc.confidence, _shown(rc))


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_every_class_is_tested_on_more_than_one_manual(name: str) -> None:
    """Each class has cases that hold today on at least two documents (the class of
    a fault that went away by itself: one, the only manual that calls a cause
    temporary; its other documents' cases are expected failures)."""
    cases = FILES[name]["cases"]
    documents = {c["manual"] for c in cases}
    working = {c["manual"] for c in cases if "xfail" not in c}
    assert len(documents) >= 2, documents
    assert len(working) >= (1 if name == "went-away-by-itself.yaml" else 2), working
    for c in cases:
        assert c["direction"] in ("for", "against"), c
        known = {"manual", "text", "error", "cause", "direction", "reasons", "kinds", "xfail"}
        assert set(c) <= known, c


def test_every_fixture_file_is_a_class() -> None:
    assert sorted(p.name for p in REASONING.glob("*.yaml")) == sorted(CLASSES)


def test_a_first_try_the_manual_expects_may_fail_is_no_evidence_against() -> None:
    """ "Reset the GFCI or RCD; if it trips again, test the insulation": a report
    that the reset did not hold is the case the manual goes on to handle, so it does
    not count against the ground fault; a reboot that did not help still counts
    against the modem hang a reboot clears."""
    seed = (ROOT / "manuals" / "station-error-codes.md").resolve()
    d = _diagnoser(seed)
    tripped = d.diagnose("the gfci pops as soon as charging starts, reset it, same thing")
    ground = [rc for rc in tripped.all_causes if "Ground fault" in rc.cause.title]
    assert ground
    for rc in ground:
        assert not [e for e in rc.evidence if e.reason == "action outcome"], _shown(rc)
    assert ground[0] is tripped.causes[0], [rc.cause.title for rc in tripped.causes[:3]]
    hung = d.diagnose("station offline, rebooted it, did not help", error="CP-ERR-WIFI")
    modem = next(rc for rc in hung.all_causes if rc.cause.title == "Modem firmware hang")
    assert [e for e in modem.evidence if e.reason == "action outcome" and e.weight < 0]
