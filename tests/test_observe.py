"""Observation parsing: clause sense (negation and contrast), error codes, the
no-evidence answer, and denial turning into evidence against a cause."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.diagnose import Diagnoser
from engine.observe import observe
from ingest.pipeline import compile_paths
from kb.schema import KnowledgeBase
from kb.text import Lexicon, clauses
from tests.conftest import FIXTURES
from tests.markdown_text import cited_line_problem

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


def test_no_evidence_says_so_and_suggests(diagnoser: Diagnoser, seed_kb: KnowledgeBase) -> None:
    """Nothing ranked, said so, and a few known symptoms (as the manuals word them)
    to try instead."""
    d = diagnoser.diagnose("the customer was rude about the parking fee")
    assert d.causes == ()
    assert "No matching evidence" in d.message
    known = {s.text for s in seed_kb.symptoms} | {c.title for c in seed_kb.causes}
    known |= {e.text for e in seed_kb.evidence if e.kind == "symptom"}  # "what you see"
    assert d.suggestions and set(d.suggestions) <= known, d.suggestions
    assert len(set(d.suggestions)) == len(d.suggestions)


def test_error_code_alone_is_labelled(diagnoser: Diagnoser) -> None:
    d = diagnoser.diagnose("", error="CP-ERR-WIFI")
    assert d.causes and "error code alone" in d.message
    assert all("lte-module" in rc.cause.id for rc in d.causes)


ORDERED: list[dict[str, Any]] = yaml.safe_load((FIXTURES / "order_independence.yaml").read_text())


def test_evidence_is_order_independent(diagnoser: Diagnoser) -> None:
    a = diagnoser.diagnose("jacket has a cut, pins look burned")
    b = diagnoser.diagnose("pins look burned, jacket has a cut")
    ca = {rc.cause.id: round(rc.confidence, 6) for rc in a.all_causes}
    cb = {rc.cause.id: round(rc.confidence, 6) for rc in b.all_causes}
    assert ca == cb


@pytest.mark.parametrize("case", ORDERED, ids=lambda c: c["sentences"][0])
def test_sentences_in_any_order_give_the_same_ranking(
    diagnoser: Diagnoser, case: dict[str, Any]
) -> None:
    """Every order of the report's sentences: the same confidence for every cause,
    and the same evidence, of more than one kind."""

    def answer(sentences: tuple[str, ...]) -> dict[str, tuple[float, list[tuple[str, float]]]]:
        d = diagnoser.diagnose(". ".join(sentences), error=case["error"])
        return {
            rc.cause.id: (
                round(rc.confidence, 9),
                sorted((e.kind, round(e.weight, 9)) for e in rc.evidence),
            )
            for rc in d.all_causes
        }

    orders = list(itertools.permutations(case["sentences"]))
    first = answer(orders[0])
    kinds = {kind for _c, evidence in first.values() for kind, _w in evidence}
    assert len(kinds - {"error code"}) >= 2, kinds
    for order in orders[1:]:
        assert answer(order) == first, order


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("cable jacket cracked and pins bent", "CP-ERR-RET"),
        ("PP to PE 482 ohm at rest", None),
        ("signal 1 bar, rebooted it, no change", "CP-ERR-WIFI"),
    ],
)
def test_every_cause_cites_a_manual_line(diagnoser: Diagnoser, text: str, code: str | None) -> None:
    """Each ranked cause comes with its evidence, and every piece of evidence cites
    the manual line that holds it."""
    d = diagnoser.diagnose(text, error=code)
    assert d.causes, d.message
    assert any(e.kind != "error code" for e in d.causes[0].evidence), d.causes[0].evidence
    for rc in d.causes:
        assert rc.evidence, f"{rc.cause.title} is ranked without evidence"
        assert all(e.path.startswith("manuals/") for e in rc.evidence), rc.evidence
        wrong = [
            w
            for e in rc.evidence
            if (w := cited_line_problem(e.path, e.line, e.matched, rc.cause.title))
        ]
        assert not wrong, wrong


def test_ocpp_error_code_means_station_code(diagnoser: Diagnoser) -> None:
    """OCPP WeakSignal stands for the LTE manual's CP-ERR-WIFI (curated alias): the
    LTE module's causes come first; the only other cause shown is the catalogue's
    meaning of WeakSignal itself."""
    d = diagnoser.diagnose("", error="WeakSignal")
    assert d.causes and "lte-module" in d.causes[0].cause.id
    others = [rc.cause for rc in d.causes if "lte-module" not in rc.cause.id]
    assert all("WeakSignal" in c.error_codes for c in others), others
    assert len(others) <= 1
    assert d.partition == "ChargePoint CT4000"


def test_a_serial_is_read_by_the_shape_its_manual_gives(tmp_path: Path) -> None:
    """ "Generation 3 units have serial numbers from WB-3XXX": a report's serial of
    that shape dates the unit; a serial of another vendor's shape does not."""
    (tmp_path / "wallbox.md").write_text(
        "# Wallbox service\n\n## Hardware\n\n"
        "Generation 3 units have serial numbers from WB-3XXX and a larger display.\n\n"
        "## Troubleshooting\n\n| Symptom | Cause |\n|---|---|\n"
        "| Display dark | Display cable loose |\n",
        encoding="utf-8",
    )
    kb = compile_paths([tmp_path])
    assert [(s.template, s.generation) for s in kb.serial_formats] == [("WB-3XXX", 3)]
    d = Diagnoser(kb)
    dated = d.diagnose("display dark, S/N wb-3127 on the label").observation
    assert (dated.serial, dated.generation) == ("WB-3127", 3)
    other = d.diagnose("display dark, serial CT4G-21847").observation
    assert (other.serial, other.generation) == ("", None)


def test_a_time_stays_in_its_clause_and_a_reading_stands_apart(diagnoser: Diagnoser) -> None:
    """ "isolation fault 20 min into charging" is one clause (a time or a current is part
    of what it says); "PP-PE 480 cable looks fine" is two (a meter reading stands
    apart)."""
    timed = observe("isolation fault 20 min into charging", diagnoser.lexicon)
    assert len(timed.clauses) == 1 and [r.quantity for r in timed.readings] == ["duration"]
    limited = observe("the EVSE dropped the car to 6A until the broker was back", diagnoser.lexicon)
    assert len(limited.clauses) == 1 and [r.quantity for r in limited.readings] == ["current"]
    read = observe("PP-PE 480 ohm cable looks fine", diagnoser.lexicon)
    assert len(read.clauses) == 1 and read.clauses[0].text.startswith("cable")


def test_a_question_asking_for_help_observes_nothing() -> None:
    """ "Is there a setting for this?" asks for help and says nothing about the
    fault; a question that describes it ("why does it keep tripping?") still does."""
    lex = Lexicon(())
    assert observe("Is there a setting for this? Any ideas?", lex).clauses == ()
    assert observe("Hva gjør jeg?", lex).clauses == ()
    kept = observe("why does the breaker keep tripping?", lex).clauses
    assert any("trip" in c.terms for c in kept)
