"""Record types of the knowledge base.

Every record is a frozen dataclass carrying ``source``: the manual file and the
1-based inclusive line range its text came from (markdown-it ``Token.map``).
``to_json``/``from_json`` give the export shape of DESIGN.md.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal

from kb.errors import KBError


@dataclass(frozen=True)
class Source:
    path: str
    line_start: int
    line_end: int

    def cite(self) -> str:
        return f"{self.path}:{self.line_start}"


@dataclass(frozen=True)
class OutlineBlock:
    """One block of a manual, in order, for regenerating it: a heading, verbatim
    Markdown (prose the knowledge base keeps as written), a reference to the
    records a block was compiled into ("meta", "triggers:<id>", "table:tools",
    "step:<id>", "steplist:<id>"), or a *template*: the block's Markdown with the
    texts it was compiled into replaced by ``{{record-id#field}}`` placeholders, so
    the regenerated block says what the records say, in the block's own layout."""

    kind: Literal["heading", "raw", "ref", "template"]
    text: str
    level: int = 0


@dataclass(frozen=True)
class Manual:
    id: str
    title: str
    equipment: str
    document_type: str
    component_category: str
    target_part: str
    error_codes: tuple[str, ...]
    revision: str
    date: str
    front_matter: tuple[tuple[str, str], ...]
    source: Source
    outline: tuple[OutlineBlock, ...] = ()


# How an identifier of a fault is written: a code ("E12", "CONNLEVEL_5", "CP-ERR-RET",
# "BmsConnectionLost"), a message or log line ("ERROR: NO PILOT"), a light pattern
# ("Green slow blink"), or a named state ("State E/F").
CodeShape = Literal["code", "message", "led", "state"]
# Where a code comes from: a manual, the OCPP ChargePointErrorCode list, ChargeX MREC.
CodeOrigin = Literal["manual", "ocpp", "mrec"]


@dataclass(frozen=True)
class ErrorCode:
    id: str
    code: str
    equipment: str
    manual: str
    conditions: tuple[str, ...]
    source: Source
    shape: CodeShape = "code"
    origin: CodeOrigin = "manual"
    text: str = ""  # the identifier as written around the code, when it says more


@dataclass(frozen=True)
class Symptom:
    id: str
    manual: str
    text: str
    source: Source


@dataclass(frozen=True)
class Cause:
    id: str
    manual: str
    title: str
    component: str
    equipment: str
    error_codes: tuple[str, ...]
    prior: float
    prior_basis: str
    notes: str
    remedy: str
    source: Source
    tests: tuple[str, ...] = ()  # steps that test this cause (step ids)
    fixes: tuple[str, ...] = ()  # steps that fix it
    # "stated": the document names this cause; "fault": the document describes a
    # fault and what to do but names no cause, so the fault itself stands for it
    kind: CauseKind = "stated"


CauseKind = Literal["stated", "fault"]
Polarity = Literal["for", "against"]
EvidenceKind = Literal["symptom", "condition", "note", "statement", "context", "measurement"]


@dataclass(frozen=True)
class Evidence:
    """An observable thing that speaks for (or against) a cause.

    ``text`` is what the technician would observe; ``strength`` is a
    likelihood ratio (> 1 for, < 1 against).
    """

    id: str
    manual: str
    kind: EvidenceKind
    text: str
    cause: str
    strength: float
    polarity: Polarity
    source: Source


When = Literal["low", "high", "open", "zero", "in_range", "equals"]


@dataclass(frozen=True)
class Implication:
    """What a reading outside (or inside) the expected range implies."""

    when: When
    text: str
    cause: str  # cause id ('' when the manual names no cause)
    value: float | None = None


# The state of the equipment a reading is taken in, when the document names one
# (set at ingest from the condition's words, read by the reading rules): standby
# (idle, nothing connected), at rest / actuated (a button or switch released or
# pressed), moving (while a mechanism travels).
MeasureState = Literal["", "standby", "at rest", "actuated", "moving"]
MEASURE_STATES: tuple[MeasureState, ...] = ("", "standby", "at rest", "actuated", "moving")


@dataclass(frozen=True)
class Measurement:
    id: str
    manual: str
    quantity: str  # voltage, resistance, torque, duration, signal, ...
    points: tuple[str, ...]  # canonical test points, e.g. ("CP", "PE")
    unit: str  # canonical unit: V, ohm, Nm, s, bar
    low: float | None
    high: float | None
    condition: str  # in the document's words, e.g. "standby", "cable release button at rest"
    text: str
    implications: tuple[Implication, ...]
    source: Source
    state: MeasureState = ""  # the state the condition names (typed, for the rules)


# What a step is, set once at ingest from its content and read downstream (the
# planner orders remote -> on site -> lockout -> cabinet work -> restore ->
# verification, engine/plan.py STAGES):
#   remote       portal, app, configuration or a call; nobody on site
#   inspection   look, check, listen on site, nothing opened
#   measurement  a meter reading on site
#   lockout      lockout/tagout and proving dead
#   cabinet      work inside the opened enclosure (needs the lockout)
#   repair       replace, reseat, adjust, tighten, reset on site
#   restore      remove the lockout, power back on (a step of its own)
#   verification test, confirm the fix (a checklist may restore power first)
#   automatic    what the equipment does by itself (stated, not performed)
StepKind = Literal[
    "remote",
    "inspection",
    "measurement",
    "lockout",
    "cabinet",
    "repair",
    "restore",
    "verification",
    "automatic",
]
STEP_KINDS: tuple[StepKind, ...] = typing.get_args(StepKind)


@dataclass(frozen=True)
class Step:
    id: str
    manual: str
    number: str
    title: str
    substeps: tuple[str, ...]
    requires: tuple[str, ...]
    tools: tuple[str, ...]
    parts: tuple[str, ...]
    requires_lockout: bool
    minutes: float
    source: Source
    kind: StepKind = "repair"
    # where ``minutes`` comes from: "manual" (the document says), "sidecar" (the
    # knowledge file beside the manual), or "estimated: <basis>"
    minutes_basis: str = "estimated"


@dataclass(frozen=True)
class Tool:
    id: str
    manual: str
    name: str
    specification: str
    purpose: str
    source: Source


@dataclass(frozen=True)
class Part:
    id: str
    manual: str
    name: str
    specification: str
    purpose: str
    variants: tuple[str, ...]
    variant_basis: str
    source: Source


@dataclass(frozen=True)
class SafetyRule:
    id: str
    manual: str
    work: str
    lockout: bool | None  # True: LOTO required, False: explicitly not required, None: PPE etc.
    ppe: tuple[str, ...]
    voltages: tuple[str, ...]
    text: str
    source: Source


@dataclass(frozen=True)
class LexiconEntry:
    """Curated synonyms: every phrase in ``phrases`` means ``canonical``;
    ``object``: the assembly the component ``canonical`` names belongs to ("" when
    it names no component)."""

    canonical: str
    phrases: tuple[str, ...]
    source: Source
    object: str = ""
    scope: tuple[str, ...] = ()  # the components these synonyms hold for (all when empty)
    required: bool = False  # a text about this component meets only reports naming it


@dataclass(frozen=True)
class ContextRule:
    """Curated rule: a site event or context phrase is evidence for a cause."""

    id: str
    phrases: tuple[str, ...]
    cause: str
    strength: float
    explanation: str
    source: Source  # the manual line the rule rests on
    defined_at: Source  # where in kb/curated the rule is written


@dataclass(frozen=True)
class CodeAlias:
    """Curated: an OCPP error code that means a station's own code."""

    code: str
    means: str
    source: Source
    defined_at: Source


@dataclass(frozen=True)
class StepCost:
    step: str
    minutes: float
    assumption: str
    defined_at: Source


@dataclass(frozen=True)
class SerialFormat:
    """A serial-number shape a manual dates a hardware generation by ("Gen 2, serial
    numbers > WB-2XXXX"): ``template`` as written, X standing for any letter or
    digit; the character at ``position`` is the generation digit."""

    id: str
    manual: str
    template: str
    generation: int
    position: int
    source: Source


RECORD_TYPES: dict[str, type[Any]] = {
    "manuals": Manual,
    "error_codes": ErrorCode,
    "symptoms": Symptom,
    "causes": Cause,
    "evidence": Evidence,
    "measurements": Measurement,
    "steps": Step,
    "tools": Tool,
    "parts": Part,
    "safety": SafetyRule,
    "serial_formats": SerialFormat,
}


@dataclass(frozen=True)
class KnowledgeBase:
    manuals: tuple[Manual, ...] = ()
    error_codes: tuple[ErrorCode, ...] = ()
    symptoms: tuple[Symptom, ...] = ()
    causes: tuple[Cause, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    measurements: tuple[Measurement, ...] = ()
    steps: tuple[Step, ...] = ()
    tools: tuple[Tool, ...] = ()
    parts: tuple[Part, ...] = ()
    safety: tuple[SafetyRule, ...] = ()
    serial_formats: tuple[SerialFormat, ...] = ()
    lexicon: tuple[LexiconEntry, ...] = ()
    context_rules: tuple[ContextRule, ...] = ()
    step_costs: tuple[StepCost, ...] = ()
    code_aliases: tuple[CodeAlias, ...] = ()
    _index: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def cause(self, cause_id: str) -> Cause:
        idx = self._index.get("causes")
        if idx is None:
            idx = {c.id: c for c in self.causes}
            self._index["causes"] = idx
        try:
            return typing.cast(Cause, idx[cause_id])
        except KeyError:
            raise KBError(f"unknown cause id {cause_id!r}") from None

    def manual(self, manual_id: str) -> Manual:
        for m in self.manuals:
            if m.id == manual_id:
                return m
        raise KBError(f"unknown manual id {manual_id!r}")

    def summary(self) -> dict[str, int]:
        return {name: len(getattr(self, name)) for name in RECORD_TYPES}


# ---------------------------------------------------------------- JSON


def _to_plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_to_plain(v) for v in value]
    return value


def record_to_json(record: Any) -> dict[str, Any]:
    out = _to_plain(record)
    assert isinstance(out, dict)
    if isinstance(record, Manual):
        out["front_matter"] = dict(record.front_matter)
    return out


def kb_to_json(kb: KnowledgeBase, *, curated: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        name: [record_to_json(r) for r in getattr(kb, name)] for name in RECORD_TYPES
    }
    if curated:
        out["curated"] = {
            "lexicon": [_to_plain(e) for e in kb.lexicon],
            "context_rules": [_to_plain(e) for e in kb.context_rules],
            "step_costs": [_to_plain(e) for e in kb.step_costs],
            "code_aliases": [_to_plain(e) for e in kb.code_aliases],
        }
    return out


@functools.cache
def _fields_of(tp: type) -> tuple[tuple[str, Any], ...]:
    """(name, resolved type) of a record's init fields; resolving the hints is far
    dearer than building a record, so it is done once per class."""
    hints = typing.get_type_hints(tp)
    return tuple((f.name, hints[f.name]) for f in dataclasses.fields(tp) if f.init)


def _from_plain(tp: Any, value: Any) -> Any:
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return tp(
            **{
                name: _from_plain(hint, value[name])
                for name, hint in _fields_of(tp)
                if name in value
            }
        )
    origin = typing.get_origin(tp)
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_from_plain(args[0], v) for v in value)
        return tuple(_from_plain(a, v) for a, v in zip(args, value, strict=True))
    if origin in (types.UnionType, typing.Union):
        return value
    return value


def kb_from_json(data: dict[str, Any]) -> KnowledgeBase:
    kwargs: dict[str, Any] = {}
    for name, tp in RECORD_TYPES.items():
        rows = []
        for row in data.get(name, []):
            row = dict(row)
            if tp is Manual:
                row["front_matter"] = [list(kv) for kv in row.get("front_matter", {}).items()]
            rows.append(_from_plain(tp, row))
        kwargs[name] = tuple(rows)
    cur = data.get("curated", {})
    kwargs["lexicon"] = tuple(_from_plain(LexiconEntry, r) for r in cur.get("lexicon", []))
    kwargs["context_rules"] = tuple(
        _from_plain(ContextRule, r) for r in cur.get("context_rules", [])
    )
    kwargs["step_costs"] = tuple(_from_plain(StepCost, r) for r in cur.get("step_costs", []))
    kwargs["code_aliases"] = tuple(_from_plain(CodeAlias, r) for r in cur.get("code_aliases", []))
    return KnowledgeBase(**kwargs)


_SLUG = re.compile(r"[^a-z0-9]+")


def slug(text: str, max_len: int = 48) -> str:
    s = _SLUG.sub("-", text.lower()).strip("-")
    if len(s) > max_len:
        s = s[:max_len].rsplit("-", 1)[0]
    return s or "x"
