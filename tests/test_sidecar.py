"""A measurement's state (at rest, actuated, standby, moving; from the manual's
words or its NAME.knowledge.yaml) is typed and read by the reading rules: a reading
taken with the button pressed says nothing about a measurement taken at rest. A
wrong state in a knowledge file is a bad_curated case (tests/test_ingest_errors.py)."""

from __future__ import annotations

from engine.diagnose import Diagnoser
from ingest.pipeline import compile_paths
from tests.conftest import ROOT

MANUAL = ROOT / "manuals" / "j1772-stuck-release-button.md"


def test_a_reading_with_the_button_pressed_says_nothing_about_it_at_rest() -> None:
    kb = compile_paths([MANUAL])
    at_rest = {
        m.source.line_start for m in kb.measurements if m.state == "at rest" and m.implications
    }
    assert at_rest, "the sidecar's measurement is taken at rest"
    d = Diagnoser(kb)

    def readings(text: str) -> set[int]:
        return {
            e.line
            for rc in d.diagnose(text).all_causes
            for e in rc.evidence
            if e.reason == "reading"
        }

    assert readings("PP to PE 482 ohm with the button at rest") & at_rest
    assert not readings("PP to PE 482 ohm with the button pressed") & at_rest
