"""Documented faults -> knowledge-base records, shared by every shape extractor.

Each extractor recognises one shape (a role table, a fault section, a definition
item, a causal sentence) and hands over a :class:`FaultEntry`: what identifies the
fault (a code, a message, a light pattern or a symptom in words), what it means,
its causes and the actions the document gives, each with its lines. ``emit``
turns an entry into records the same way whatever the shape:

- the identifier becomes an :class:`~kb.schema.ErrorCode` (codes, messages, light
  patterns: usable with ``--error``) or a :class:`~kb.schema.Symptom`, and evidence
  "symptom" for each cause;
- each cause a :class:`~kb.schema.Cause` (an existing cause of the same title is
  shared); with no cause stated, the fault itself stands for its cause (kind
  "fault");
- what the identifier means, evidence "note" for each cause;
- each action a :class:`~kb.schema.Step` (kind and minutes from its content) that
  tests or fixes the causes it names (all of them when it names none).

Fields that grow as more entries arrive (a cause's error codes, tests and fixes)
are gathered on the state and written by ``finish``, the chain's last rule before
the outline.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field, replace

from ingest.identifiers import strip_markup
from ingest.link import likelihood, names_nothing, points_elsewhere, tidy
from ingest.state import IngestState, Span
from ingest.statements import analyse, split_sentences
from ingest.tree import Section
from kb.schema import Cause, CodeShape, ErrorCode, Evidence, Step, Symptom, slug
from kb.text import containment, terms

IDENTIFIER_STRENGTH = 8.0
MEANING_STRENGTH = 4.0
NARRATIVE_STRENGTH = 4.0
_TRIGGERED = re.compile(
    r"^(?:(?:is|are|gets?|will\s+be)\s+)?(?:raised|triggered|set|reported|shown|displayed|sent|"
    r"logged|thrown|signalled|signaled|issued)\s+(?:when|if|whenever)\s+",
    re.I,
)
_TEST_VERB = re.compile(
    r"^(?:please\s+|first,?\s+|then\s+|also\s+|\d+[.)]\s*)*(?:check|verify|inspect|"
    r"look|measure|test|confirm|see|consult|refer|observe|ensure|make sure|double check|"
    r"sjekk|kontroller|investigate|monitor)\b",
    re.I,
)


@dataclass
class Text:
    """A piece of the document: its text (markup off) and lines."""

    text: str
    line_start: int
    line_end: int
    children: tuple[str, ...] = ()  # nested items (an action's sub-steps)
    # a cause's note (beside it, or in the items nested under it), its remedy and its
    # frequency wording
    notes: str = ""
    remedy: str = ""
    basis: str = ""
    seen: str = ""  # what is observed when this cause holds ("if you see X, it means Y")

    @staticmethod
    def of(text: str, line_start: int, line_end: int | None = None) -> Text:
        return Text(strip_markup(text), line_start, line_end or line_start)


@dataclass
class FaultEntry:
    identifier: Text
    shape: CodeShape | None  # None: a symptom in words
    codes: list[str] = field(default_factory=list)
    meaning: list[Text] = field(default_factory=list)
    causes: list[Text] = field(default_factory=list)
    actions: list[Text] = field(default_factory=list)
    conditions: list[Text] = field(default_factory=list)
    basis: str = "stated in prose"  # prior wording when a cause states none
    automatic: bool = False  # the actions are what the equipment does by itself
    # what else is seen while the fault holds ("If commands stop arriving, charging
    # ramps down"): evidence for its causes
    seen: list[Text] = field(default_factory=list)
    # how strongly the identifier points at the causes (a likelihood ratio): a row of
    # a fault table names the fault outright; a narrative describes a situation
    strength: float = IDENTIFIER_STRENGTH


def _norm(text: str) -> str:
    return re.sub(r"\W+", " ", strip_markup(text).lower()).strip()


def _code_id(state: IngestState, code: str) -> str:
    ident = code if re.fullmatch(r"[\w.-]+", code) else slug(code)
    return f"{state.manual_id}/error/{ident}"


def advice_below(state: IngestState, sec: Section, labelled: bool = True) -> list[Text]:
    """What "You can try some of the following tips:" at the end of ``sec`` leads to
    when its subsections each give one ("#### Using residualPower" ... "set
    residualPower to a negative value"): the first thing each says to do.
    ``labelled=False`` leaves out subsections titled by a role ("#### Solution"),
    for a reader that takes those whole."""
    sections = state.doc.sections
    at = next(i for i, s in enumerate(sections) if s is sec)
    out: list[Text] = []
    for sub in sections[at + 1 :]:
        if sub.level <= sec.level:
            break
        if not labelled and state.roles.label_role(sub.title) is not None:
            continue
        pieces = [
            Text.of(x.text, x.line_start, x.line_end)
            for b in sub.blocks
            for x in ([b] if b.kind == "paragraph" else b.items)
        ]
        told = [
            Text(st.text, t.line_start, t.line_end)
            for t in pieces
            for st in (analyse(s, state.roles) for s in split_sentences(t.text))
            if st.kind == "action"
        ]
        out.extend(told[:1])
    return out


def emit(state: IngestState, entry: FaultEntry) -> list[Cause]:
    """Records for one documented fault; returns its causes."""
    ident = entry.identifier
    codes = [c for c in dict.fromkeys(entry.codes) if c.strip()]
    named = [c for c in entry.causes if _norm(c.text) and not names_nothing(c.text)]
    if not codes and not named and names_nothing(ident.text):
        return []  # "if this does not succeed, ...": the steps' own flow, not a fault
    for code in codes:
        _error_code(state, code, entry)
    if not codes:
        sym = Symptom(
            id=state.rid("symptom", ident.text),
            manual=state.manual_id,
            text=ident.text,
            source=state.source(ident.line_start, ident.line_end),
        )
        if not any(s.id == sym.id for s in state.get("symptoms")):
            state.add("symptoms", sym)
            state.spans.append(Span(ident.line_start, ident.line_end, sym.id, "text", sym.text))
    causes = [_cause(state, c, entry, codes) for c in named]
    if not causes:
        stand_in = entry.meaning[0] if entry.meaning else ident
        causes.append(_cause(state, stand_in, entry, codes, kind="fault"))
    for c, cause in zip(named, causes, strict=False):
        if (
            c.seen
            and _norm(c.seen) not in (_norm(ident.text), _norm(cause.title))
            and not points_elsewhere(c.seen)
        ):
            seen = Text(c.seen, c.line_start, c.line_end)
            _evidence(state, cause, seen, "symptom", entry.strength, slug(c.seen))
        said = c.notes or _first_sentence(c.text)[1]
        note = _observable_part(state, said)
        if note and said == cause.notes:
            # what the document says beside or under the cause explains it (what to
            # do about it is no evidence: "trip hazard, replace immediately")
            text = Text(note, c.line_start, c.line_end)
            _evidence(state, cause, text, "note", MEANING_STRENGTH, "note")
    for cause in causes:
        if _norm(cause.title) != _norm(ident.text):
            _evidence(state, cause, ident, "symptom", entry.strength, slug(ident.text))
        for seen in entry.seen:
            if _norm(seen.text) not in (_norm(ident.text), _norm(cause.title)):
                _evidence(state, cause, seen, "symptom", entry.strength, slug(seen.text))
        for m in entry.meaning:
            if _norm(m.text) != _norm(cause.title):
                _evidence(state, cause, m, "note", MEANING_STRENGTH, "note")
    for n, action in enumerate(entry.actions, 1):
        _action(state, entry, action, n, causes)
    return causes


_NOTE_PARTS = re.compile(r"\s*(?:[,;]|\s[\u2014\u2013-]\s|(?<=[a-z0-9)])\.\s+(?=[A-Z]))\s*")


def _observable_part(state: IngestState, note: str) -> str:
    """A note without the parts that say what to do ("The vendor manages the SIM —
    contact its NOC" -> "The vendor manages the SIM")."""
    parts = [p for p in _NOTE_PARTS.split(note) if p.strip()]
    kept = [p for p in parts if not state.roles.is_imperative(p)]
    return ", ".join(kept) if len(kept) < len(parts) else note


def _error_code(state: IngestState, code: str, entry: FaultEntry) -> None:
    rid = _code_id(state, code)
    ident = entry.identifier
    text = ident.text if _norm(ident.text) != _norm(code) else ""
    conditions = tuple(c.text for c in entry.conditions)
    for i, ec in enumerate(state.get("error_codes")):
        if ec.id == rid:
            if conditions and not ec.conditions:
                state.records["error_codes"][i] = replace(ec, conditions=conditions)
            return
    line_end = max([ident.line_end, *(c.line_end for c in entry.conditions)])
    record = ErrorCode(
        id=rid,
        code=code,
        equipment=state.equipment,
        manual=state.manual_id,
        conditions=conditions,
        source=state.source(ident.line_start, line_end),
        shape=entry.shape or "code",
        text=text,
    )
    state.add("error_codes", record)
    state.spans.append(Span(ident.line_start, ident.line_end, rid, "code", code))


def _first_sentence(text: str) -> tuple[str, str]:
    """A cause's text as its name (the first sentence) and the rest, which explains it."""
    parts = re.split(r"(?<=[a-z0-9)])\.\s+(?=[A-Z])", text.strip(), maxsplit=1)
    return parts[0].strip().rstrip(".;:,"), (parts[1].strip() if len(parts) > 1 else "")


def _cause(
    state: IngestState,
    t: Text,
    entry: FaultEntry,
    codes: list[str],
    kind: str = "stated",
) -> Cause:
    # a cause is named by its first sentence; the rest of the text explains it
    title, rest = _first_sentence(t.text)
    # "Raised when the board exceeds 85 °C": the condition is the cause
    title = _TRIGGERED.sub("", title) or title
    if title[:1].islower():
        title = tidy(title)  # prose: "the button gets stuck" -> "Button gets stuck"
    key = _norm(title)
    # the same cause in another word order ("A burned relay board fuse", "Relay board
    # fuse burned"): the same words name one cause (the words as written, not their
    # synonyms: "misaligned" and "bent" are two faults)
    said = _words(title)
    for existing in state.get("causes"):
        if _norm(existing.title) == key or (len(said) >= 2 and _words(existing.title) == said):
            cause: Cause = existing
            break
    else:
        cause = state.new_cause(
            title,
            state.source(t.line_start, t.line_end),
            notes=t.notes or rest,
            remedy=t.remedy,
            prior_basis=t.basis or likelihood(state, title, entry.basis),
        )
        if kind == "fault":
            cause = replace(cause, kind="fault")
            state.replace("causes", cause)
        state.spans.append(Span(t.line_start, t.line_end, cause.id, "title", cause.title))
    if codes:
        have = state.cause_codes.setdefault(cause.id, [])
        have.extend(c for c in codes if c not in have)
    return cause


@functools.lru_cache(maxsize=65536)
def _words(title: str) -> frozenset[str]:
    return terms(title, None)


def _evidence(
    state: IngestState, cause: Cause, t: Text, kind: str, strength: float, suffix: str
) -> None:
    """Evidence for a cause (once per text: the same text twice is one piece)."""
    have = state.get("evidence")
    if any(e.cause == cause.id and e.text == t.text for e in have):
        return
    base = f"{cause.id}/ev/{suffix}"
    eid, k = base, 2
    while any(e.id == eid for e in have):
        eid, k = f"{base}-{k}", k + 1
    state.add(
        "evidence",
        Evidence(
            id=eid,
            manual=state.manual_id,
            kind=kind,  # type: ignore[arg-type]
            text=t.text,
            cause=cause.id,
            strength=strength,
            polarity="for",
            source=state.source(t.line_start, t.line_end),
        ),
    )


def _action(
    state: IngestState, entry: FaultEntry, action: Text, n: int, causes: list[Cause]
) -> None:
    from ingest.steps_kind import estimate_minutes, step_kind

    base = f"{state.manual_id}/step/{slug(entry.identifier.text, 40)}-{n}"
    sid = base
    k = 2
    while any(s.id == sid for s in state.get("steps")):
        sid = f"{base}-{k}"
        k += 1
    kind = "automatic" if entry.automatic else step_kind(state, action.text, action.children)
    minutes, basis = estimate_minutes(state, kind, action.text, action.children)
    step = Step(
        id=sid,
        manual=state.manual_id,
        number="",
        title=action.text,
        substeps=action.children,
        requires=(),
        tools=(),
        parts=(),
        requires_lockout=False,
        minutes=minutes,
        source=state.source(action.line_start, action.line_end),
        kind=kind,
        minutes_basis=basis,
    )
    state.add("steps", step)
    state.spans.append(Span(action.line_start, action.line_end, sid, "title", action.text))
    # the cause stated where the action is, when the fault's causes are stated
    # apart ("- The device may have reached its connection limit. Other
    # connections might need to be stopped."); else the causes the action names;
    # all of the fault's causes when it names none
    beside = [c for c in causes if c.source.line_start <= action.line_start <= c.source.line_end]
    apart = len({c.source.line_start for c in causes}) > 1
    want = terms(action.text, state.lexicon)
    named = (
        (beside if apart else [])
        or [c for c in causes if containment(terms(c.title, state.lexicon), want) >= 0.5]
        or causes
    )
    # what the equipment does by itself ends the fault too: the planner waits for it
    tests = kind in ("inspection", "measurement") or (
        kind not in ("automatic", "repair") and bool(_TEST_VERB.match(action.text))
    )
    slot = 0 if tests else 1
    for c in named:
        links = state.cause_steps.setdefault(c.id, ([], []))
        if sid not in links[slot]:
            links[slot].append(sid)


def finish(state: IngestState) -> None:
    """Write the gathered error codes and step links into the causes; a document
    that reads as troubleshooting but yielded no fault is a warning."""
    if not (state.get("causes") or state.get("error_codes") or state.get("symptoms")):
        titled = [
            s for s in state.doc.sections if s.level and state.roles.is_troubleshooting(s.title)
        ]
        if titled:
            state.warn(
                titled[0].line,
                f"{titled[0].title!r} reads as troubleshooting, but no fault, cause or "
                "action could be structured from the document",
            )
    _codes_named_in_faults(state)
    causes = state.get("causes")
    for i, c in enumerate(causes):
        codes = state.cause_codes.get(c.id)
        links = state.cause_steps.get(c.id)
        if codes is None and links is None:
            continue
        upd = c
        if codes:
            upd = replace(upd, error_codes=tuple(codes))
        if links:
            upd = replace(
                upd,
                tests=tuple(dict.fromkeys([*c.tests, *links[0]])),
                fixes=tuple(dict.fromkeys([*c.fixes, *links[1]])),
            )
        causes[i] = upd


def _codes_named_in_faults(state: IngestState) -> None:
    """A fault written with the document's own codes ("Battery Overheating +
    ChargeBlocked") is a fault of those codes too."""
    known = sorted({e.code for e in state.get("error_codes") if len(e.code) >= 4}, key=len)
    if not known:
        return
    pattern = re.compile(
        r"(?<![\w-])(?:" + "|".join(re.escape(k) for k in reversed(known)) + r")(?![\w-])"
    )
    for e in state.get("evidence"):
        if e.kind != "symptom" or state.cause_codes.get(e.cause):
            continue
        found = list(dict.fromkeys(pattern.findall(e.text)))
        if found:
            state.cause_codes[e.cause] = found


def emit_cause_list(state: IngestState, causes: list[Text], codes: list[str]) -> list[Cause]:
    """Causes listed without a fault beside them (a "Cause | Notes" table under the
    document's error code): each cause, and its note as evidence for it unless the
    note is only a frequency word (that is its prior)."""
    entry = FaultEntry(Text("", 0, 0), None, codes=codes, basis="cause table")
    out = []
    for t in causes:
        cause = _cause(state, t, entry, codes)
        out.append(cause)
        note = t.notes.strip()
        if note and note.strip(" .\u2014-").lower() != (t.basis or "").lower():
            _evidence(
                state,
                cause,
                Text(note, t.line_start, t.line_end),
                "note",
                MEANING_STRENGTH,
                "note",
            )
    return out
