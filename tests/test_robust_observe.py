"""A technician can type anything: observing and diagnosing never crash (issue #6).

Hypothesis feeds arbitrary unicode text, and text made of the tokens field reports
are made of (readings with odd units and numbers such as "482 Ω", "1.5k", "1e309",
"nan", "∞", very long digit strings; test points; error codes; seed symptom words),
with a fuzzed error-code argument, to:

- ``engine.readings._parse`` (the reading parser without ``parse_readings``' safety
  net, which would hide a crash) and ``parse_readings``;
- ``engine.observe.observe``;
- the whole diagnosis over the seed knowledge base (``evkb.api.diagnose``), whose
  machine-interface result (``diagnosis_json``) must be strict JSON: no NaN or
  infinity, nothing that is not a JSON type.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from engine.observe import Observation, observe
from engine.readings import QUANTITIES, Reading, _parse, parse_readings
from evkb import api
from kb.schema import KnowledgeBase
from kb.text import Lexicon
from tests.conftest import ROOT

FAST = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
SLOW = settings(FAST, max_examples=100)

# ------------------------------------------------------------------ strategies

NUMBERS = st.one_of(
    st.sampled_from(
        [
            "0",
            "482",
            "12.1",
            "11,9",
            "1,500",
            ".5",
            "-12",
            "−12",
            "+5",
            "1e309",
            "1e-400",
            "-0",
            "nan",
            "NaN",
            "inf",
            "-inf",
            "∞",
            "1.5k",
            "1k5",
            "4k7",
            "2M2",
            "4R7",
            "470R",
            "0x1F",
            "1.2.3",
            "1,2,3",
            "١٢",  # arabic-indic digits
            "１２",  # fullwidth digits
            "½",
            "²",
            "9" * 400,
            "1" * 5000,
            "0." + "0" * 500 + "1",
        ]
    ),
    st.integers().map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
)
UNITS = st.sampled_from(
    [
        "Ω",
        "Ω",  # ohm sign
        "kΩ",
        "MΩ",
        "ω",
        "ohm",
        "ohms",
        "k",
        "K",
        "V",
        "v",
        "VDC",
        "VAC",
        "V DC",
        "V AC",
        "mV",
        "kV",
        "A",
        "mA",
        "a",
        "bar",
        "bars",
        "s",
        "sec",
        "min",
        "h",
        "ms",
        "Nm",
        "N·m",
        "kW",
        "kHz",
        "Hz",
        "%",
        "°C",
        "",
    ]
)
TOKENS = st.sampled_from(
    [
        "OL",
        "O.L",
        "open",
        "open circuit",
        "not open",
        "short",
        "--",
        "-",
        "—",
        "PP-PE",
        "CP-PE",
        "CP to GND",
        "between CP and GND",
        "PP to ground",
        "L1-N",
        "L1",
        "N",
        "on",
        "at",
        "across",
        "reads",
        "measured",
        "approx.",
        "~",
        "±",
        "/",
        "(",
        ")",
        ",",
        ".",
        ";",
        "!",
        "?",
        "\n",
        "CP-ERR-RET",
        "CP-ERR-WIFI",
        "XX-ERR-",
        "cp-err-ret",
        "EVCommunicationError",
        "WeakSignal",
        "NoError",
        "port",
        "port #",
        "port 2",
        "ago",
        "days ago",
        "min back",
        "left port",
        "port #999999999999999999999",
        "gen 2",
        "CT4G-2ABCD",
        "CT4000",
        "J1772",
        "3 hours ago",
        "12 mins back",
        "99999999999999999999 days ago",
        "1e309 s ago",
        "last comm",
        "in standby",
        "plugged in",
        "not",
        "no",
        "never",
        "fine",
        "works",
        "won't",
        "doesn't",
        "zero volts",
        "one bar",
        "no bars",
        "\u202e",
        "\u200d",
        "\x00",
        "\ufeff",
        "🔌",
        "e\u0301",
    ]
)


def _seed_words() -> list[str]:
    out: set[str] = set()
    for p in sorted((ROOT / "manuals").glob("*.md")):
        for line in p.read_text(encoding="utf-8").split("\n"):
            if line.startswith("|"):
                out.update(w.strip("|*`.,") for w in line.split())
    return sorted(w for w in out if w)


SEED_WORDS = st.sampled_from(_seed_words())
READING = st.builds(
    lambda n, sp, u: f"{n}{sp}{u}", NUMBERS, st.sampled_from(["", " ", "\u00a0", "  "]), UNITS
)
PIECE = st.one_of(READING, TOKENS, SEED_WORDS, NUMBERS, st.text(max_size=10))
SEP = st.sampled_from([" ", " ", " ", ", ", ". ", "\n", "", "-", " and "])


@st.composite
def report(draw: st.DrawFn) -> str:
    """A field report stitched from unit-ish tokens, error codes, test points and the
    seed manuals' words, sometimes repeated into a very long text."""
    pieces = draw(st.lists(st.tuples(PIECE, SEP), max_size=25))
    text = "".join(p + s for p, s in pieces)
    if draw(st.integers(0, 9)) == 0:
        text *= draw(st.integers(2, 200))
    return text


TEXT = st.one_of(st.text(), st.text(alphabet=st.characters(codec="utf-8")), report(), report())
ERROR = st.one_of(
    st.none(),
    st.just(""),
    st.sampled_from(
        [
            "CP-ERR-RET",
            "cp-err-ret",
            " CP-ERR-WIFI ",
            "EVCommunicationError",
            "weaksignal",
            "NoError",
            "CP-ERR-",
            "-",
            "\x00",
            "\n",
            "CP-ERR-RET\nCP-ERR-WIFI",
        ]
    ),
    st.text(max_size=30),
    st.text(min_size=1, max_size=3).map(lambda s: s * 3000),
)

# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    """The seed knowledge base, built with the CLI's code path and loaded back."""
    path = tmp_path_factory.mktemp("robust_observe") / "kb.json"
    api.build([ROOT / "manuals"], path)
    return api.load(path)


@pytest.fixture(scope="module")
def lexicon(kb: KnowledgeBase) -> Lexicon:
    return Lexicon.build((e.canonical, e.phrases) for e in kb.lexicon)


# ------------------------------------------------------------------ checks


def _check_readings(text: str, readings: list[Reading]) -> None:
    for r in readings:
        assert r.quantity in QUANTITIES, r
        assert (r.value is None) == r.open_circuit, r
        assert r.value is None or math.isfinite(r.value), r
        assert 0 <= r.span[0] < r.span[1] <= len(text), r
        assert text[r.span[0] : r.span[1]] == r.text, r


def _check_observation(text: str, obs: Observation) -> None:
    assert obs.text == text
    assert all(math.isfinite(s) for s in obs.elapsed_s), obs.elapsed_s
    assert obs.port is None or obs.port >= 0
    assert obs.generation in (None, 1, 2)
    for r in obs.readings:
        assert r.value is None or math.isfinite(r.value), r


def _strict_json(data: Any) -> None:
    """Serialisable as strict JSON (no NaN/Infinity), and unchanged by a round trip
    apart from tuples becoming lists."""
    s = json.dumps(data, allow_nan=False, ensure_ascii=False)
    assert json.loads(s) == json.loads(json.dumps(data, allow_nan=False))


# ------------------------------------------------------------------ properties


@FAST
@given(text=TEXT)
@example(text="1e309 V")
@example(text="1" * 5000 + " V and " + "9" * 400 + ".5 ohm")
@example(text="PP-PE 482 Ω, CP 12.1 V DC, OL, 1.5k, nan V, ∞ Ω, -- V")
@example(text="between CP and " * 500)
def test_reading_parser_never_raises(text: str) -> None:
    readings = _parse(text)
    _check_readings(text, readings)
    assert parse_readings(text) == readings


@FAST
@given(text=TEXT, error=ERROR)
@example(text="", error="")
@example(text="port 99999999999999999999999999", error=None)
@example(text="99999999999999999999 days ago, 1e309 s ago", error="x" * 10000)
@example(text="port " + "1" * 5000, error=None)  # was: ValueError from int()
@example(text="9" * 400 + " days ago", error=None)  # was: elapsed time of infinity
def test_observe_never_raises(text: str, error: str | None, lexicon: Lexicon) -> None:
    _check_observation(text, observe(text, lexicon, error))


@SLOW
@given(text=TEXT, error=ERROR)
@example(text="cable hangs loose and will not retract", error="CP-ERR-RET")
@example(text="PP-PE 1e309 ohm, CP nan V, ∞", error="EVCommunicationError")
@example(text="", error=None)
@example(text="\x00", error="\x00")
@example(text="x", error="CP-ERR-" + "A" * 20000)
def test_diagnose_never_raises_and_gives_strict_json(
    text: str, error: str | None, kb: KnowledgeBase
) -> None:
    d = api.diagnose(kb, text, error)
    data = api.diagnosis_json(d)
    _strict_json(data)
    confidences = [c["confidence"] for c in data["causes"]]
    assert all(0.0 <= c <= 1.0 for c in confidences), confidences
    assert confidences == sorted(confidences, reverse=True)


@pytest.mark.parametrize("error", [None, "", "CP-ERR-RET", "\x00" * 100, "€" * 50000])
def test_diagnose_with_odd_error_only(error: str | None, kb: KnowledgeBase) -> None:
    """The error argument alone (no text): a dispatcher forwarding a station's code."""
    _strict_json(api.diagnosis_json(api.diagnose(kb, "", error)))


def test_huge_report(kb: KnowledgeBase, lexicon: Lexicon) -> None:
    """A pasted log is handled, not choked on (a pathological regex would hang here):
    ~80 kB through observe, ~8 kB through the whole diagnosis (whose rule engine takes
    about a second per 10 kB of report)."""
    line = "PP-PE 482 Ω, CP to GND 12.1 V DC, cord won't go back in, CP-ERR-RET 3 hours ago. "
    text = line * 1000
    _check_observation(text, observe(text, lexicon, None))
    _strict_json(api.diagnosis_json(api.diagnose(kb, text[: len(line) * 100], None)))
