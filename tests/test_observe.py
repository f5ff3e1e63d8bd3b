"""Observation parsing: clause sense (negation and contrast), error codes, the
no-evidence answer, and denial turning into evidence against a cause."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from engine.diagnose import Diagnoser
from engine.observe import observe
from kb.schema import KnowledgeBase
from kb.text import Lexicon, clauses
from tests.conftest import FIXTURES

CLAUSES: list[dict[str, Any]] = yaml.safe_load((FIXTURES / "clauses.yaml").read_text())


@pytest.fixture(scope="module")
def diagnoser(seed_kb: KnowledgeBase) -> Diagnoser:
    return Diagnoser(seed_kb)


@pytest.mark.parametrize("case", CLAUSES, ids=lambda c: c["text"])
def test_clause_sense(diagnoser: Diagnoser, case: dict[str, Any]) -> None:
    senses = ["F" if c.fault else "ok" for c in clauses(case["text"], diagnoser.lexicon)]
    assert senses == case["senses"]


def test_error_codes_station_and_ocpp() -> None:
    obs = observe("port 2 shows cp-err-ret, backend got GroundFailure", Lexicon(()), "WeakSignal")
    assert [(c.code, c.kind) for c in obs.error_codes] == [
        ("WeakSignal", "ocpp"),
        ("CP-ERR-RET", "station"),
        ("GroundFailure", "ocpp"),
    ]
    assert obs.port == 2


def test_denial_is_evidence_against(diagnoser: Diagnoser) -> None:
    """ "retracts fine" speaks against a broken spring, "hangs loose" for it."""
    denied = diagnoser.diagnose("retracts fine", error="CP-ERR-RET")
    spring = next(rc for rc in denied.all_causes if "spring broken" in rc.cause.title)
    assert any(e.weight < 0 for e in spring.evidence)
    stated = diagnoser.diagnose("hangs loose", error="CP-ERR-RET")
    spring2 = next(rc for rc in stated.all_causes if "spring broken" in rc.cause.title)
    assert spring2.confidence > spring.confidence * 3


def test_no_evidence_says_so_and_suggests(diagnoser: Diagnoser) -> None:
    d = diagnoser.diagnose("the customer was rude about the parking fee")
    assert d.causes == ()
    assert "No matching evidence" in d.message
    assert d.suggestions


def test_error_code_alone_is_labelled(diagnoser: Diagnoser) -> None:
    d = diagnoser.diagnose("", error="CP-ERR-WIFI")
    assert d.causes and "error code alone" in d.message
    assert all("lte-module" in rc.cause.id for rc in d.causes)


def test_evidence_is_order_independent(diagnoser: Diagnoser) -> None:
    a = diagnoser.diagnose("jacket has a cut, pins look burned")
    b = diagnoser.diagnose("pins look burned, jacket has a cut")
    ca = {rc.cause.id: round(rc.confidence, 6) for rc in a.all_causes}
    cb = {rc.cause.id: round(rc.confidence, 6) for rc in b.all_causes}
    assert ca == cb


def test_every_cause_cites_a_manual_line(diagnoser: Diagnoser) -> None:
    d = diagnoser.diagnose("cable jacket cracked and pins bent", error="CP-ERR-RET")
    for rc in d.causes:
        for e in rc.evidence:
            assert e.path.startswith("manuals/") and e.line > 0


def test_ocpp_error_code_means_station_code(diagnoser: Diagnoser) -> None:
    """OCPP WeakSignal stands for the LTE manual's CP-ERR-WIFI (curated alias)."""
    d = diagnoser.diagnose("", error="WeakSignal")
    assert d.causes and all("lte-module" in rc.cause.id for rc in d.causes)
    assert d.partition == "ChargePoint CT4000"
