"""Vocabulary of the synthetic manuals: brands, components, parts, failure modes,
tools and meter readings, read from ``bench/vocab.yaml`` (the data; this module
gives it its types).

A synthetic cause is one *part* of a component failing in one *mode* compatible
with the part's kind (mechanical, electrical, electronic): "Retractor spring
broken", "Contactor coil open circuit". Each part says what the technician sees
when it fails (``effect``, in the manual's wording, and ``effect_alt``, in field
wording), each mode adds a detail, so a cause's symptom row and the probes that
paraphrase it share the words a real report would share, and no more.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

Kind = str  # "mech" | "elec" | "elex" (hardware electronics) | "soft" (firmware, settings)
KINDS: tuple[Kind, ...] = ("mech", "elec", "elex", "soft")

VOCABULARY = Path(__file__).with_name("vocab.yaml")


@dataclass(frozen=True)
class PartSpec:
    name: str  # as the manual names it: "retractor spring"
    short: str  # as a technician names it: "spring"
    kind: Kind
    effect: str  # what is seen when it fails, manual wording
    effect_alt: str  # the same, field wording (used by probes only)


@dataclass(frozen=True)
class ModeSpec:
    key: str
    kinds: tuple[Kind, ...]  # the part kinds this failure mode applies to
    title: str  # "{P} broken" ({P}: part name, capitalised)
    adj: str  # "a broken {p}" for causal prose
    detail: str  # manual wording, "{p}" = part name
    detail_alt: str  # field wording, "{s}" = part short name
    note: str  # context for the cause/notes table
    remedy: str  # imperative, for the symptom table's tail


@dataclass(frozen=True)
class ReadingSpec:
    """A meter reading the procedure asks for, with what an out-of-range value means."""

    lead: str  # sentence before the expected range (may be empty)
    expect: str  # "Measure ...: expect {lo}-{hi}V DC." ({lo}, {hi} filled per manual)
    fault: str  # "If CP voltage is 0V, suspect the {cause}."
    probe: str  # a technician's reading that is out of range: "CP to ground reads 0 V"
    lo: float
    hi: float
    nudge: bool = True  # vary the range slightly per manual


@dataclass(frozen=True)
class ComponentSpec:
    category: str
    code: str  # error-code infix
    slug: str
    target: str
    intro: tuple[str, ...]  # identification prose; "{model}" = equipment name
    parts: tuple[PartSpec, ...]
    tools: tuple[tuple[str, str, str], ...]  # (tool, specification, purpose)
    readings: tuple[ReadingSpec, ...]
    signals: str  # what the trigger conditions watch: "the cable position sensor"


def _component(c: dict[str, Any], shared: dict[str, ReadingSpec]) -> ComponentSpec:
    readings = tuple(shared[r] if isinstance(r, str) else ReadingSpec(**r) for r in c["readings"])
    tools = tuple((str(t), str(spec), str(purpose)) for t, spec, purpose in c["tools"])
    return ComponentSpec(
        c["category"],
        c["code"],
        c["slug"],
        c["target"],
        tuple(c["intro"]),
        tuple(PartSpec(**p) for p in c["parts"]),
        tools,
        readings,
        c["signals"],
    )


def _load(path: Path) -> dict[str, Any]:
    loader = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader
    data: dict[str, Any] = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    return data


_DATA = _load(VOCABULARY)

BRANDS: tuple[tuple[str, str], ...] = tuple((name, code) for name, code in _DATA["brands"])
SERIES_LETTERS: str = _DATA["series_letters"]
CLASSES: tuple[str, ...] = tuple(_DATA["classes"])
FREQUENCY_WORDS: tuple[str, ...] = tuple(_DATA["frequency_words"])
PROBE_PREFIXES: tuple[str, ...] = tuple(_DATA["probe_prefixes"])
PROBE_SUFFIXES: tuple[str, ...] = tuple(_DATA["probe_suffixes"])
MODES: tuple[ModeSpec, ...] = tuple(
    ModeSpec(**{**m, "kinds": tuple(m["kinds"])}) for m in _DATA["modes"]
)
_SHARED_READINGS = {name: ReadingSpec(**r) for name, r in _DATA["readings"].items()}
COMPONENTS: tuple[ComponentSpec, ...] = tuple(
    _component(c, _SHARED_READINGS) for c in _DATA["components"]
)
MODES_BY_KIND: dict[Kind, tuple[ModeSpec, ...]] = {
    k: tuple(m for m in MODES if k in m.kinds) for k in KINDS
}
