"""Values a document states, in any common form: ``12 V``, ``−12 V`` (a Unicode
minus keeps its sign), ``+9V ±1``, ``11.5-12.5V``, ``between 12V and 13V``,
``at least 5 s, at most 8 s``, ``~10s``, ``<40°C``, ``under 11V``, ``1k5``,
``500kBaud``, ``100uF``, ``8.6%``; with the comparator that bounds them.

>>> [(v.low, v.high, v.unit) for v in stated_values("expect 11.5-12.5V DC")]
[(11.5, 12.5, 'V')]
>>> [(v.low, v.high) for v in stated_values("+9V ±1")]
[(8.0, 10.0)]
>>> [(v.low, v.high) for v in stated_values("does not reach −12 V")]
[(-12.0, -12.0)]
>>> [(v.low, v.high, v.unit) for v in stated_values("between 12V and 13V")]
[(12.0, 13.0, 'V')]
>>> [(v.low, v.high, v.bound) for v in stated_values("Under 11V it is dead")]
[(None, 11.0, 'below')]
>>> text = "approximately 30 seconds (at least 20, but at most 40)"
>>> [(v.low, v.high, v.unit) for v in stated_values(text)]
[(20.0, 40.0, 's')]
>>> [(v.low, v.unit) for v in stated_values("PP 1k5 plug")]
[(1500.0, 'ohm')]
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

# spelling -> (canonical unit, quantity, factor)
_UNITS: dict[str, tuple[str, str, float]] = {}


def _add(spellings: str, unit: str, quantity: str, factor: float = 1.0) -> None:
    for s in spellings.split("|"):
        _UNITS[s.lower()] = (unit, quantity, factor)


_add("v|volt|volts|vdc|vac|v dc|v ac", "V", "voltage")
_add("mv|millivolt|millivolts", "V", "voltage", 1e-3)
_add("kv", "V", "voltage", 1e3)
_add("a|amp|amps|ampere|amperes", "A", "current")
_add("ma|milliamp|milliamps", "A", "current", 1e-3)
_add("ω|ohm|ohms|r", "ohm", "resistance")
_add("kω|kohm|kohms|k ohm|k ohms|kilohm|kilohms", "ohm", "resistance", 1e3)
_add("mω|megohm|megohms", "ohm", "resistance", 1e6)
_add("w|watt|watts", "W", "power")
_add("kw|kilowatt|kilowatts", "W", "power", 1e3)
_add("wh", "Wh", "energy")
_add("kwh", "Wh", "energy", 1e3)
_add("hz|hertz", "Hz", "frequency")
_add("khz|kilohertz", "Hz", "frequency", 1e3)
_add("ms|msec|millisecond|milliseconds", "s", "duration", 1e-3)
_add("s|sec|secs|second|seconds|sekunder|sekund", "s", "duration")
_add("min|mins|minute|minutes|minutter", "s", "duration", 60.0)
_add("h|hr|hrs|hour|hours|timer", "s", "duration", 3600.0)
_add("day|days|dager", "s", "duration", 86400.0)
_add("year|years|ar", "s", "duration", 31557600.0)
_add("%|percent|prosent", "%", "percent")
_add("°c|ºc|degc|degrees c|c", "°C", "temperature")
_add("°f|ºf", "°F", "temperature")
_add("baud|bd|bps", "baud", "data rate")
_add("kbaud|kbps|kbit/s", "baud", "data rate", 1e3)
_add("mbaud|mbps|mbit/s", "baud", "data rate", 1e6)
_add("uf|µf|μf", "F", "capacitance", 1e-6)
_add("nf", "F", "capacitance", 1e-9)
_add("pf", "F", "capacitance", 1e-12)
_add("nm|n·m|n-m", "Nm", "torque")
_add("bar|bars", "bar", "signal")
_add("awg", "AWG", "wire gauge")
_add("mm", "m", "length", 1e-3)
_add("cm", "m", "length", 1e-2)
_add("m", "m", "length")
_add("inch|inches|in", "m", "length", 0.0254)
_add("ft|foot|feet", "m", "length", 0.3048)

_UNIT = (
    r"(?:kwh|wh|kw|kilowatts?|watts?|w|k\s?ohms?|kω|kΩ|kilohms?|megohms?|MΩ|mω|ohms?|Ω|ω|"
    r"mv|millivolts?|kv|v\s?dc|v\s?ac|vdc|vac|volts?|v|"
    r"milliamps?|ma|amperes?|amps?|a|khz|kilohertz|hz|hertz|"
    r"milliseconds?|msec|ms|seconds?|secs?|sekunder|sekund|s|minutes?|minutter|mins?|min|"
    r"hours?|hrs?|h|days?|dager|years?|"
    r"%|percent|prosent|[°º]\s?[cf]|degc|"
    r"kbaud|mbaud|baud|kbps|mbps|bps|kbit/s|mbit/s|"
    r"[uµμ]f|nf|pf|n[·-]?m|bars?|awg|mm|cm|inch(?:es)?|ft|feet|foot)"
)
_NUM = r"\d+(?:[.,]\d+)?"
_SIGN = r"[-+\u2212]"
_DASH = r"\s*(?:-|\u2013|\u2014|to|til|\.\.\.?|…)\s*"
_VALUE = re.compile(
    rf"(?<![\w.,])(?P<sign>{_SIGN})?(?P<a>{_NUM})\s*(?P<ua>{_UNIT})?"
    rf"(?:{_DASH}(?P<sign2>{_SIGN})?(?P<b>{_NUM})\s*(?P<ub>{_UNIT})?)?"
    rf"(?:\s*(?:±|\+/-|\+-)\s*(?P<tol>{_NUM})\s*(?P<ut>{_UNIT})?)?"
    r"(?![\w.])",
    re.I,
)
_BETWEEN = re.compile(
    rf"\bbetween\s+(?P<sign>{_SIGN})?(?P<a>{_NUM})\s*(?P<ua>{_UNIT})?\s+and\s+"
    rf"(?P<sign2>{_SIGN})?(?P<b>{_NUM})\s*(?P<ub>{_UNIT})\b",
    re.I,
)
_LEAST_MOST = re.compile(
    rf"\bat\s+least\s+(?P<a>{_NUM})\s*(?P<ua>{_UNIT})?[^.;]{{0,40}}?\bat\s+most\s+(?P<b>{_NUM})"
    rf"\s*(?P<ub>{_UNIT})?",
    re.I,
)
_CODE = re.compile(r"(?<![\w.,])(?P<a>\d+)(?P<mult>[kKM])(?P<b>\d+)(?![\w.])")
_BELOW = re.compile(
    r"(?:<|≤|\bunder|\bbelow|\bless\s+than|\blower\s+than|\bat\s+most|\bup\s+to|\bmax(?:imum)?\.?"
    r"|\bunder\s+)\s*$",
    re.I,
)
_ABOVE = re.compile(
    r"(?:>|≥|\bover|\babove|\bmore\s+than|\bhigher\s+than|\bat\s+least|\bmin(?:imum)?\.?)\s*$",
    re.I,
)
_OR_LESS = re.compile(r"^\s*(?:or\s+(?:less|lower|fewer|below)|and\s+(?:below|under))\b", re.I)
_OR_MORE = re.compile(
    r"^\s*(?:or\s+(?:more|higher|above|greater|longer)|and\s+(?:above|over)|\+)", re.I
)

_DIGIT = re.compile(r"\d")  # every value above is written with digits

Bound = Literal["exact", "range", "below", "above"]


@dataclass(frozen=True)
class Value:
    low: float | None
    high: float | None
    unit: str
    quantity: str
    bound: Bound
    span: tuple[int, int]
    text: str


def _unit(spelling: str | None) -> tuple[str, str, float] | None:
    if not spelling:
        return None
    s = re.sub(r"\s+", " ", spelling.strip().lower()).replace("Ω", "ω").replace("º", "°")
    return _UNITS.get(s) or _UNITS.get(s.replace(" ", ""))


def _num(sign: str | None, text: str) -> float:
    v = float(text.replace(",", "."))
    return -v if sign in ("-", "\u2212") else v


def _finite(*vals: float | None) -> bool:
    return all(v is None or math.isfinite(v) for v in vals)


def stated_values(text: str) -> list[Value]:
    """Every value with a unit in ``text``, in order; bare numbers are not values."""
    out: list[Value] = []
    if not _DIGIT.search(text):
        return out
    taken: list[tuple[int, int]] = []

    def free(a: int, b: int) -> bool:
        return all(b <= x or a >= y for x, y in taken)

    for pat in (_LEAST_MOST, _BETWEEN):
        for m in pat.finditer(text):
            unit = _unit(m.group("ub")) or _unit(m.group("ua"))
            if unit is None:
                continue
            canon, quantity, f = unit
            first = _num(m.groupdict().get("sign"), m.group("a")) * f
            second = _num(m.groupdict().get("sign2"), m.group("b")) * f
            if _finite(first, second):
                out.append(
                    Value(
                        min(first, second),
                        max(first, second),
                        canon,
                        quantity,
                        "range",
                        m.span(),
                        m.group(0),
                    )
                )
                taken.append(m.span())
    for m in _CODE.finditer(text):
        if not free(*m.span()):
            continue
        f = {"k": 1e3, "K": 1e3, "M": 1e6}[m.group("mult")]
        v = float(f"{m.group('a')}.{m.group('b')}") * f
        out.append(Value(v, v, "ohm", "resistance", "exact", m.span(), m.group(0)))
        taken.append(m.span())
    for m in _VALUE.finditer(text):
        if not free(*m.span()):
            continue
        unit = _unit(m.group("ub")) or _unit(m.group("ua")) or _unit(m.group("ut"))
        if unit is None:
            continue
        canon, quantity, f = unit
        if (
            quantity == "length"
            and m.group("ua")
            and m.group("ua").lower() in ("m", "in")
            and not m.group("b")
        ):
            continue  # "5 m" and "2 in" are too often words; take lengths only as ranges
        a = _num(m.group("sign"), m.group("a")) * f
        b = _num(m.group("sign2"), m.group("b")) * f if m.group("b") else None
        tol = float(m.group("tol").replace(",", ".")) * f if m.group("tol") else None
        if not _finite(a, b, tol):
            continue
        before, after = text[: m.start()], text[m.end() :]
        bound: Bound = "exact"
        lo: float | None = a
        hi: float | None = a
        if b is not None:
            lo, hi, bound = min(a, b), max(a, b), "range"
        elif tol is not None:
            lo, hi, bound = a - tol, a + tol, "range"
        elif _BELOW.search(before) or _OR_LESS.match(after):
            lo, hi, bound = None, a, "below"
        elif _ABOVE.search(before) or _OR_MORE.match(after):
            lo, hi, bound = a, None, "above"
        out.append(Value(lo, hi, canon, quantity, bound, m.span(), m.group(0).strip()))
        taken.append(m.span())
    out.sort(key=lambda v: v.span)
    # "approximately 30 seconds (at least 20, but at most 40)": the bounds, in the
    # unit of the value they qualify, replace it
    for lm in _LEAST_MOST.finditer(text):
        if _unit(lm.group("ub")) or _unit(lm.group("ua")):
            continue
        earlier = [x for x in out if x.span[1] <= lm.start()]
        if not earlier:
            continue
        q = earlier[-1]
        written = re.findall(_NUM, q.text)
        factor = q.low / _num(None, written[0]) if q.low and written else 1.0
        lo_b = float(lm.group("a").replace(",", ".")) * factor
        hi_b = float(lm.group("b").replace(",", ".")) * factor
        span = (q.span[0], lm.end())
        out[out.index(q)] = Value(
            lo_b, hi_b, q.unit, q.quantity, "range", span, text[span[0] : span[1]]
        )
    return out
