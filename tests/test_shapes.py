"""Ingest by shape: small manuals written for these tests, one troubleshooting
shape each (tests/fixtures/shapes/*.md), and what must be read from them
(tests/fixtures/shapes/expected.yaml): faults with their codes, causes and
actions, readings with their ranges and what they imply, and the warnings for
what could not be structured."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.diagnose import Diagnoser
from ingest.pipeline import compile_paths
from kb.schema import Cause, KnowledgeBase
from tests.conftest import FIXTURES

SHAPES = FIXTURES / "shapes"
CASES: list[dict[str, Any]] = yaml.safe_load((SHAPES / "expected.yaml").read_text(encoding="utf-8"))


def norm(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[*`]", "", text)).strip().casefold()


def faults_of(kb: KnowledgeBase) -> dict[str, tuple[bool, list[Cause]]]:
    """identifier -> (usable as an error code, its causes)."""
    out: dict[str, tuple[bool, list[Cause]]] = {}
    for ec in kb.error_codes:
        out[norm(ec.text or ec.code)] = (True, [c for c in kb.causes if ec.code in c.error_codes])
    for s in kb.symptoms:
        ids = {e.cause for e in kb.evidence if e.kind == "symptom" and e.text == s.text}
        causes = [c for c in kb.causes if c.id in ids or (c.kind == "fault" and c.title == s.text)]
        out[norm(s.text)] = (False, causes)
    return out


@pytest.fixture(scope="module")
def compiled() -> dict[str, tuple[KnowledgeBase, list[str]]]:
    out = {}
    for case in CASES:
        warnings: list[str] = []
        kb = compile_paths([SHAPES / case["file"]], warn=warnings.append)
        out[case["file"]] = (kb, warnings)
    return out


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["file"])
def test_shape_is_read(
    case: dict[str, Any], compiled: dict[str, tuple[KnowledgeBase, list[str]]]
) -> None:
    kb, warnings = compiled[case["file"]]
    found = faults_of(kb)
    steps = {s.id: s for s in kb.steps}
    want = case.get("faults", [])
    if case.get("only"):
        assert sorted(found) == sorted(norm(f["identifier"]) for f in want)
    for f in want:
        key = norm(f["identifier"])
        assert key in found, f"no fault {f['identifier']!r} in {sorted(found)}"
        is_code, causes = found[key]
        if f.get("code"):
            assert is_code, f"{f['identifier']!r} is not usable as an error code"
        titles = [norm(c.title) for c in causes]
        for c in f.get("causes", []):
            assert any(norm(c) in t for t in titles), (
                f"{f['identifier']}: no cause {c!r} in {titles}"
            )
        acts = [
            norm(" ".join([steps[s].title, *steps[s].substeps]))
            for c in causes
            for s in (*c.tests, *c.fixes)
        ]
        for a in f.get("actions", []):
            assert any(norm(a) in t for t in acts), f"{f['identifier']}: no action {a!r} in {acts}"
        seen = {norm(e.text) for e in kb.evidence if e.kind == "symptom"}
        seen &= {norm(e.text) for c in causes for e in kb.evidence if e.cause == c.id}
        for text in f.get("seen", []):
            assert norm(text) in seen, f"{f['identifier']}: {text!r} is not seen in {seen}"
        for c in f.get("not_causes", []):
            assert norm(c) not in titles, f"{f['identifier']}: {c!r} is not a cause: {titles}"
    for m in case.get("measurements", []):
        hits = [
            x
            for x in kb.measurements
            if x.quantity == m["quantity"]
            and (x.low, x.high) == (m["low"], m["high"])
            and tuple(m.get("points", x.points)) == x.points
        ]
        assert hits, f"no {m} in {[(x.quantity, x.low, x.high) for x in kb.measurements]}"
        if "implies" in m:
            by_id = {c.id: c for c in kb.causes}
            implied = [by_id[i.cause].title for x in hits for i in x.implications if i.cause]
            assert any(norm(m["implies"]) in norm(t) for t in implied), implied
    for w in case.get("warnings", []):
        line = f"{Path(case['file']).name}:{w['line']}: warning:"
        assert any(line in x and w["message"] in x for x in warnings), warnings


def test_every_shape_fixture_is_listed() -> None:
    assert sorted(p.name for p in SHAPES.glob("*.md")) == sorted(c["file"] for c in CASES)


def _compiled(tmp_path: Path, name: str, text: str) -> KnowledgeBase:
    """The knowledge base of one document written for a test."""
    doc = tmp_path / name
    doc.write_text(text, encoding="utf-8")
    return compile_paths([doc])


def test_a_hedged_conclusion_weighs_less_than_a_stated_cause(tmp_path: Path) -> None:
    """ "The connection may have just dropped" is a possibility the manual offers, not a
    cause it states: its prior is the hedged wording's (kb/curated/priors.yaml)."""
    kb = _compiled(
        tmp_path,
        "gateway.md",
        "# Gateway troubleshooting\n\n## Remote triage\n\n"
        "1. Check the **Last seen** time. If it was less than 10 minutes ago, "
        "the connection may have just dropped — wait and monitor.\n"
        "2. If the gateway LED is red, the fuse is blown. Replace the fuse.\n",
    )
    by_title = {c.title: c for c in kb.causes}
    hedged = by_title["Connection may have just dropped"]
    stated = by_title["Fuse is blown"]  # what the red LED shows
    assert hedged.prior_basis == "may"
    assert hedged.prior < stated.prior


def test_items_nested_under_a_listed_cause_explain_it(tmp_path: Path) -> None:
    """A cause in a "possible causes" list with items nested under it: they say what
    the cause is and how it shows, so they are its notes, cited, and a report in
    their words finds it."""
    kb = _compiled(
        tmp_path,
        "solar-charging.md",
        "# Solar charging FAQ\n\n## Troubleshooting\n\n### The car only charges at 6 A\n\n"
        "Possible causes:\n\n"
        "* Meter placement\n"
        "  * The controller reads the grid meter to find the surplus.\n"
        "  * If the charger's own draw is counted by that meter, the surplus it sees "
        "is cancelled out by the charging itself.\n"
        "* Not enough generation\n",
    )
    by_title = {c.title: c for c in kb.causes}
    placement = by_title["Meter placement"]
    assert "counted by that meter" in placement.notes
    notes = [e for e in kb.evidence if e.cause == placement.id and e.kind == "note"]
    assert notes and notes[0].source.line_start == 9
    d = Diagnoser(kb).diagnose("the grid meter counts the charger's own draw, surplus cancelled")
    assert d.causes[0].cause.title == "Meter placement"


def test_the_sentences_after_a_cause_name_explain_it(tmp_path: Path) -> None:
    """A listed cause of several sentences is named by the first; the rest are its
    notes and evidence for it, cited at its line."""
    kb = _compiled(
        tmp_path,
        "meter-faq.md",
        "# Meter FAQ\n\n## Troubleshooting\n\n### Connection refused\n\nPossible causes:\n\n"
        "* The port is set wrongly in the configuration.\n"
        "* The meter may have reached its maximum number of connections. Other "
        "clients such as a home automation system must disconnect first.\n",
    )
    limit = next(c for c in kb.causes if c.title.startswith("The meter may have reached"))
    assert limit.title.endswith("maximum number of connections")
    assert "home automation system must disconnect" in limit.notes
    notes = [e for e in kb.evidence if e.cause == limit.id and e.kind == "note"]
    assert [e.source.line_start for e in notes] == [limit.source.line_start]


def test_an_action_stated_beside_one_listed_cause_fixes_that_cause_only() -> None:
    """ "- The wallbox may have reached its limit of client connections. Other clients
    might need to be stopped." under "possible reasons": stopping other clients is
    the fix for that reason, not for the firewall listed next to it."""
    kb = compile_paths([SHAPES / "advice-for-a-list.md"])
    steps = {s.id: s.title for s in kb.steps}
    fixes = {c.title: [steps[s] for s in (*c.tests, *c.fixes)] for c in kb.causes}
    stop = "Other clients might need to be stopped before the app can connect"
    assert fixes["The wallbox may have reached its limit of client connections"] == [stop]
    assert stop not in fixes["The port may be blocked by a firewall on the router"]


def test_tips_below_a_fault_give_each_step_once(tmp_path: Path) -> None:
    """ "You can try the following:" with a "#### Solution" subsection and another
    tip: the solution is read whole once, the other tip once; no step twice."""
    kb = _compiled(
        tmp_path,
        "tips.md",
        "# Notes\n\n## Troubleshooting\n\n### Charging stops at night\n\n"
        "In cold weather the charge stops. You can try the following:\n\n"
        "#### Solution\n\nSet the departure time in the car.\n\n"
        "#### Longer sessions\n\nRaise the session timeout to 12 hours.\n",
    )
    titles = sorted(s.title for s in kb.steps)
    assert titles == ["Raise the session timeout to 12 hours", "Set the departure time in the car"]
