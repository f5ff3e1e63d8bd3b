"""engine.readings: meter readings in technician free text (cases in fixtures/readings.yaml)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.diagnose import Diagnoser, Diagnosis
from engine.readings import Reading, _parse, parse_readings
from kb.schema import KnowledgeBase

FIXTURE = Path(__file__).parent / "fixtures" / "readings.yaml"
CASES: list[dict[str, Any]] = yaml.safe_load(FIXTURE.read_text(encoding="utf-8"))


def _summary(r: Reading) -> dict[str, Any]:
    return {
        "quantity": r.quantity,
        "value": r.value,
        "unit": r.unit,
        "points": list(r.points),
        "open_circuit": r.open_circuit,
        "ac": r.ac,
        "text": r.text,
        "place": r.place,
    }


@pytest.mark.parametrize("case", CASES, ids=[str(c["text"]) for c in CASES])
def test_fixture(case: dict[str, Any]) -> None:
    text = str(case["text"])
    got = parse_readings(text)
    expect: list[dict[str, Any]] = case["expect"]
    assert len(got) == len(expect), [_summary(r) for r in got]
    for r, e in zip(got, expect, strict=True):
        assert r.quantity == e["quantity"], _summary(r)
        assert r.unit == e["unit"], _summary(r)
        assert r.open_circuit is e["open_circuit"], _summary(r)
        if e["value"] is None:
            assert r.value is None, _summary(r)
        else:
            assert r.value == pytest.approx(float(e["value"])), _summary(r)
        assert r.points == tuple(e["points"]), _summary(r)
        if "ac" in e:
            assert r.ac is e["ac"], _summary(r)
        if "text" in e:
            assert r.text == str(e["text"]), _summary(r)
        assert r.place == e.get("place", ""), _summary(r)
        assert text[r.span[0] : r.span[1]] == r.text


def test_fixture_is_big_enough() -> None:
    assert len(CASES) >= 40
    assert sum(1 for c in CASES if not c["expect"]) >= 10


WEIRD = [
    "",
    " ",
    "\x00\x01\x02",
    "...",
    "..V",
    "1e999 V",
    "-5 V",
    "−12 V",
    "—–-",
    "!@#$%^&*()_+{}|:\"<>?,./;'[]\\=-`~",
    "ΩΩΩ kΩ MΩ",
    "⚡🔌 12 V 🔌⚡",
    "\u202e12 V\u202c",
    "١٢ V",
    "12\u00a0V",
    "1" * 5000 + " V",
    "9" * 400 + ".5 ohm",
    "1,2,3,4,5 V",
    "1.2.3.4 V",
    "0x12 V",
    "NaN V",
    "inf ohm",
    "1k5k5k5",
    "open " * 2000,
    "between CP and " * 2000,
    "CP-PE 12 V, " * 2000,
    "PP to ground is open circuit. " * 500,
]


@pytest.mark.parametrize("text", WEIRD, ids=[repr(w[:20]) for w in WEIRD])
def test_never_raises(text: str) -> None:
    # _parse is the parser without parse_readings' safety net: it must cope on its own
    readings = _parse(text)
    assert parse_readings(text) == readings
    for r in readings:
        assert isinstance(r, Reading)
        assert r.quantity in {"voltage", "resistance", "signal", "duration", "torque", "current"}
        assert (r.value is None) == r.open_circuit
        assert r.value is None or r.value == r.value  # not NaN
        assert text[r.span[0] : r.span[1]] == r.text


def test_negative_voltage_is_a_reading() -> None:
    (r,) = parse_readings("-5 V")
    assert (r.quantity, r.value, r.unit) == ("voltage", -5.0, "V")


def test_overflowing_number_is_dropped_not_infinite() -> None:
    assert all(
        r.value is not None and abs(r.value) < float("inf")
        for r in parse_readings("1" * 5000 + " V and 1e999 V")
    )


def test_non_string_input_gives_no_readings() -> None:
    assert parse_readings(None) == []  # type: ignore[arg-type]


def test_a_reading_gets_the_same_answer_whatever_was_asked_before(seed_kb: KnowledgeBase) -> None:
    """The engines are built once and reused: diagnosing the fixture's readings one
    after another, in reverse order, gives each the answer a fresh diagnoser gives
    (nothing of one query's readings or evidence stays behind for the next)."""
    texts = [str(c["text"]) for c in CASES]
    shared = Diagnoser(seed_kb)
    for text in reversed(texts):
        shared.diagnose(text)
    for text in texts:
        want = Diagnoser(seed_kb).diagnose(text)
        got = shared.diagnose(text)
        assert _answer(got) == _answer(want), text


def _answer(d: Diagnosis) -> list[tuple[str, float, list[tuple[str, float, int]]]]:
    return [
        (rc.cause.id, round(rc.confidence, 9), [(e.kind, e.weight, e.line) for e in rc.evidence])
        for rc in d.all_causes
    ]


def test_a_reading_elsewhere_says_nothing_about_the_pilot(seed_kb: KnowledgeBase) -> None:
    """ "zero volts on the output" is read at the station's output, not between CP and
    ground: it is no pilot reading out of range (a "CP 0 V" is)."""
    d = Diagnoser(seed_kb)

    def reading_evidence(text: str) -> list[str]:
        return [
            e.observation
            for rc in d.diagnose(text).causes
            for e in rc.evidence
            if e.kind == "reading out of range"
        ]

    assert reading_evidence("station says charging but zero volts on the output") == []
    assert reading_evidence("station says charging but zero volts on CP")
