"""Units and test points as technicians and manuals write them, canonicalised.

Shared by ingest (expected ranges in manuals) and the engine (meter readings)."""

from __future__ import annotations

import re

# canonical unit -> (quantity, multiplier to canonical) for each spelling
UNITS: dict[str, tuple[str, str, float]] = {}


def _add(spellings: str, unit: str, quantity: str, factor: float = 1.0) -> None:
    for s in spellings.split("|"):
        UNITS[s] = (unit, quantity, factor)


_add("v|volt|volts|vdc|vac|v dc|v ac", "V", "voltage")
_add("mv|millivolt|millivolts", "V", "voltage", 1e-3)
_add("kv", "V", "voltage", 1e3)
_add("ω|ohm|ohms|Ω|r", "ohm", "resistance")
_add("kω|kohm|kohms|k|kΩ|k ohm|k ohms|kilohm|kilohms", "ohm", "resistance", 1e3)
_add("mω|mohm|megohm|megohms|MΩ", "ohm", "resistance", 1e6)
_add("nm|n·m|n-m|newton metres|newton meters", "Nm", "torque")
_add("s|sec|secs|second|seconds", "s", "duration")
_add("min|mins|minute|minutes", "s", "duration", 60.0)
_add("h|hr|hrs|hour|hours", "s", "duration", 3600.0)
_add("bar|bars", "bar", "signal")
_add("a|amp|amps|ampere|amperes", "A", "current")
_add("ma", "A", "current", 1e-3)
_add("kw", "W", "power", 1e3)
_add("w|watt|watts", "W", "power")
_add("khz|kilohertz", "Hz", "frequency", 1e3)
_add("hz", "Hz", "frequency")

UNIT_PATTERN = (
    r"(?:k\s?ohms?|kΩ|kω|kilohms?|megohms?|MΩ|mω|ohms?|Ω|ω|"
    r"mv|millivolts?|kv|v\s?dc|v\s?ac|vdc|vac|volts?|v|"
    r"n[·-]?m|newton[- ]met(?:er|re)s|"
    r"seconds?|secs?|minutes?|mins?|hours?|hrs?|s|h|"
    r"bars?|amps?|amperes?|ma|a|kw|watts?|w|khz|hz|k)"
)


def canonical_unit(spelling: str) -> tuple[str, str, float] | None:
    s = re.sub(r"\s+", " ", spelling.strip()).replace("Ω", "ω")
    s = s.lower()
    return UNITS.get(s) or UNITS.get(s.replace(" ", ""))


POINTS: dict[str, str] = {
    "cp": "CP",
    "control pilot": "CP",
    "pilot": "CP",
    "pp": "PP",
    "proximity pilot": "PP",
    "proximity": "PP",
    "pe": "PE",
    "ground": "PE",
    "gnd": "PE",
    "earth": "PE",
    "protective earth": "PE",
    "l1": "L1",
    "l2": "L2",
    "n": "N",
    "neutral": "N",
}

POINT_PATTERN = (
    r"(?:control pilot|proximity pilot|protective earth|proximity|pilot|neutral|ground|gnd|"
    r"earth|cp|pp|pe|l1|l2)"
)
_ORDER = {"CP": 0, "PP": 1, "L1": 2, "L2": 3, "N": 4, "PE": 5}


def canonical_points(names: list[str]) -> tuple[str, ...]:
    out: list[str] = []
    for n in names:
        p = POINTS.get(re.sub(r"\s+", " ", n.lower().strip()))
        if p and p not in out:
            out.append(p)
    return tuple(sorted(out, key=lambda p: _ORDER.get(p, 9)))
