"""Faults written as sections: a heading (or an FAQ question, or a MkDocs
``??? question``) that names a fault or symptom, followed by what causes it and
what to do — as labelled lists ("**Causes:**", "Possible causes", "Solution",
"What you can do", role-named sub-headings such as "Workaround"), inline labels
("root cause: ...", "Solution: ..."), lead-ins ("Typically this is due to:"), or
plain sentences read by ingest/statements.py ("This means ...", "If X, Y",
imperatives).

A heading counts as a fault when it asks about or names a problem (fault words
of kb/curated/roles.yaml), or sits in a troubleshooting part of the document and
its body gives causes or actions. A container heading ("Common Errors",
"Problem Identification") is not a fault; the headings under it are. A label
with no role ("**Easee:**", a brand or variant) before a list starts a variant
of the fault. A section that looks like a fault but yields no cause and no action
is a warning."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from ingest import faults
from ingest.faults import FaultEntry, Text
from ingest.identifiers import MESSAGE, SNAKE, STATION, codes_in, shape_of, strip_markup
from ingest.items import split_items
from ingest.roles import Role
from ingest.state import IngestState
from ingest.statements import (
    OBSERVED,
    Statement,
    analyse,
    effect_text,
    observed,
    readers_doing,
    split_sentences,
)
from ingest.tree import Block, Item, Section
from kb.text import clause_of, containment, terms

_NUMBER = re.compile(r"^(?:\d+(?:\.\d+)*[.)]?\s+)")
_STATUS = re.compile(r"^\[[^\]]{1,20}\]\s*")  # "[Solved] Issue20: ..."
_LINK = re.compile(r"^\[(?P<t>[^\]]+)\]\([^)]*\)")
_INLINE_LABEL = re.compile(r"^(?P<label>[A-Za-z][\w /-]{1,30}?)\s*:\s+(?P<rest>\S.*)$")
_BOLD_LABEL = re.compile(r"^\*\*(?P<label>[^*]{1,60}?)\*\*\s*:?\s*(?P<rest>.*)$")
_QUOTED_CODE = re.compile(r"[\"'`](?P<c>[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+)[\"'`]")
MAX_IDENTIFIER_WORDS = 30
# "if battery voltage is below 12V": a reading is something seen
# what a label says when the list after it holds the content: "Solution: Three
# parts", "Causes:", "Fix: the following"
_LEAD_REST = re.compile(
    r"^(?:(?:\w+|a\s+few|several|some|the\s+following)\s+)?(?:parts?|steps?|options?|ways?|"
    r"things?|points?|causes?|reasons?|possibilities|fixes|solutions)?\s*(?:are|is)?\s*:?\s*$"
    r"|^(?:the\s+)?following\b.{0,20}$",
    re.I,
)


# "the rotary switch has not been adjusted", "this is not configured": what was not
# done, and to what (a part, or a pronoun pointing back at what a question asks about)
_NOT_DONE = re.compile(
    r"^(?P<subject>.*?)\b(?P<pred>(?:is|are|was|were|has|have|had)(?:n't|\s+not)\s+"
    r"(?:been\s+)?\w+(?:ed|en|up|set)\b.*)$",
    re.I,
)
_POINTER = re.compile(r"^(?:this|it|that|these|those|they)\b", re.I)


_NEEDED = re.compile(
    r"^(?:why\s+(?:do|would|should)\s+(?:i|we|you)\s+need|what\s+do\s+(?:i|we|you)\s+need|"
    r"do\s+(?:i|we|you)\s+(?:really\s+)?need)\s+(?:a|an|the|to\s+\w+\s+(?:a|an|the))?\s*"
    r"(?P<x>[^?]{3,60})\?*$",
    re.I,
)


def clean_title(title: str) -> str:
    t = _LINK.sub(lambda m: m.group("t"), title.strip())
    t = _STATUS.sub("", t)
    t = _NUMBER.sub("", t)
    return t.strip().rstrip(":").strip()


@dataclass
class _Body:
    """What a fault section's body gave, in order."""

    meaning: list[Text] = field(default_factory=list)
    causes: list[Text] = field(default_factory=list)
    actions: list[Text] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)
    variants: list[tuple[Text, _Body]] = field(default_factory=list)
    structured: bool = False  # labels, lead-ins or causal sentences were found
    labelled: bool = False  # role labels ("Causes:", "Workaround", "root cause: ...")

    @property
    def empty(self) -> bool:
        return not (self.causes or self.actions or self.variants)


class _Reader:
    """Reads a section body's blocks into a _Body, keeping the current role."""

    def __init__(self, state: IngestState, title: str = "", line: int = 0) -> None:
        self.state = state
        self.title_line = line
        self.roles = state.roles
        self.title_terms = terms(title, None)
        # "Why do I need a Tesla API token?": what "if this is not configured" is about
        asked = _NEEDED.match(title.strip())
        self.asked = asked.group("x").strip() if asked else ""

    def observed(self, condition: str) -> bool:
        return observed(condition, self.roles)

    def restates_fault(self, text: str) -> bool:
        """Does ``text`` say the fault again ("the values are reset" under "Why do
        the daily yield values reset to zero?")?"""
        said = terms(text, None)
        return len(said) >= 2 and containment(said, self.title_terms) >= 0.5

    def statements(self, text: str) -> list[Statement]:
        return [analyse(s, self.roles) for s in split_sentences(text)]

    def add(self, body: _Body, role: Role | None, t: Text) -> None:
        """A piece of text whose role the context gives (or its own words)."""
        if not t.text:
            return
        if role == "cause":
            body.causes.append(t)
            if self.roles.is_imperative(t.text):
                body.actions.append(t)  # "Make sure the port is set": cause and fix
            for st in self.statements(t.text)[1:]:
                if st.kind == "action":
                    # "The device may have reached its connection limit. Other
                    # connections might need to be stopped.": the cause, and its fix
                    body.actions.append(Text(st.text, t.line_start, t.line_end))
            return
        if role == "action":
            body.actions.append(t)
            return
        if role == "meaning":
            body.causes.append(t)  # "Meaning:", "Dette betyr:" under a fault: why it shows
            return
        if role == "identifier":
            self.sentence(body, t)  # "Observation:", "Issue Description": read what it says
            return
        self.sentence(body, t)

    def sentence(self, body: _Body, t: Text, role: Role | None = None) -> Role | None:
        """Plain prose: each sentence by what it says. Returns the role a lead-in
        gives to what follows."""
        lead: Role | None = None
        for st in self.statements(t.text):
            piece = Text(st.text, t.line_start, t.line_end)
            if st.kind == "lead":
                lead = st.role
                body.structured = True
            elif st.kind == "action":
                body.actions.append(piece)
            elif st.kind == "cause" or st.kind == "explained":
                seen = effect_text(st.condition) if st.kind == "explained" else ""
                body.causes.append(replace(piece, seen=seen))
                body.structured = True
            elif st.kind == "conditional":
                self.conditional(body, st, t)
            elif role == "cause":
                body.causes.append(piece)
            elif not body.meaning and st.text:
                body.meaning.append(piece)
        return lead

    def conditional(self, body: _Body, st: Statement, t: Text) -> None:
        """ "If X, Y": X is a cause only when it states something wrong ("if the
        battery is older than 3 years"), not a situation ("if you use the
        terminal"); Y is an action when it says what to do, a cause when it
        states a problem, and what the fault looks like when it is observed."""
        cond = Text(st.condition, t.line_start, t.line_end)
        not_done = _NOT_DONE.match(st.condition)
        pointer = not_done is not None and bool(_POINTER.match(not_done.group("subject")))
        if self.asked and not_done is not None and pointer:
            # "Why do I need X? ... If this is not configured, the car keeps charging":
            # X not configured is the cause, and what follows is seen while it holds
            body.structured = True
            # cited from the question, which names X, to the sentence
            start = min(self.title_line or t.line_start, t.line_start)
            body.causes.append(
                Text(f"{self.asked} {not_done.group('pred')}", start, t.line_end, seen=st.text)
            )
            return
        # "if the cable is loose" states a fault; "if you're not experiencing any
        # other issues" denies one
        said = clause_of(st.condition, None)
        wrong = (
            self.roles.states_problem(st.condition) or self.roles.is_fault_phrase(st.condition)
        ) and (
            said.fault
            and (
                not said.negated
                # "if the jumper has not been moved": not a denial ("if you are not
                # seeing issues"), nor a pointer ("if this is not configured")
                or (not readers_doing(st.condition) and not_done is not None and not pointer)
            )
        )
        then = analyse(st.text, self.roles)
        body.structured = True
        if self.roles.is_imperative(st.text) or then.kind == "action":
            text = st.text if self.roles.is_imperative(st.text) else then.text
            body.actions.append(Text(f"If {st.condition}, {text}", t.line_start, t.line_end))
            if wrong:
                body.causes.append(cond)
        elif OBSERVED.search(st.text):
            # "if the switch is not set, you will see this warning": the condition is
            # the cause, the rest what it looks like
            if wrong:
                body.causes.append(cond)
        elif self.restates_fault(st.text) and not st.condition.lower().startswith(("you", "we")):
            # "the values are reset if the inverter restarts": the fault, and what
            # brings it about
            body.causes.append(cond)
        elif then.kind in ("cause", "explained") or (
            self.roles.states_problem(st.text) and self.observed(st.condition)
        ):
            # "if the LED is red, the battery is faulty": what is seen, and why
            body.causes.append(
                Text(then.text if then.kind != "description" else st.text, t.line_start, t.line_end)
            )
        elif self.roles.states_problem(st.text):
            # "if multiple interfaces are present, the wrong address is fetched": the
            # condition is the cause, what it brings about is seen when it holds
            body.causes.append(replace(cond, seen=st.text))
        elif wrong:
            body.causes.append(cond)

    def item(self, body: _Body, it: Item, role: Role | None) -> Role | None:
        """Read one list item; returns the role it gives to a list that follows
        ("- Solution: three parts" + a numbered list)."""
        raw = it.raw
        text = strip_markup(it.text)
        children = tuple(strip_markup(c.text) for c in it.children)
        # with sub-items the item's lines include theirs (they become sub-steps)
        own_end = max([it.line_start, *(ln.number for ln in it.lines)])
        line_end = max(own_end, it.line_end) if children else own_end
        m = _BOLD_LABEL.match(raw) or _INLINE_LABEL.match(text)
        if m:
            label_role = self.roles.label_role(m.group("label"))
            if label_role is not None:
                rest = strip_markup(m.group("rest"))
                body.structured = body.labelled = True
                if not it.children and _LEAD_REST.match(rest):
                    return label_role
                if label_role == "action":
                    for a in split_items(rest) if ";" in rest else [rest]:
                        self.add(body, "action", Text(a, it.line_start, line_end, children))
                else:
                    self.add(body, label_role, Text(rest, it.line_start, line_end))
                for c in it.children:
                    self.add(body, label_role, Text.of(c.text, c.line_start, c.line_end))
                return None
        if role == "action":
            body.actions.append(Text(text, it.line_start, line_end, children))
            return None
        if role is not None:
            # nested items explain their parent cause (its notes); nested actions are
            # its sub-steps
            notes = _nested_text(it) if role == "cause" else ""
            self.add(body, role, Text(text, it.line_start, line_end, notes=notes))
            return None
        lead = self.sentence(body, Text(text, it.line_start, line_end))
        if lead is not None and it.children:
            for c in it.children:
                self.add(body, lead, Text.of(c.text, c.line_start, c.line_end))
            return None
        for c in it.children:
            # "* If the battery is below 12V, it is too small / * Solution: ...": a
            # labelled sub-item says what it is
            if _BOLD_LABEL.match(c.raw) or _INLINE_LABEL.match(strip_markup(c.text)):
                self.item(body, c, None)
        return lead

    def blocks(self, body: _Body, blocks: Iterable[Block], role: Role | None = None) -> Role | None:
        """Read the blocks; returns the role the last of them gives to what follows
        ("you can try the following tips:")."""
        current = role
        variant: _Body | None = None  # a "**Brand:**" label collects the list after it
        for b in blocks:
            if self.state.is_claimed(b.line_start, b.line_end) and b.kind != "list":
                continue  # another extractor read it (a table, a definition)
            if b.kind == "paragraph":
                before = len(body.variants)
                current = self.paragraph(body, b, current, role)
                variant = body.variants[-1][1] if len(body.variants) > before else None
            elif b.kind == "list":
                target = variant if variant is not None else body
                lead: Role | None = None
                for it in b.items:
                    if not self.state.is_claimed(it.line_start, it.line_start):
                        lead = self.item(target, it, "action" if variant is not None else current)
                current, variant = lead or role, None
            elif b.kind in ("quote", "admonition"):
                if b.label in ("danger", "warning", "caution"):
                    continue  # safety notes are the safety extractor's
                self.blocks(body, b.children, current)
            elif b.kind == "code":
                body.codes.extend(
                    c for c in codes_in(b.content) if STATION.fullmatch(c) or SNAKE.fullmatch(c)
                )
                _commands(body, b)
        return current

    def paragraph(
        self, body: _Body, b: Block, current: Role | None, default: Role | None
    ) -> Role | None:
        raw = " ".join(ln.raw for ln in b.lines).strip()
        text = strip_markup(b.text)
        for qm in _QUOTED_CODE.finditer(raw):
            body.codes.append(qm.group("c"))
        m = _BOLD_LABEL.match(raw)
        if m:
            label = strip_markup(m.group("label"))
            rest = strip_markup(m.group("rest"))
            label_role = self.roles.label_role(label)
            if label_role is None and self.roles.is_condition(label):
                label_role = "action"  # "**If it still fails:**" + what to do
            if label_role is not None:
                body.structured = body.labelled = True
                if rest:
                    self.add(body, label_role, Text(rest, b.line_start, b.line_end))
                    return default
                return label_role
            if not rest and m.group(0).rstrip().endswith((":", ":**")) and len(label.split()) <= 6:
                # "**Easee - Rodt lys:**" + a list: a variant of the fault
                variant = _Body()
                body.variants.append(
                    (Text(label.rstrip(":").strip(), b.line_start, b.line_end), variant)
                )
                return None
        lead = self.sentence(body, Text(text, b.line_start, b.line_end), current)
        return lead if lead is not None else default


MAX_COMMAND_LINES = 8


def _commands(body: _Body, b: Block) -> None:
    """A code block right after an instruction ("You can set a new password via the
    command line." + the commands): its lines are the instruction's sub-steps."""
    if not body.actions:
        return
    last = body.actions[-1]
    if not 0 <= b.line_start - last.line_end <= 2:
        return  # not the text just before the block
    lines = [ln.strip() for ln in b.content.splitlines() if ln.strip()]
    if 0 < len(lines) <= MAX_COMMAND_LINES:
        body.actions[-1] = replace(last, children=(*last.children, *lines), line_end=b.line_end)


def _nested_text(it: Item) -> str:
    """The text of an item's nested items, depth first."""
    return " ".join(t for c in it.children for t in (strip_markup(c.text), _nested_text(c)) if t)


def _children(sections: list[Section], i: int) -> list[Section]:
    out = []
    level = sections[i].level
    for s in sections[i + 1 :]:
        if s.level <= level:
            break
        out.append(s)
    return out


def _read(state: IngestState, sec: Section, subs: list[Section]) -> _Body:
    reader = _Reader(state, clean_title(sec.title), sec.line)
    body = _Body()
    blocks = [b for b in sec.blocks if b.kind != "admonition" or b.label not in ("question", "faq")]
    if reader.blocks(body, blocks) == "action" and subs:
        # "To keep the car charging, try the following tips:" + a subsection per tip
        # (a "#### Solution" subsection is read whole below)
        body.actions.extend(faults.advice_below(state, sec, labelled=False))
    for sub in subs:
        if sub.level != sec.level + 1:
            continue
        role = state.roles.label_role(clean_title(sub.title))
        if role in ("cause", "meaning", "action"):
            # "### Workaround", "### Issue Description" under the fault's heading
            body.structured = body.labelled = True
            reader.blocks(body, sub.blocks, role)
            state.claim(sub.line, sub.line)
    return body


def _identifier(
    state: IngestState, title: str, line: int, body: _Body, troubleshooting: bool
) -> FaultEntry:
    shape = shape_of(title, state.roles)
    parts = [p.strip() for p in title.split(" / ") if p.strip()]
    codes: list[str] = []
    if shape is not None:
        codes = [title]
    elif all(MESSAGE.match(p) or (troubleshooting and _is_message(p)) for p in parts):
        shape, codes = "message", parts
    else:
        codes = codes_in(title, camel=False)
        shape = "code" if codes else None
    codes += [c for c in body.codes if c not in codes]
    if codes and shape is None:
        shape = "code"
    return FaultEntry(Text(title, line, line), shape, codes=codes)


def _is_message(text: str) -> bool:
    """A heading that quotes what software prints ("connection refused",
    "/tmp/evcc: operation not permitted"), not a sentence about it."""
    t = text.strip()
    return bool(t) and (t[0].islower() or t[0] in "/*") and len(t.split()) <= 10


def _entry(
    state: IngestState, title: str, line: int, body: _Body, troubleshooting: bool
) -> list[FaultEntry]:
    base = _identifier(state, title, line, body, troubleshooting)
    base.meaning = body.meaning[:1] if body.causes else []
    base.causes = body.causes
    base.actions = body.actions
    out = [base] if (body.causes or body.actions) else []
    for label, variant in body.variants:
        name = label.text
        first = label.line_start
        if (
            shape_of(name, state.roles) is None and not state.roles.is_fault_phrase(name)
        ) or re.search(r"\s[\u2013\u2014-]\s", name):
            # "Cable stuck (Acme)", "Charger glows red (Acme - Red light)":
            # the heading names the fault, the label the model it is seen on
            name = f"{title} ({name})"
            first = line
        v = _identifier(state, name, label.line_start, variant, troubleshooting)
        v.identifier = Text(name, first, label.line_end)
        v.causes = variant.causes
        v.actions = variant.actions
        if v.causes or v.actions:
            out.append(v)
    return out


def _is_container(state: IngestState, title: str, subs: list[Section]) -> bool:
    """A part of the document that holds faults ("Troubleshooting", "Error codes",
    "Common Errors" with headings under it), not a fault itself."""
    if state.roles.only_troubleshooting(title) or state.roles.lists_identifiers(title):
        return True
    return bool(subs) and state.roles.is_troubleshooting(title) and len(title.split()) <= 5


def _faultish(state: IngestState, title: str) -> bool:
    return state.roles.is_fault_phrase(title) or shape_of(title, state.roles) is not None


def _question(state: IngestState, title: str, blocks: list[Block], line: int, end: int) -> None:
    if not _faultish(state, title):
        return
    reader = _Reader(state, title, line)
    body = _Body()
    reader.blocks(body, blocks)
    for entry in _entry(state, title, line, body, True):
        faults.emit(state, entry)
    if body.causes or body.actions:
        state.claim(line, end)


def _contexts(state: IngestState, sections: list[Section]) -> list[bool]:
    """Per section: does it sit in a troubleshooting part of the document (its own
    title or an enclosing one, metadata headings aside)?"""
    out: list[bool] = []
    stack: list[tuple[int, bool]] = []
    for sec in sections:
        while stack and stack[-1][0] >= sec.level:
            stack.pop()
        own = sec.line not in state.meta_headings and state.roles.is_troubleshooting(sec.title)
        out.append(own or any(flag for _lv, flag in stack))
        if sec.level > 0:
            stack.append((sec.level, own))
    return out


def _consumed(state: IngestState, sec: Section) -> bool:
    return any(b.line_start in state.consumed for b in sec.blocks)


def run(state: IngestState) -> None:
    sections = state.doc.sections
    contexts = _contexts(state, sections)
    for i, sec in enumerate(sections):
        for b in sec.blocks:
            if b.kind == "admonition" and b.label in ("question", "faq") and b.title:
                _question(state, clean_title(b.title), b.children, b.line_start, b.line_end)
        if sec.level == 0 or state.is_claimed(sec.line, sec.line) or _consumed(state, sec):
            continue
        title = clean_title(sec.title)
        if not title or len(title.split()) > MAX_IDENTIFIER_WORDS:
            continue
        subs = _children(sections, i)
        if _is_container(state, title, subs):
            continue
        context = contexts[i]
        body = _read(state, sec, subs)
        question = title.endswith("?")
        # "Why does X happen?" asks about behaviour seen; it is a fault when the
        # answer explains a cause
        why = question and title.lower().startswith("why") and body.structured and bool(body.causes)
        faultish = _faultish(state, title) or why
        if question and not faultish:
            continue
        # labels alone ("**Action:**" under a list of codes) need a cause beside them
        labelled = body.labelled and bool(body.causes)
        # "**Acme - red light:**" + what to do: the fault on each model, structured
        variants = any(v.causes or v.actions for _label, v in body.variants)
        if not (faultish or labelled or (context and (body.structured or variants))):
            continue
        if (
            not body.causes
            and faultish
            and body.meaning
            and not question
            and (body.empty or state.roles.states_problem(body.meaning[0].text))
        ):
            # a named fault explained in plain words: the explanation is its cause
            # (with actions beside it, only when it says what is wrong)
            body.causes = body.meaning[:1]
        if body.empty:
            taken = any(state.is_claimed(b.line_start, b.line_end) for b in sec.blocks)
            if faultish and context and not question and sec.blocks and not taken:
                state.warn(
                    sec.line, f"section {title!r} names a fault but gives no cause or action"
                )
            continue
        end = max([sec.line, *(b.line_end for b in sec.blocks)])
        for entry in _entry(state, title, sec.line, body, context):
            faults.emit(state, entry)
        state.claim(sec.line, end)
