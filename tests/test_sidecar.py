"""A manual's sidecar (NAME.knowledge.yaml) is checked like the manual: a wrong
value fails with path:line and what was expected; a measurement's state is typed
and read by the reading rules (a reading taken with the button pressed says
nothing about a measurement taken at rest)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine.diagnose import Diagnoser
from ingest.pipeline import compile_paths
from kb.errors import KBError
from tests.conftest import ROOT

MANUAL = ROOT / "manuals" / "j1772-stuck-release-button.md"
SIDECAR = MANUAL.with_name(MANUAL.stem + ".knowledge.yaml")


def _copy(tmp_path: Path, sidecar: str) -> Path:
    shutil.copy(MANUAL, tmp_path / MANUAL.name)
    (tmp_path / SIDECAR.name).write_text(sidecar, encoding="utf-8")
    return tmp_path


def test_a_measurement_state_outside_the_known_ones_is_an_error_at_its_line(
    tmp_path: Path,
) -> None:
    text = SIDECAR.read_text(encoding="utf-8").replace("state: at rest", "state: sideways")
    assert "state: sideways" in text
    line = next(n for n, s in enumerate(text.splitlines(), 1) if "state: sideways" in s)
    with pytest.raises(KBError) as err:
        compile_paths([_copy(tmp_path, text)])
    assert f"{SIDECAR.name}:{line}" in str(err.value)
    assert "expected state to be one of" in str(err.value)


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
