"""Observations -> facts: error codes, meter readings, symptom clauses (with their
sense: fault asserted or normal behaviour), context events, port and generation."""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from engine.outcomes import ActionReport, Vocabulary, reports
from engine.readings import Comparison, Reading, comparisons, parse_readings
from kb.schema import SerialFormat
from kb.text import Clause, Lexicon, clauses, stem, terms

STATION_CODE = re.compile(r"\b[A-Z][A-Z0-9]{1,5}-ERR-[A-Z0-9]+(?:-[A-Z0-9]+)*\b", re.I)

# OCPP 1.6 ChargePointErrorCode values (../shared/corpus/notes/ocpp16_chargepointerrorcode.csv)
OCPP16_ERROR_CODES = (
    "ConnectorLockFailure",
    "EVCommunicationError",
    "GroundFailure",
    "HighTemperature",
    "InternalError",
    "LocalListConflict",
    "NoError",
    "OtherError",
    "OverCurrentFailure",
    "OverVoltage",
    "PowerMeterFailure",
    "PowerSwitchFailure",
    "ReaderFailure",
    "ResetFailure",
    "UnderVoltage",
    "WeakSignal",
)
_OCPP = re.compile(r"\b(" + "|".join(OCPP16_ERROR_CODES) + r")\b", re.I)
# time since the station was last heard from: "last comm 12 mins ago", "15 min back"
_ELAPSED = re.compile(
    r"(?<![\w.])(\d+(?:\.\d+)?)\s*(s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|days?)\s+"
    r"(?:ago|back)\b",
    re.I,
)
# how long it has been out: "offline 2 days", "no comms for 4 hrs", "down since 3 hours"
_OUT_FOR = re.compile(
    r"\b(?:offline|off line|down|dark|no comms|lost comms|no communication|not communicating|"
    r"disconnected|unreachable)\s+(?:for\s+|since\s+)?(?:about\s+|over\s+|~)?"
    r"(\d+(?:\.\d+)?)\s*(s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|days?)\b",
    re.I,
)
_ELAPSED_UNIT = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
# at most four digits: "port 99999..." is no port number (and int() refuses > 4300 digits)
_PORT = re.compile(r"\bport\s*#?\s*(\d{1,4})\b|\b(left|right)\s+port\b", re.I)
_GEN = re.compile(r"\bgen(?:eration)?\s*([12])\b", re.I)


@functools.lru_cache(maxsize=64)
def serial_pattern(template: str, position: int) -> re.Pattern[str]:
    """A serial of a manual's shape: its letters as written, any letter or digit for
    an X, the generation digit captured.

    >>> serial_pattern("WB-2XXXX", 3).search("S/N wb-21847 on the label").groups()
    ('wb-21847', '2')
    """
    parts = []
    for i, ch in enumerate(template):
        if i == position:
            parts.append(r"(\d)")
        elif ch in "Xx":
            parts.append("[A-Z0-9]")
        else:
            parts.append(re.escape(ch))
    return re.compile(rf"\b({''.join(parts)}[A-Z0-9]*)\b", re.I)


# what is left of "CP to GND 0V" once the reading is taken out
_METER_WORDS = frozenset(
    stem(w)
    for w in [
        "cp",
        "pp",
        "pe",
        "ground",
        "gnd",
        "earth",
        "l1",
        "l2",
        "pin",
        "pins",
        "reads",
        "read",
        "measures",
        "measured",
        "meter",
        "multimeter",
        "dmm",
        "volts",
        "ohms",
        "both",
    ]
)


@dataclass(frozen=True)
class ErrorCodeObs:
    code: str
    kind: str  # "station" or "ocpp"


@dataclass(frozen=True)
class Observation:
    text: str
    clauses: tuple[Clause, ...]
    readings: tuple[Reading, ...]
    error_codes: tuple[ErrorCodeObs, ...]
    port: int | None = None
    generation: int | None = None
    serial: str = ""
    elapsed_s: tuple[float, ...] = field(default=())  # time since last contact, seconds
    actions: tuple[ActionReport, ...] = ()  # what was already tried, and what happened


def canonical_code(code: str) -> ErrorCodeObs:
    """An OCPP code in its own spelling; a station code as given (the diagnoser
    resolves it to the knowledge base's spelling first)."""
    m = _OCPP.fullmatch(code.strip())
    if m:
        name = next(c for c in OCPP16_ERROR_CODES if c.lower() == m.group(1).lower())
        return ErrorCodeObs(name, "ocpp")
    c = code.strip()
    return ErrorCodeObs(c.upper() if STATION_CODE.fullmatch(c) else c, "station")


# what a value against a stated reference says, in words a manual uses for it
_SIDE = {"above": "above nominal", "below": "below nominal"}
_IN_CLAUSE = frozenset({"duration", "current"})
_NAMED_QUANTITIES = frozenset({"voltage", "current", "resistance"})  # said with the side


def _strip_readings(text: str, readings: list[Reading], compared: Sequence[Comparison] = ()) -> str:
    """The text without its readings (each a clause break), a value compared with
    a reference it states said in words instead ("expected 230 got 258" -> "got
    above nominal"; the reference itself goes)."""
    edits: list[tuple[tuple[int, int], str]] = []
    for c in compared:
        said = c.quantity if c.quantity in _NAMED_QUANTITIES else ""
        word = f"{said} {_SIDE[c.side]}".strip()
        edits += [(c.span, f" {word} "), (c.reference_span, " ")]
    for r in readings:
        if not any(a < r.span[1] and r.span[0] < b for (a, b), _w in edits):
            # a time or a current is part of what it says ("fault 20 min into
            # charging", "dropped the car to 6A until ..."); a meter reading of a
            # voltage or a resistance stands apart from the words around it
            edits.append((r.span, " " if r.quantity in _IN_CLAUSE else " , "))
    out = text
    for (a, b), word in sorted(set(edits), key=lambda e: -e[0][0]):
        out = out[:a] + word + out[b:]
    return out


# what a reporter asks for help with ("Is there a setting for this?", "any ideas?",
# "Hva gjør jeg?"): a question made only of these words observes nothing
_ASKING = frozenset(
    stem(w)
    for w in (  # noqa: SIM905
        "setting settings fix fixed way ways idea ideas help anyone someone anybody anything "
        "else add try tried bug known normal solution workaround know suggestion suggestions "
        "tip tips advice next wrong hva gjor gjore jeg hvordan noen hjelp"
    ).split()
)
_NORDIC = str.maketrans({"ø": "o", "Ø": "O", "å": "a", "Å": "A", "æ": "ae", "Æ": "AE"})
_QUESTION = re.compile(r"[^.!?\n]*\?+")


def _without_asking(text: str) -> str:
    """The text without the questions that only ask for help."""

    def blank(m: re.Match[str]) -> str:
        plain = m.group(0).translate(_NORDIC)
        said = terms(plain, None)
        return " , " if said <= _ASKING else m.group(0)

    return _QUESTION.sub(blank, text)


def _without_actions(text: str, actions: list[ActionReport], vocab: Vocabulary) -> str:
    """The text with the clauses that report an action and its outcome blanked
    out: "reseated the SIM, still offline" says what was done and that it did not
    help, not that the SIM is unseated or that the station is newly offline. What
    comes before the action in the sentence ("never came back after the quake,
    restart didn't help") stays; an action with no outcome is a site event
    ("the building swapped the router") and stays too."""
    out = text
    for r in sorted(actions, key=lambda r: -r.span[0]):
        if r.outcome is None:
            continue
        a, b = r.span
        sentence = out[a:b]
        found = vocab.action_in(sentence)
        if found is None:
            continue
        start = found[1][0]
        head, tail = sentence[:start], sentence[start:]
        kept = []
        for part in re.split(r"(,|;|\band\b|\bbut\b|\bthen\b)", tail):
            kept.append(" , " if vocab.action_in(part) or vocab.outcome_in(part) else part)
        out = out[:a] + head + "".join(kept) + out[b:]
    return out


def observe(
    text: str,
    lexicon: Lexicon,
    error: str | None = None,
    vocab: Vocabulary | None = None,
    serials: Sequence[SerialFormat] = (),
) -> Observation:
    """Turn free text (plus an optional error code) into an Observation."""
    codes: list[ErrorCodeObs] = []
    if error:
        codes.append(canonical_code(error))
    for m in STATION_CODE.finditer(text):
        codes.append(ErrorCodeObs(m.group(0).upper(), "station"))
    for m in _OCPP.finditer(text):
        codes.append(canonical_code(m.group(1)))
    codes = list(dict.fromkeys(codes))
    rest = STATION_CODE.sub(" ", text)
    readings = parse_readings(rest)
    symptom_text = _without_asking(_strip_readings(rest, readings, comparisons(rest)))
    actions = reports(symptom_text, vocab, lexicon) if vocab is not None else []
    if actions and vocab is not None:
        symptom_text = _without_actions(symptom_text, actions, vocab)
    port = None
    pm = _PORT.search(text)
    if pm:
        port = int(pm.group(1)) if pm.group(1) else (1 if pm.group(2).lower() == "left" else 2)
    gen = None
    serial = ""
    for sf in serials:
        sm = serial_pattern(sf.template, sf.position).search(text)
        if sm:
            serial = sm.group(1).upper()
            gen = int(sm.group(2))
            break
    gm = _GEN.search(text)
    if gm:
        gen = int(gm.group(1))
    elapsed = []
    for em in [*_ELAPSED.finditer(text), *_OUT_FOR.finditer(text)]:
        seconds = float(em.group(1)) * _ELAPSED_UNIT[em.group(2)[0].lower()]
        if math.isfinite(seconds):  # "999...9 days ago" overflows: dropped, not infinite
            elapsed.append(seconds)
    return Observation(
        text=text,
        clauses=tuple(c for c in clauses(symptom_text, lexicon) if not c.terms <= _METER_WORDS),
        readings=tuple(readings),
        error_codes=tuple(codes),
        port=port,
        generation=gen,
        serial=serial,
        elapsed_s=tuple(elapsed),
        actions=tuple(actions),
    )
