"""Faults stated in running prose, one sentence each: "If you see X messages,
it means Y", "X suggests that Y", "X indicates Y", "Y because X" — an effect a
technician sees and the cause that explains it (ingest/statements.py reads the
sentence). Only sentences no other extractor has taken, outside fixed-format
blocks (procedure steps, trigger lists), and only where the effect names a
fault (fault words, a code, a light pattern) or the sentence sits in a
troubleshooting part of the document."""

from __future__ import annotations

import re

from ingest import faults
from ingest.extract.fault_sections import _contexts
from ingest.faults import FaultEntry, Text
from ingest.identifiers import codes_in, shape_of, strip_markup
from ingest.state import IngestState
from ingest.statements import analyse, effect_text, observed, readers_doing
from ingest.steps_kind import names_kind
from kb.text import clause_of

MIN_CAUSE_WORDS = 3


def _fixed_lines(state: IngestState) -> set[int]:
    out: set[int] = set()
    for sec in state.doc.sections:
        for b in sec.blocks:
            if b.line_start in state.consumed:
                out.update(range(b.line_start, b.line_end + 1))
    return out


_CHECKBOX = re.compile(r"^\s*(?:\[[ xX]?\]\s*)?(?:\d+[.)]\s*)?")
_SHOWN_WHEN = re.compile(r"^(?P<y>.{2,60}?)\s+(?:if|when|whenever|while)\s+(?P<x>.{6,})$", re.I)


def _shown_when(state: IngestState, text: str, line: int, end: int) -> bool:
    """ "Red LED flashing if the EVSE applies a 25% PWM": a light pattern or a code
    and the condition that shows it."""
    t = _CHECKBOX.sub("", strip_markup(text)).strip().rstrip(".")
    first = re.split(r"(?<=[a-z0-9)])\.\s+", t, maxsplit=1)[0]
    m = _SHOWN_WHEN.match(first)
    if not m:
        return False
    head = m.group("y").strip(" ,:-")
    if readers_doing(m.group("x")):
        return False  # "if you are planning to ...": the reader's intent, not a condition
    shape = shape_of(head, state.roles)
    if shape not in ("led", "code", "message"):
        return False
    entry = FaultEntry(
        Text(head, line, end),
        shape,
        codes=[head],
        causes=[Text(m.group("x").strip(), line, end)],
    )
    faults.emit(state, entry)
    state.claim(line, end)
    return True


def _consequence(state: IngestState, condition: str, then: str) -> bool:
    """ "If X, Y" where X states something wrong (not denied, not the reader's
    doing) and Y is what happens then, not what to do."""
    said = clause_of(condition, None)
    if not (said.fault and not said.negated):
        return False
    if readers_doing(condition) and not state.roles.states_problem(then):
        return False  # "if you are planning to ...": the reader's intent, unless it goes wrong
    if not (state.roles.states_problem(condition) or state.roles.is_fault_phrase(condition)):
        return False
    if state.roles.is_imperative(then) or analyse(then, state.roles).kind == "action":
        return False
    return len(then.split()) >= 3 and len(condition.split()) >= 3


_POINTS_BACK = re.compile(
    r"^(?:this|that|it)\s+(?:then\s+)?(?:leads?\s+to|results?\s+in|gives?|produces?|throws?|"
    r"ends?\s+in|ends?\s+with)\s+(?P<e>(?:an?\s+)?\S+(?:\s+\S+)?)$",
    re.I,
)
_REASON_TAIL = re.compile(r",?\s+(?:as|because|since|so that)\s+.*$", re.I)


def _led_consequence(state: IngestState, condition: str, then: str) -> str | None:
    """What follows from X in "If X, this would cause Y" / "..., you will see Y",
    with the lead words and a trailing reason dropped; None for other sentences."""
    rest = state.roles.consequence(then)
    if rest is None or len(condition.split()) < 3 or len(rest.split()) < 2:
        return None
    if readers_doing(condition):
        return None  # "if you want to ...": the reader's intent
    return _REASON_TAIL.sub("", rest).rstrip(" :.")


_AVOID = re.compile(
    r"^(?P<x>.{6,}?),?\s+(?:in\s+order\s+)?to\s+(?:avoid|prevent)\s+(?P<y>.{6,})$"
    r"|^(?:in\s+order\s+)?to\s+(?:avoid|prevent)\s+(?P<y2>[^,]{6,}),\s*(?P<x2>.{6,})$",
    re.I,
)


def _avoided(state: IngestState, text: str, line: int, end: int, before: str = "") -> bool:
    """ "Set the interval to 0 to avoid a 'read-only' warning": the fault avoided,
    and what to do about it; a problem the sentence before states ("The interval is
    not supported. Set this to 0 ...") is its cause."""
    t = strip_markup(text).strip().rstrip(".")
    m = _AVOID.match(t)
    if not m:
        return False
    do, fault = (m.group("x") or m.group("x2")), (m.group("y") or m.group("y2"))
    fault = re.sub(r"^(?:a|an|the|any)\s+", "", fault.strip(), flags=re.I)
    if not state.roles.is_imperative(do):
        return False
    shape = shape_of(fault, state.roles)
    named = shape is not None or bool(codes_in(fault)) or state.roles.states_problem(fault)
    if not (named or state.roles.is_fault_phrase(fault)):
        return False
    causes = [Text.of(before, line, end)] if before and state.roles.states_problem(before) else []
    entry = FaultEntry(Text(fault, line, end), shape, causes=causes, actions=[Text(do, line, end)])
    faults.emit(state, entry)
    # the lines are not claimed: the paragraph's other sentences may say more
    return True


_REQUIRES = re.compile(
    r"^(?P<x>[^,;]{6,60}?)\s+(?:requires|needs)\s+(?P<y>[^,;]*?\d[^,;]*?\s+or\s+"
    r"(?:newer|later|higher|above|more\s+recent))\b",
    re.I,
)


def _required(state: IngestState, text: str, line: int, end: int) -> bool:
    """ "Successful connection requires firmware 2.0.9 or newer": without that
    version, no successful connection; the version is the remedy."""
    m = _REQUIRES.match(strip_markup(text).strip())
    if not m:
        return False
    what = re.sub(r"^(?:a|an|the)\s+", "", m.group("x").strip(), flags=re.I)
    need = m.group("y").strip()
    if state.roles.is_imperative(what) or readers_doing(what):
        return False
    entry = FaultEntry(
        Text(f"No {what[:1].lower()}{what[1:]}", line, end),
        None,
        causes=[Text(f"Requires {need}", line, end, remedy=need)],
    )
    faults.emit(state, entry)
    state.claim(line, end)
    return True


def _respond(state: IngestState, text: str, condition: str, then: str, line: int, end: int) -> None:
    fault = Text.of(condition, line, end)
    answer = Text.of(then, line, end)
    shape = shape_of(fault.text, state.roles)
    entry = FaultEntry(
        fault,
        shape,
        codes=[fault.text] if shape else [],
        actions=[answer],
        automatic=True,
        seen=[answer],
    )
    faults.emit(state, entry)
    state.claim(line, end)


def _told_after(state: IngestState, at: int) -> list[Text]:
    """What the sentences after sentence ``at`` in its block say to do ("This leads to
    an error due to missing nvic.h. If there is no nvic.h then libopencm3 needs to
    be compiled. To compile it, `make get-deps`")."""
    out: list[Text] = []
    first = state.sentences[at]
    for s in state.sentences[at + 1 :]:
        if s.line_start != first.line_start:
            break
        st = analyse(s.text, state.roles)
        if st.kind == "conditional" and (
            state.roles.is_imperative(st.text) or analyse(st.text, state.roles).kind == "action"
        ):
            out.append(
                Text(strip_markup(f"If {st.condition}, {st.text}"), s.line_start, s.line_end)
            )
        elif st.kind == "action":
            out.append(Text(strip_markup(st.text), s.line_start, s.line_end))
    return out


def run(state: IngestState) -> None:
    fixed = _fixed_lines(state)
    contexts = dict(
        zip(
            (s.title for s in state.doc.sections),
            _contexts(state, state.doc.sections),
            strict=False,
        )
    )
    previous = None
    for at, s in enumerate(state.sentences):
        before, previous = previous, s
        if state.is_claimed(s.line_start, s.line_end) or s.line_start in fixed:
            continue
        if _shown_when(state, s.text, s.line_start, s.line_end):
            continue
        same_block = before is not None and before.line_start == s.line_start
        said_before = before.text if before is not None and same_block else ""
        if _avoided(state, s.text, s.line_start, s.line_end, said_before):
            continue
        if _required(state, s.text, s.line_start, s.line_end):
            continue
        st = analyse(s.text, state.roles)
        led = _led_consequence(state, st.condition, st.text) if st.kind == "conditional" else None
        if led is not None:
            # "If the meter counts the charger's draw, this would cause it to ...":
            # the second half says the first brings a problem about
            effect, cause, named = strip_markup(led), st.condition, True
        elif st.kind == "conditional" and _consequence(state, st.condition, st.text):
            if names_kind(state, "automatic", st.text):
                # "If MQTT commands stop arriving, charging ramps down to 6A": the
                # condition is the fault, and the equipment's answer to it what it
                # does by itself (seen too)
                _respond(state, s.text, st.condition, st.text, s.line_start, s.line_end)
                continue
            # "If the supply drops, the display goes dark": a condition that states
            # a problem and what it brings about; "If the LED is red, the fuse is
            # blown": a thing seen, and the conclusion drawn from it
            effect, cause, named = strip_markup(st.text), st.condition, True
            if observed(st.condition, state.roles) and not observed(st.text, state.roles):
                effect, cause = strip_markup(st.condition), st.text
        elif st.kind != "explained" or not st.condition:
            continue
        else:
            effect, cause, named = effect_text(strip_markup(st.condition)), st.text, False
            back = _POINTS_BACK.match(effect)
            whole = strip_markup(s.text)
            if back is not None and whole.startswith(back.group(0)):
                # "This leads to an error due to missing nvic.h": the error, and why,
                # is what is seen (the sentence before says what led to it)
                effect = (back.group("e") + whole[len(back.group(0)) :]).rstrip(".")
        if len(cause.split()) < MIN_CAUSE_WORDS or len(effect.split()) < 2:
            continue
        shape = shape_of(effect, state.roles)
        codes = codes_in(effect)
        named = named or shape is not None or bool(codes) or state.roles.is_fault_phrase(effect)
        if not (named or contexts.get(s.section, False)):
            continue
        entry = FaultEntry(
            Text(effect, s.line_start, s.line_end),
            shape or ("code" if codes else None),
            codes=[effect] if shape else codes,
            causes=[Text(cause, s.line_start, s.line_end)],
            actions=_told_after(state, at),
        )
        faults.emit(state, entry)
        state.claim(s.line_start, s.line_end)
