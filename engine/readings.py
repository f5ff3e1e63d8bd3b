"""Meter readings as technicians type them in free text.

"PP-PE 482 ohm", "CP to ground measures 0 V in standby", "measured 11.9VDC between CP
and GND", "1k5", "PP to ground is open circuit", "phone shows 1 bar" ... become
:class:`Reading` values in canonical units, with the test points named in the same
clause. Units and test points come from :mod:`kb.units`, shared with ingest.

How points are attached: the text is cut into sentences (". ", "!", "?", ";", newline).
Within a sentence, every run of test points ("PP-PE", "CP to ground", "between CP and
GND") is given to one reading: a run introduced by "on/at/across/between/from/of/to"
("12 V on CP", "11.9VDC between CP and GND") belongs to the reading just before it when
nothing but words separates them, otherwise (and for a bare run such as "CP-PE 12V" or
"pilot reads 0 volts") to the next reading; either falls back to the other side when
that side has no reading. A reading left without points takes those of the previous
reading of the same quantity in the sentence when no comma separates them ("CP-PE 12 V
in standby and 9 V plugged in").

:attr:`Reading.span` and :attr:`Reading.text` cover the value and its unit (plus a
trailing "DC"/"AC"), or the open-circuit phrase; not the test points.

The parser never raises: any string gives a (possibly empty) list.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from kb.units import POINT_PATTERN, UNIT_PATTERN, canonical_points, canonical_unit

__all__ = ["QUANTITIES", "Reading", "parse_readings"]

# quantities a technician's reading may have (kb.units also knows power and frequency:
# those are ratings such as "7 kW" or "1 kHz" rather than field readings, and are dropped)
QUANTITIES = frozenset({"voltage", "resistance", "signal", "duration", "torque", "current"})


@dataclass(frozen=True)
class Reading:
    quantity: str  # "voltage" | "resistance" | "signal" | "duration" | "torque" | "current"
    value: float | None  # in the canonical unit; None only when open_circuit
    unit: str  # canonical: "V", "ohm", "bar", "s", "Nm", "A"
    points: tuple[str, ...]  # canonical test points (kb.units.canonical_points); () if none
    open_circuit: bool
    ac: bool | None  # True for VAC/"AC", False for VDC/"DC", None when not said
    span: tuple[int, int]  # character span of the reading in the input text
    text: str  # the matched text
    # where it was read when that is no test point ("zero volts on the output",
    # "input 201 V"): not a reading between the points a measurement names
    place: str = ""


# --- values -------------------------------------------------------------------------

# 1,500 (thousands) | 12.1 | 12,1 (decimal comma) | .5
_NUM = r"(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:[.,]\d+)?|\.\d+)"
# a number not glued to a word, a number or a decimal point ("CT4000", "J1772", "v1.5");
# a sign counts only when glued to the digits ("-12 V", not "9 - 12 V" nor "CP-12V")
_VALUE = re.compile(
    rf"(?<![\w.,])(?P<sign>[-+\u2212\u2013](?=[\d.])|(?:minus|negative)\s+(?=[\d.]))?"
    rf"(?P<num>{_NUM})\s*"
    rf"(?P<unit>{UNIT_PATTERN})(?![a-zA-Z0-9])",
    re.I,
)
# resistor code: 1k5 = 1500 ohm, 4k7, 2M2, 4R7 = 4.7 ohm, 470R
_CODE = re.compile(
    r"(?<![\w.,])(?P<a>\d+)(?:(?P<mult>[kKMR])(?P<b>\d+)|(?P<r>R))"
    r"(?:\s?(?:k?ohms?|k?\u03a9|k?\u03c9))?(?![a-zA-Z0-9])"
)
_CODE_FACTOR = {"k": Decimal(1000), "K": Decimal(1000), "M": Decimal(1000000), "R": Decimal(1)}
# "zero volts", "one bar", "no bars"
_WORD_NUMS = {
    "no": 0,
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
}
_WORD_VALUE = re.compile(
    r"\b(?P<num>no|zero|one|two|three|four|five|six|seven|eight|nine|ten)\s+"
    r"(?P<unit>volts?|ohms?|bars?|seconds?|minutes?|hours?|amps?)\b",
    re.I,
)
_ACDC_AFTER = re.compile(r"\s*\(?\s*(?P<kind>ac|dc)\b\)?", re.I)
_ACDC_BEFORE = re.compile(r"\b(?P<kind>ac|dc)\b[^\d,;:.]{0,30}$", re.I)
_AGO = re.compile(r"\s+ago\b", re.I)
# a bare "k" that counts something other than ohms: "$10k", "10k miles"
_K_NOT_OHM = re.compile(
    r"\s*(?:km|mi|miles?|kwh|cycles?|sessions?|charges?|users?|times|rpm|kg|lbs?|"
    r"dollars?|usd|eur|views?|steps?)\b",
    re.I,
)
# "10 a.m."; a lowercase "a" after a space is read as the article ("2 a day")
_AM = re.compile(r"\.?\s?m\b", re.I)
_MONEY = ("$", "\u20ac", "\u00a3")
_MAX_DIGITS = 18

# --- open circuit -------------------------------------------------------------------

# always a reading: "open circuit", "open-circuit", "no continuity", "OL", "O.L."
_OPEN_STRONG = re.compile(
    r"\bopen[\s-]+circuit(?:ed)?\b|\bno\s+continuity\b|(?-i:\bO\.L\b\.?|\bOL\b)",
    re.I,
)
# "open-circuit voltage" is a voltage, not an open circuit
_OCV = re.compile(r"\s+(?:voltage|volts?|v)\b", re.I)
_NEGATED = re.compile(r"\b(?:not|never|isn'?t|wasn'?t|aren'?t)\s+$", re.I)
# a reading only when the clause is about resistance, continuity, test points or a meter
_OPEN_WEAK = re.compile(
    r"\b(?:open|infinite|infinity|ol)\b(?:\s*(?:ohms?|\u03a9|resistance)(?![a-zA-Z0-9]))?"
    r"|\u221e(?:\s*(?:ohms?|\u03a9))?",
    re.I,
)
_WEAK_BEFORE = re.compile(
    r"\b(?:not|isn't|isnt|wasn't|wasnt|aren't|never|to|will|can|could|would|should|"
    r"please|must|don't|dont|didn't|didnt|cannot|can't|cant)\s+$",
    re.I,
)
_WEAK_AFTER = re.compile(
    r"(?:\s+(?:the|a|an|up|it|them|this|that|its|their|his|her|my|our|your|door|doors|"
    r"cabinet|cover|lid|enclosure|panel|box|app|ticket|tickets|case|session|sessions|"
    r"hours|house|to|for|source|issue|question|item|items|order|work|loop|number|"
    r"amount|access)\b|-\w)",
    re.I,
)
_CONTEXT = re.compile(
    r"ohm|\u03a9|\u03c9|\bresist|\bcontinuity|\bmultimeter|\bdmm\b|\bohmmeter|\bmeas(?:ur|\.)"
    r"|\bmeter\s+(?:reads?|shows?|says?|said|displays?|gives?|reading|showed)|\bprobes?\b",
    re.I,
)
# what may stand next to "open" in a clause of its own: "..., open." / "reads open"
_FILLER = re.compile(
    r"^[\W_]*(?:(?:it'?s|it|is|was|reads?|shows?|showed|read|just|still|fully|completely|"
    r"totally|then|now|again|also)[\W_]*)*$",
    re.I,
)

# --- test points --------------------------------------------------------------------

_POINT_ALIASES = {"prox": "pp", "chassis": "earth"}
_POINT = re.compile(
    rf"\b(?P<name>{POINT_PATTERN}|prox|chassis|n)\b(?!-ERR)"
    r"(?:\s+(?:pins?|lines?|wires?|terminals?|conductors?|contacts?|signal))?",
    re.I,
)
_CONN = re.compile(
    r"\s*(?:-|\u2013|\u2014|/|&|<->|<=>|\u2194|\u2192|->|=>)\s*"
    r"|\s+(?:to|vs\.?|versus|with respect to|relative to|wrt)\s+(?:the\s+)?"
    r"|\s+(?P<and>and)\s+(?:the\s+)?",
    re.I,
)
_CUE = re.compile(r"\b(?P<cue>on|at|across|between|from|of|to)\s+(?:the\s+)?$", re.I)

# --- sentences and clauses ----------------------------------------------------------

_SENTENCE_END = re.compile(r"[.!?](?=\s|$)|[;\n\r]")
_ABBREV = re.compile(
    r"\b(?:approx|appr|ca|meas|min|max|avg|typ|e\.g|i\.e|vs|etc|nom|abt|est)$", re.I
)
_SUBCLAUSE_END = re.compile(r"[,;]|\bbut\b|\band\b|\bwhile\b|\bwhereas\b", re.I)
# "12 V, between PP and PE ..." : the run does not trail the 12 V
_CLAUSE_PUNCT = re.compile(r"[,;:()]")
# "CP-PE 12 V in standby and 9 V plugged in" shares points; "pilot 12 V, battery 12.6 V" not
_INHERIT_STOP = re.compile(r"[,;]")


@dataclass
class _Candidate:
    start: int
    end: int
    quantity: str
    value: float | None
    unit: str
    open_circuit: bool
    ac: bool | None
    points: list[str] = field(default_factory=list)


@dataclass
class _Group:
    start: int
    end: int
    names: list[str]
    trailing: bool  # introduced by on/at/between...: prefers the reading before it


class _Taken:
    """Character positions already used by a reading (one byte per character)."""

    def __init__(self, n: int) -> None:
        self._mask = bytearray(n)

    def free(self, a: int, b: int) -> bool:
        return self._mask.find(1, a, b) < 0

    def take(self, a: int, b: int) -> None:
        self._mask[a:b] = b"\x01" * (b - a)


@dataclass
class _Sentence:
    """One sentence of the input, with its point runs and clause cuts worked out once."""

    text: str
    lo: int
    hi: int
    groups: list[_Group] = field(default_factory=list)
    group_starts: list[int] = field(default_factory=list)
    cuts: list[tuple[int, int]] = field(default_factory=list)  # subclause separators
    cut_ends: list[int] = field(default_factory=list)
    context: list[int] = field(default_factory=list)  # starts of resistance/meter words

    def __post_init__(self) -> None:
        self.groups = _groups(self.text, self.lo, self.hi)
        self.group_starts = [g.start for g in self.groups]
        pairs = [(g.start, g.end) for g in self.groups if len(g.names) > 1]
        pair_starts = [s for s, _ in pairs]
        for m in _SUBCLAUSE_END.finditer(self.text, self.lo, self.hi):
            i = bisect_right(pair_starts, m.start()) - 1
            if i >= 0 and pairs[i][0] <= m.start() < pairs[i][1]:
                continue  # the "and" of "between CP and PE"
            self.cuts.append((m.start(), m.end()))
        self.cut_ends = [e for _, e in self.cuts]
        self.context = [m.start() for m in _CONTEXT.finditer(self.text, self.lo, self.hi)]

    def subclause(self, a: int, b: int) -> tuple[int, int]:
        """The comma/"but"/"and" clause around text[a:b]."""
        i = bisect_right(self.cut_ends, a)
        start = self.cuts[i - 1][1] if i > 0 else self.lo
        end = self.cuts[i][0] if i < len(self.cuts) else self.hi
        return start, max(end, b)

    def has_group(self, a: int, b: int) -> bool:
        i = bisect_left(self.group_starts, a)
        return i < len(self.groups) and self.groups[i].end <= b

    def has_context(self, a: int, b: int, skip: tuple[int, int]) -> bool:
        i = bisect_left(self.context, a)
        while i < len(self.context) and self.context[i] < b:
            if not skip[0] <= self.context[i] < skip[1]:
                return True
            i += 1
        return False


def _to_float(num: str, factor: float | Decimal, sign: str | None) -> float | None:
    if len(num.replace(",", "").replace(".", "").lstrip("0")) > _MAX_DIGITS:
        return None
    s = num
    if "," in s:
        # "1,500" thousands, "12,1" decimal comma
        thousands = re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?", s)
        s = s.replace(",", "") if thousands else s.replace(",", ".")
    try:
        d = Decimal(s) * (factor if isinstance(factor, Decimal) else Decimal(repr(factor)))
    except (InvalidOperation, ValueError):
        return None
    if sign is not None and (sign in ("-", "\u2212", "\u2013") or sign[:1] in "mn"):
        d = -d
    v = float(d)
    if not math.isfinite(v):
        return None
    return v if v != 0 else 0.0  # no -0.0


def _is_ac(kind: str) -> bool:
    return kind.lower() == "ac"


def _value_candidates(text: str, taken: _Taken) -> list[_Candidate]:
    out: list[_Candidate] = []

    for m in _CODE.finditer(text):
        mult = m.group("mult") or "R"
        num = m.group("a") + ("." + m.group("b") if m.group("b") else "")
        v = _to_float(num, _CODE_FACTOR[mult], None)
        if v is None or not taken.free(m.start(), m.end()):
            continue
        out.append(_Candidate(m.start(), m.end(), "resistance", v, "ohm", False, None))
        taken.take(m.start(), m.end())

    for m in _VALUE.finditer(text):
        spelling = m.group("unit")
        unit = canonical_unit(spelling)
        if unit is None:
            continue
        canon, quantity, factor = unit
        if quantity not in QUANTITIES:
            continue
        low = spelling.lower()
        spaced = m.start("unit") > m.end("num")
        if low == "a" and (_AM.match(text, m.end()) or (spelling == "a" and spaced)):
            continue  # "10 a.m.", "2 a day"
        if low == "k" and (
            _K_NOT_OHM.match(text, m.end()) or text[max(0, m.start() - 1) : m.start()] in _MONEY
        ):
            continue  # "10k miles", "$10k"
        if quantity == "duration" and _AGO.match(text, m.end()):
            continue  # "3 hours ago" is when, not how long
        if not taken.free(m.start(), m.end()):
            continue
        v = _to_float(m.group("num"), factor, m.group("sign"))
        if v is None:
            continue
        end = m.end()
        ac: bool | None = None
        if quantity in ("voltage", "current"):
            compact = low.replace(" ", "")
            after = _ACDC_AFTER.match(text, m.end())
            before = _ACDC_BEFORE.search(text, max(0, m.start() - 40), m.start())
            if compact in ("vac", "vdc"):
                ac = _is_ac(compact[-2:])
            elif after:
                ac = _is_ac(after.group("kind"))
                end = after.end()
            elif before:
                ac = _is_ac(before.group("kind"))
        out.append(_Candidate(m.start(), end, quantity, v, canon, False, ac))
        taken.take(m.start(), end)

    for m in _WORD_VALUE.finditer(text):
        word = m.group("num").lower()
        unit = canonical_unit(m.group("unit"))
        if unit is None or not taken.free(m.start(), m.end()):
            continue
        canon, quantity, factor = unit
        if word == "no" and quantity != "signal":
            continue
        if quantity == "duration" and _AGO.match(text, m.end()):
            continue
        v = _to_float(str(_WORD_NUMS[word]), factor, None)
        if v is None:
            continue
        out.append(_Candidate(m.start(), m.end(), quantity, v, canon, False, None))
        taken.take(m.start(), m.end())
    return out


def _sentence_bounds(text: str) -> list[tuple[int, int]]:
    bounds: list[tuple[int, int]] = []
    start = 0
    for m in _SENTENCE_END.finditer(text):
        if m.group(0) == "." and _ABBREV.search(text, max(0, m.start() - 8), m.start()):
            continue  # "approx. 12 V"
        bounds.append((start, m.end()))
        start = m.end()
    bounds.append((start, len(text)))
    return [b for b in bounds if b[1] > b[0]]


def _groups(text: str, lo: int, hi: int) -> list[_Group]:
    """Runs of test points in text[lo:hi]: "PP-PE", "CP to ground", "between CP and GND"."""
    groups: list[_Group] = []
    cue = ""
    for m in _POINT.finditer(text, lo, hi):
        start, end, name = m.start(), m.end(), m.group("name")
        if groups:
            g = groups[-1]
            conn = _CONN.fullmatch(text, g.end, start) if start - g.end < 40 else None
            # "and" joins points only after "between": "12 V on CP and PP reads 480" is two
            if conn is not None and (conn.group("and") is None or cue == "between"):
                g.end = end
                g.names.append(name)
                continue
        cm = _CUE.search(text, max(lo, start - 20), start)
        cue = cm.group("cue").lower() if cm else ""
        groups.append(_Group(cm.start() if cm else start, end, [name], bool(cm)))
    # a lone "N" is a letter, not neutral ("L1-N" is)
    return [g for g in groups if not (len(g.names) == 1 and g.names[0].lower() == "n")]


def _canon_points(names: list[str]) -> tuple[str, ...]:
    return canonical_points([_POINT_ALIASES.get(n.lower(), n) for n in names])


def _open_candidates(text: str, taken: _Taken, sentences: list[_Sentence]) -> list[_Candidate]:
    out: list[_Candidate] = []
    starts = [s.lo for s in sentences]

    def add(a: int, b: int) -> None:
        out.append(_Candidate(a, b, "resistance", None, "ohm", True, None))
        taken.take(a, b)

    for m in _OPEN_STRONG.finditer(text):
        if m.group(0).lower().startswith("open") and _OCV.match(text, m.end()):
            continue  # "open-circuit voltage"
        if _NEGATED.search(text, max(0, m.start() - 12), m.start()):
            continue  # "not open circuit"
        if taken.free(m.start(), m.end()):
            add(m.start(), m.end())

    for m in _OPEN_WEAK.finditer(text):
        if not taken.free(m.start(), m.end()):
            continue
        if _WEAK_BEFORE.search(text, max(0, m.start() - 12), m.start()):
            continue  # "not open", "to open"
        if _WEAK_AFTER.match(text, m.end()) and not _CONTEXT.search(m.group(0)):
            continue  # "open the cover", "open cabinet" (but "infinite ohms to earth")
        i = bisect_right(starts, m.start()) - 1
        if i < 0:
            continue
        sent = sentences[i]
        a, b = sent.subclause(m.start(), m.end())
        if b - a < 80 and _FILLER.match(text[a : m.start()] + " " + text[m.end() : b]):
            a, b = sent.lo, sent.hi  # "checked PP-PE with the meter, open."
        if (
            _CONTEXT.search(m.group(0))
            or sent.has_context(a, b, (m.start(), m.end()))
            or sent.has_group(a, b)
        ):
            add(m.start(), m.end())
    return out


def _attach_points(sent: _Sentence, cands: list[_Candidate]) -> None:
    if not cands:
        return
    text = sent.text
    ends = [c.end for c in cands]
    starts = [c.start for c in cands]
    for g in sent.groups:
        i = bisect_right(ends, g.start) - 1  # last reading ending before the run
        j = bisect_left(starts, g.end)  # first reading starting after it
        prev = cands[i] if i >= 0 else None
        nxt = cands[j] if j < len(cands) else None
        target: _Candidate | None
        if g.trailing:
            glued = prev is not None and _CLAUSE_PUNCT.search(text, prev.end, g.start) is None
            target = prev if (glued or nxt is None) else nxt
        else:
            target = nxt if nxt is not None else prev
        if target is not None:
            target.points.extend(g.names)
    for k in range(1, len(cands)):
        c, p = cands[k], cands[k - 1]
        if (
            not c.points
            and p.points
            and p.quantity == c.quantity
            and _INHERIT_STOP.search(text, p.end, c.start) is None
        ):
            c.points.extend(p.points)


# a place that is not a test point, named in the reading's clause
_PLACE = re.compile(
    r"\b(?:on|at|of|from|across)\s+(?:the\s+)?(?:station'?s?\s+|charger'?s?\s+|unit'?s?\s+)?"
    r"(?P<a>output|input|mains|supply|battery|outlet|load|grid)\b"
    r"|\b(?P<b>output|input|mains|supply|battery|grid)(?:\s+(?:voltage|volts|side))?"
    r"(?:\s+(?:is|was|reads?|at|of|shows?|showing))?\s*[:=]?\s*$",
    re.I,
)


def _place(sent: _Sentence, c: _Candidate) -> str:
    """ "zero volts on the output", "input 201v": where a reading that names no test
    point was taken, from the words right after it or right before it."""
    lo, hi = sent.subclause(c.start, c.end)
    after = _PLACE.match(sent.text, c.end, min(hi, c.end + 40))
    if after is None:
        after = _PLACE.search(sent.text[c.end : min(hi, c.end + 40)])
        after = after if after is not None and after.group("a") else None
    if after is not None:
        return (after.group("a") or after.group("b") or "").lower()
    before = _PLACE.search(sent.text[max(lo, c.start - 30) : c.start])
    return (before.group("a") or before.group("b") or "").lower() if before else ""


def _parse(text: str) -> list[Reading]:
    taken = _Taken(len(text))
    sentences = [_Sentence(text, lo, hi) for lo, hi in _sentence_bounds(text)]
    cands = _value_candidates(text, taken)
    cands += _open_candidates(text, taken, sentences)
    cands.sort(key=lambda c: c.start)
    cand_starts = [c.start for c in cands]
    places: dict[int, str] = {}
    for sent in sentences:
        a = bisect_left(cand_starts, sent.lo)
        b = bisect_left(cand_starts, sent.hi)
        _attach_points(sent, cands[a:b])
        for c in cands[a:b]:
            if not c.points and (where := _place(sent, c)):
                places[c.start] = where
    return [
        Reading(
            quantity=c.quantity,
            value=c.value,
            unit=c.unit,
            points=_canon_points(c.points),
            open_circuit=c.open_circuit,
            ac=c.ac,
            span=(c.start, c.end),
            text=text[c.start : c.end],
            place=places.get(c.start, ""),
        )
        for c in cands
        # "PP-PE 480s" is in the 480s, not 480 seconds: nothing measures a time
        # between two test points (the number is then read as a bare reading)
        if not (c.points and c.quantity == "duration" and _GLUED_S.search(text, c.start, c.end))
    ]


_GLUED_S = re.compile(r"\ds$")


def parse_readings(text: str) -> list[Reading]:
    """Meter readings in technician free text, in order of appearance. Never raises."""
    if not isinstance(text, str) or not text:
        return []
    try:
        return _parse(text)
    except Exception:  # a field tool must not crash on odd input (tests check _parse itself)
        return []


# --- readings without a unit ---------------------------------------------------------

# a number or a range of two, not glued to a unit ("got 480s": in the 480s)
_BARE_VALUE = (
    r"(?P<a>[-+\u2212]?\d+(?:[.,]\d+)?)(?:\s*(?:-|\u2013|to)\s*(?P<b>\d+(?:[.,]\d+)?))?"
    r"s?(?![\w.%\u00b0/])"
)

# "PP to PE 152", "CP reads 11.8", "PP-PE at rest 478": a few words saying in which
# condition it was measured may stand between the points and the number
_BARE = re.compile(
    r"\s*(?:(?i:at|rest|idle|standby|unplugged|plugged|in|out|pressed|released|button|"
    r"with|the|no|car|vehicle|cable|open|closed|off|on|cold|hot)\s+){0,3}?"
    r"(?:(?:reads?|reading|measures?|measured|is|was|at|=|:|of|shows?|showed|gives?|"
    r"~|about|approx\.?|around|roughly|only)\s*)*" + _BARE_VALUE
)


@dataclass(frozen=True)
class BareReading:
    """A number written after test points with no unit ("PP to PE 152", "CP 11.8"):
    the unit follows from what the manuals measure between those points."""

    points: tuple[str, ...]
    value: float
    span: tuple[int, int]
    text: str


# "expected PP-PE 150, got 480", "CP should be 9, reads 0": the number after the
# points is what it should be, the reading comes after "got" / "reads"
# the words that introduce what a value should be (also for a comparison below)
_REFERENCE_WORDS = (
    r"(?:expected|expecting|expect|should\s+be|supposed\s+to\s+be|nominal(?:ly)?|"
    r"rated(?:\s+at)?|spec(?:ified)?)"
)
_EXPECTED = re.compile(
    r"\b" + _REFERENCE_WORDS + r"\W*(?:(?:is|of|about|around|~)\s*)*$",
    re.I,
)
_SHOULD = re.compile(
    r"\s*(?:should\s+be|supposed\s+to\s+be|expected|is\s+expected\s+to\s+be)\s*"
    r"(?:about\s+|~\s*|around\s+)?(?P<a>[-+\u2212]?\d+(?:[.,]\d+)?)(?![\w.%\u00b0/])",
    re.I,
)
_GOT = re.compile(
    r"\W+(?:but\s+)?(?:got|getting|get|reads?|reading|measured|measures?|actual(?:ly)?|"
    r"instead)\s*(?:about\s+|~\s*|around\s+)?" + _BARE_VALUE,
    re.I,
)


def bare_readings(text: str, readings: list[Reading]) -> list[BareReading]:
    """Numbers right after a run of test points that no reading has taken ("PP to
    PE 152"; of "expected PP-PE 150, got 480" the number after "got")."""
    if not isinstance(text, str) or not text:
        return []
    taken = [r.span for r in readings]
    out: list[BareReading] = []
    for lo, hi in _sentence_bounds(text):
        for g in _groups(text, lo, hi):
            m = _BARE.match(text, g.end, hi) or _SHOULD.match(text, g.end, hi)
            if m and (
                _EXPECTED.search(text, max(lo, g.start - 20), g.start)
                or _EXPECTED.search(text, g.end, m.start("a"))
            ):
                m = _GOT.match(text, m.end(), hi)
            if not m or any(a < m.end() and m.start() < b for a, b in taken):
                continue
            try:
                a = float(m.group("a").replace(",", ".").replace("\u2212", "-"))
                b = float(m.group("b").replace(",", ".")) if m.group("b") else None
            except ValueError:
                continue
            value = (a + b) / 2 if b is not None else a
            if not math.isfinite(value):
                continue
            points = canonical_points([_POINT_ALIASES.get(n.lower(), n) for n in g.names])
            if points:
                span = (g.start, m.end())
                out.append(BareReading(points, value, span, text[g.start : m.end()].strip()))
    return out


# --- a value against the one the report says it should be ------------------------


@dataclass(frozen=True)
class Comparison:
    """A value the report sets against a reference it also states ("expected 230
    got 258", "268V at the input (nominal 240)", "208 svc reads 196"): the side of
    the reference the value lies on, beyond ``REFERENCE_TOLERANCE``."""

    side: str  # "above" | "below"
    quantity: str  # from a unit on either number; "" when neither has one
    value: float
    reference: float
    span: tuple[int, int]  # the value (and its unit)
    reference_span: tuple[int, int]  # the reference number (and its unit)


MAX_COMPARED = 12  # values per sentence
REFERENCE_TOLERANCE = 0.05  # within 5 % of what it should be is what it should be
_PLAUSIBLE = (0.5, 1.5)  # a number further from the reference measures something else
_NUM_UNIT = rf"(?<![\w.,])(?P<num>[-+]?{_NUM})(?:\s*(?P<unit>{UNIT_PATTERN})(?![a-zA-Z0-9]))?"
_REF_BEFORE = re.compile(
    r"\b" + _REFERENCE_WORDS + r"\s*(?:(?:is|of|at|about|around|~|:|=)\s*)?" + _NUM_UNIT,
    re.I,
)
_REF_AFTER = re.compile(
    _NUM_UNIT + r"\s*(?:nominal|svc|service|supply|system|rated)\b",
    re.I,
)
_VALUE_AFTER_VERB = re.compile(
    r"\b(?:got|getting|gets|reads?|reading|measured|measures?|metered|metering|shows?|"
    r"showing|showed|drops?\s+to|dropped\s+to|falls?\s+to|fell\s+to|sags?\s+to|"
    r"sagged\s+to|rises?\s+to|rose\s+to|goes\s+to|went\s+to|at|is|was|actual(?:ly)?)"
    r"\s*(?:(?:about|around|approx\.?|roughly|only|~)\s*)?" + _NUM_UNIT,
    re.I,
)


def _number(m: re.Match[str]) -> tuple[float, str] | None:
    """The number of a match in the canonical unit, and its quantity ("" if none)."""
    try:
        v = float(m.group("num").replace(",", "."))
    except ValueError:
        return None
    spelling = m.group("unit")
    if not spelling:
        return (v, "") if math.isfinite(v) else None
    canon = canonical_unit(spelling)
    if canon is None:
        return None
    _unit, quantity, factor = canon
    v *= factor
    return (v, quantity) if math.isfinite(v) else None


def _value_span(m: re.Match[str]) -> tuple[int, int]:
    return m.start("num"), m.end("unit") if m.group("unit") else m.end("num")


def comparisons(text: str) -> list[Comparison]:
    """Values the report compares with a reference it states in the same sentence.
    Never raises.

    >>> [(c.side, c.value, c.reference) for c in comparisons("expected 230 got 258 P-N")]
    [('above', 258.0, 230.0)]
    >>> [(c.side, c.value) for c in comparisons("208 svc reads 196 at idle, drops to 178")]
    [('below', 196.0), ('below', 178.0)]
    >>> [c.quantity for c in comparisons("metered 268V L1-L2 at the input (nominal 240)")]
    ['voltage']
    >>> comparisons("expected 230 got 233"), comparisons("4 units on a 240 supply")
    ([], [])
    """
    if not isinstance(text, str) or not text:
        return []
    try:
        return _comparisons(text)
    except Exception:  # a field tool must not crash on odd input
        return []


def _comparisons(text: str) -> list[Comparison]:
    out: list[Comparison] = []
    for lo, hi in _sentence_bounds(text):
        # the whole of "nominal 240" goes; of "208 svc" the number ("svc" says where)
        refs = [
            (m.span() if pattern is _REF_BEFORE else _value_span(m), n)
            for pattern in (_REF_BEFORE, _REF_AFTER)
            for m in pattern.finditer(text, lo, hi)
            if (n := _number(m)) is not None and n[0] > 0
        ]
        if not refs:
            continue
        (r_lo, r_hi), (ref, ref_q) = refs[0]
        values: list[tuple[tuple[int, int], tuple[float, str]]] = []
        for pattern in (_VALUE_AFTER_VERB, _VALUE):
            for m in pattern.finditer(text, lo, hi):
                span = _value_span(m)
                n = _number(m)
                if n is None or any(a < span[1] and span[0] < b for (a, b), _n in refs):
                    continue
                if any(a < span[1] and span[0] < b for (a, b), _n in values):
                    continue
                values.append((span, n))
                if len(values) >= MAX_COMPARED:
                    break  # a sentence of numbers is a table pasted in, not a report
        for span, (value, q) in sorted(values):
            if q and ref_q and q != ref_q:
                continue
            if not _PLAUSIBLE[0] * ref <= value <= _PLAUSIBLE[1] * ref:
                continue
            if abs(value - ref) <= REFERENCE_TOLERANCE * ref:
                continue
            side = "above" if value > ref else "below"
            out.append(Comparison(side, q or ref_q, value, ref, span, (r_lo, r_hi)))
    return out
