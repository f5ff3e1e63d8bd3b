"""What people read, as typed records: the work-order view (Markdown, HTML, the web
page, PDF) and the short diagnosis summary of the text CLI.

Both are built from a diagnosis result in the shape ``evkb diagnose --json`` prints
(DESIGN.md), which is also the snapshot a work order stores, so an order printed a
month later shows what was diagnosed then. Unknown ids of an old snapshot are shown
as they are rather than refused."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kb.schema import KnowledgeBase

USEFUL = 0.10  # a cause below this confidence is folded into "N other causes"
MAX_SHOWN = 5  # causes shown before the rest are folded
FIRST_STEPS = 3  # steps the text summary shows


@dataclass(frozen=True)
class Ref:
    path: str
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class EvidenceLine:
    polarity: str  # "for" or "against"
    kind: str
    observation: str
    matched: str
    source: str
    reason: str = ""  # symptom, reading, normal finding, action outcome, stated cue, ...
    similarity: float | None = None

    @property
    def how(self) -> str:
        """The kind of reasoning, with a symptom match's similarity: "symptom 0.82"."""
        what = self.reason or self.kind
        return f"{what} {self.similarity:.2f}" if self.similarity is not None else what


@dataclass(frozen=True)
class CauseCard:
    id: str
    title: str
    confidence: float
    evidence: tuple[EvidenceLine, ...]
    sources: tuple[Ref, ...]

    @property
    def percent(self) -> str:
        return f"{self.confidence * 100:.0f} %"


@dataclass(frozen=True)
class Folded:
    """The causes not worth reading one by one."""

    count: int
    code: str
    highest: float
    titles: tuple[str, ...]

    @property
    def text(self) -> str:
        """
        >>> Folded(5, "E7", 0.07, ()).text
        '5 other causes of E7, each at most 7 %'
        >>> Folded(1, "", 0.02, ()).text
        '1 other cause, at most 2 %'
        """
        what = "cause" if self.count == 1 else "causes"
        of = f" of {self.code}" if self.code else ""
        each = "each at most" if self.count > 1 else "at most"
        return f"{self.count} other {what}{of}, {each} {self.highest * 100:.0f} %"


@dataclass(frozen=True)
class ProcedureStep:
    id: str
    title: str
    minutes: float
    requires_lockout: bool
    reason: str  # "test", "fix", "prerequisite", "restore", "verification"
    causes: tuple[str, ...]
    source: Ref
    substeps: tuple[str, ...]
    kind: str = ""  # the step's kind (kb.schema.StepKind), "" for an old snapshot's


@dataclass(frozen=True)
class Lockout:
    """How the lockout is applied, as the procedure's lockout step says (its first
    sub-step: ingest finds the lockout step by it)."""

    step: str  # the lockout step's title
    instruction: str
    source: Ref


@dataclass(frozen=True)
class PartLine:
    id: str
    name: str
    variant: str
    variants: tuple[str, ...]
    variant_basis: str
    probability: float
    needed_if: tuple[str, ...]  # titles of the causes whose fix uses it


@dataclass(frozen=True)
class ToolLine:
    name: str
    specification: str


@dataclass(frozen=True)
class QuestionLine:
    text: str
    source: str
    kind: str
    ref: str
    separates: tuple[str, ...]
    purpose: str = ""  # "to tell A from B"
    unit: str = ""  # a reading's unit
    example: str = ""  # a reading in that unit

    @property
    def asked(self) -> str:
        """The question with its purpose, as the text output prints it."""
        return f"{self.text} ({self.purpose})" if self.purpose else self.text


@dataclass(frozen=True)
class PartUsed:
    name: str
    serial: str


@dataclass(frozen=True)
class RepairLog:
    """What a closed order was closed with."""

    root_cause: str  # the cause's title (its id when the KB no longer has it)
    cable_length: str
    parts: tuple[PartUsed, ...]
    notes: str
    closed_at: str


@dataclass(frozen=True)
class WorkOrderView:
    station: str
    port: int | None
    error: str
    observation: str
    equipment: str
    message: str
    causes: tuple[CauseCard, ...]  # every ranked cause, best first
    shown: tuple[CauseCard, ...]  # those worth reading one by one
    folded: Folded | None  # the rest
    procedure: tuple[ProcedureStep, ...]
    lockout_steps: tuple[str, ...]
    lockout: tuple[Lockout, ...]  # the lockout steps' own instructions
    safety: tuple[str, ...]
    parts: tuple[PartLine, ...]
    tools: tuple[ToolLine, ...]
    questions: tuple[QuestionLine, ...]
    verification: tuple[str, ...]
    minutes: float
    expected_minutes: float
    repair_log: RepairLog | None = None

    @property
    def top_cause(self) -> CauseCard | None:
        return self.causes[0] if self.causes else None

    @property
    def next_step(self) -> ProcedureStep | None:
        """The first step to do (verification comes last and is not one); none once
        the order is closed: its repair log says what was done."""
        if self.repair_log is not None:
            return None
        return next((s for s in self.procedure if s.reason != "verification"), None)

    def context(self) -> dict[str, Any]:
        """The template context: every field, plus ``top_cause`` and ``next_step``."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["top_cause"] = self.top_cause
        out["next_step"] = self.next_step
        return out


@dataclass(frozen=True)
class Summary:
    """The text answer of ``evkb diagnose``: the causes worth reading, the rest
    folded, the first steps and the next question."""

    message: str
    suggestions: tuple[str, ...]
    shown: tuple[CauseCard, ...]
    folded: Folded | None
    first_steps: tuple[ProcedureStep, ...]
    more_steps: int
    expected_minutes: float
    question: QuestionLine | None
    alternatives: tuple[QuestionLine, ...]


# ------------------------------------------------------------------ building


def fold(
    causes: Sequence[CauseCard], code: str = "", useful: float = USEFUL, most: int = MAX_SHOWN
) -> tuple[tuple[CauseCard, ...], Folded | None]:
    """The causes worth reading (the best always, then those at ``useful`` or more,
    at most ``most``) and the rest folded.

    >>> cs = [CauseCard(str(i), f"c{i}", p, (), ()) for i, p in enumerate([.5, .2, .07, .07])]
    >>> shown, rest = fold(cs, "E7")
    >>> [c.title for c in shown], rest.text
    (['c0', 'c1'], '2 other causes of E7, each at most 7 %')
    >>> fold(cs[:1])[1] is None
    True
    """
    n = 1 if causes else 0
    while n < min(len(causes), most) and causes[n].confidence >= useful:
        n += 1
    shown, rest = tuple(causes[:n]), causes[n:]
    if not rest:
        return shown, None
    return shown, Folded(
        len(rest), code, max(c.confidence for c in rest), tuple(c.title for c in rest)
    )


def cause_cards(data: Mapping[str, Any]) -> tuple[CauseCard, ...]:
    return tuple(
        CauseCard(
            c["id"],
            c["title"],
            float(c["confidence"]),
            tuple(
                EvidenceLine(
                    e["polarity"],
                    e["kind"],
                    e["observation"],
                    e["matched"],
                    e.get("source", ""),
                    e.get("reason", ""),
                    e.get("similarity"),
                )
                for e in c.get("evidence", ())
            ),
            tuple(Ref(s["path"], int(s["line"])) for s in c.get("sources", ())),
        )
        for c in data.get("causes", ())
    )


def procedure(
    data: Mapping[str, Any], kb: KnowledgeBase | None = None
) -> tuple[ProcedureStep, ...]:
    """The procedure of a diagnosis result, with each step's sub-steps from ``kb``."""
    steps = {s.id: s for s in kb.steps} if kb else {}
    out = []
    for p in data.get("procedure", ()):
        step = steps.get(p["id"])
        src = p.get("source") or {}
        out.append(
            ProcedureStep(
                p["id"],
                p["title"],
                float(p["minutes"]),
                bool(p["requires_lockout"]),
                p.get("reason", ""),
                tuple(p.get("causes", ())),
                Ref(src.get("path", ""), int(src.get("line", 0))),
                step.substeps if step else (),
                p.get("kind") or (step.kind if step else ""),
            )
        )
    return tuple(out)


def lockouts(proc: Sequence[ProcedureStep]) -> tuple[Lockout, ...]:
    """The instructions of the procedure's lockout steps.

    >>> s = ProcedureStep("m/step/3", "Isolate", 10, True, "prerequisite", (), Ref("m.md", 9),
    ...                   ("Switch off and lock the breaker. Prove dead.", "Open the door."),
    ...                   "lockout")
    >>> [(x.step, x.instruction) for x in lockouts([s])]
    [('Isolate', 'Switch off and lock the breaker. Prove dead.')]
    """
    return tuple(
        Lockout(p.title, p.substeps[0] if p.substeps else p.title, p.source)
        for p in proc
        if p.kind == "lockout"
    )


def questions(data: Mapping[str, Any]) -> tuple[QuestionLine, ...]:
    return tuple(
        QuestionLine(
            q["text"],
            q.get("source", ""),
            q.get("kind", "observe"),
            q.get("ref", ""),
            tuple(q.get("separates", ())),
            q.get("purpose", ""),
            q.get("unit", ""),
            q.get("example", ""),
        )
        for q in data.get("questions", ())
    )


def safety_lines(kb: KnowledgeBase, manuals: Iterable[str]) -> tuple[str, ...]:
    """PPE and voltage rules of the manuals the procedure comes from (lockout itself
    is stated by the lockout steps)."""
    wanted = set(manuals)
    out = []
    for r in kb.safety:
        if r.manual in wanted and (r.ppe or r.voltages) and r.lockout is not True:
            text = "PPE: " + "; ".join(r.ppe) if r.ppe else f"{r.work}: {', '.join(r.voltages)}"
            out.append(f"{text} [{r.source.path}:{r.source.line_start}]")
    return tuple(out)


def repair_log(kb: KnowledgeBase, log: Mapping[str, Any], closed_at: str) -> RepairLog:
    titles = {c.id: c.title for c in kb.causes}
    root = str(log.get("root_cause", ""))
    return RepairLog(
        titles.get(root, root),
        str(log.get("cable_length", "")),
        tuple(PartUsed(str(p.get("name", "")), str(p.get("serial", ""))) for p in log["parts"])
        if log.get("parts")
        else (),
        str(log.get("notes", "")),
        closed_at,
    )


def work_order(
    kb: KnowledgeBase,
    data: Mapping[str, Any],
    *,
    text: str,
    error: str = "",
    station: str = "",
    port: int | None = None,
    equipment: str = "",
    closed: RepairLog | None = None,
) -> WorkOrderView:
    """The work-order view of a diagnosis result (or of an order's snapshot)."""
    steps = {s.id: s for s in kb.steps}
    causes = cause_cards(data)
    shown, folded = fold(causes, error)
    proc = procedure(data, kb)
    by_id = {c.id: c for c in kb.causes}
    manuals = {steps[p.id].manual for p in proc if p.id in steps} or {
        by_id[c.id].manual for c in causes[:1] if c.id in by_id
    }
    titles = {c.id: c.title for c in kb.causes}
    parts = tuple(
        PartLine(
            p.get("id", ""),
            p["name"],
            p.get("variant", ""),
            tuple(p.get("variants", ())),
            p.get("variant_basis", ""),
            float(p["probability"]),
            tuple(titles.get(c, c) for c in p.get("causes", ())),
        )
        for p in data.get("parts", ())
    )
    if not equipment and causes:
        equipment = next((c.equipment for c in kb.causes if c.id == causes[0].id), "")
    return WorkOrderView(
        station=station,
        port=port,
        error=error,
        observation=text,
        equipment=equipment,
        message=data.get("message", ""),
        causes=causes,
        shown=shown,
        folded=folded,
        procedure=proc,
        lockout_steps=tuple(p.title for p in proc if p.requires_lockout and p.kind != "restore"),
        lockout=lockouts(proc),
        safety=safety_lines(kb, manuals),
        parts=parts,
        tools=tuple(ToolLine(t["name"], t.get("specification", "")) for t in data.get("tools", ())),
        questions=questions(data),
        verification=tuple(sub for p in proc if p.reason == "verification" for sub in p.substeps),
        minutes=float(data.get("minutes", 0.0)),
        expected_minutes=float(data.get("expected_minutes", 0.0)),
        repair_log=closed,
    )


def summary(data: Mapping[str, Any], code: str = "", steps: int = FIRST_STEPS) -> Summary:
    """The text summary of a diagnosis result."""
    shown, folded = fold(cause_cards(data), code)
    proc = procedure(data)
    qs = questions(data)
    return Summary(
        data.get("message", ""),
        tuple(data.get("suggestions", ())),
        shown,
        folded,
        proc[:steps],
        max(0, len(proc) - steps),
        float(data.get("expected_minutes", 0.0)),
        qs[0] if qs else None,
        qs[1:],
    )


# ------------------------------------------------------------------ times

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def human_time(iso: str, now: datetime | None = None, *, absolute: bool = False) -> str:
    """A stored UTC timestamp as people read it; the year only when it is not this
    year's ("now" is a parameter, so pages render the same in tests). ``absolute``
    for paper, which is read on later days: always the date with its year.

    >>> now = datetime(2026, 12, 3, 18, 0, tzinfo=UTC)
    >>> human_time("2026-12-03T14:05:09+00:00", now)
    'today 14:05 UTC'
    >>> human_time("2026-12-02T23:59:00+00:00", now)
    'yesterday 23:59 UTC'
    >>> human_time("2026-11-28T09:30:00+00:00", now)
    '28 Nov 09:30 UTC'
    >>> human_time("2025-11-28T09:30:00+00:00", now)
    '28 Nov 2025 09:30 UTC'
    >>> human_time("2026-12-03T14:05:09+00:00", now, absolute=True)
    '3 Dec 2026 14:05 UTC'
    >>> human_time("not a time", now)
    'not a time'
    """
    try:
        t = datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        return iso
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    t = t.astimezone(UTC)
    now = (now or datetime.now(UTC)).astimezone(UTC)
    clock = t.strftime("%H:%M UTC")
    days = (now.date() - t.date()).days
    if absolute:
        return f"{t.day} {MONTHS[t.month - 1]} {t.year} {clock}"
    if days == 0:
        return f"today {clock}"
    if days == 1:
        return f"yesterday {clock}"
    day = f"{t.day} {MONTHS[t.month - 1]}"
    return f"{day} {clock}" if t.year == now.year else f"{day} {t.year} {clock}"
