"""Faults written as definition items: a lead-in term and what it means,

- list items and paragraphs ``- **E100000**: Critical fault - contact support``,
  ``- Green slow blink: SLAC ongoing``, ``` `ERR_X` – text ```,
  ``**ERROR: NO PILOT** – no pilot signal for 5 seconds. Check the wiring.``;
- code-block glossaries, one ``CODE_NAME explanation`` per line, and log lines
  quoting a message (``03:38:12 ERROR: ... . Search ... and set ...``);
- Q&A pairs (``**Q:** ...`` then ``**A:** ...``).

The term is a fault identifier when it is written as a code, a message or a
light pattern, or when the list sits in a troubleshooting part of the document
(an "Error codes" or "LED" section). The definition's first statement is the
cause (what the code means); later sentences are read by ingest/statements.py
(actions, further causes). An item whose term is a condition ("If it persists:",
"Ved vedvarende feil:") adds its actions to the item before it."""

from __future__ import annotations

import itertools
import re

from ingest import faults
from ingest.faults import FaultEntry, Text
from ingest.identifiers import MESSAGE, SNAKE, STATION, codes_in, is_code, shape_of, strip_markup
from ingest.items import split_items
from ingest.state import IngestState
from ingest.statements import analyse, readers_doing, split_sentences
from ingest.steps_kind import names_kind
from ingest.tree import Block, Item

MAX_TERM_WORDS = 8
# "**Term**: text", "**Term** – text", "`Term` - text", "Term: text"
_BOLD = re.compile(
    r"^\*\*(?P<t>[^*]{1,80}?)\*\*\s*(?:[:\u2013\u2014-]\s*|\s+(?=[\u2013\u2014-]))(?P<d>.*)$"
)
_BOLD_IN = re.compile(r"^\*\*(?P<t>[^*]{1,80}?):\*\*\s*(?P<d>.*)$")
_TICK = re.compile(r"^`(?P<t>[^`]{1,80})`\s*[:\u2013\u2014-]\s*(?P<d>.+)$")
_PLAIN = re.compile(r"^(?P<t>[^:.!?]{1,60}?)\s*:\s+(?P<d>\S.*)$")
_DASH = re.compile(r"\s+[\u2013\u2014-]\s+")
_GLOSSARY = re.compile(
    r"^\s*(?P<c>[A-Z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+|[A-Z][A-Z0-9]{1,5}-ERR-[A-Z0-9-]+)\s+(?P<d>\S.*)$"
)
_LOG = re.compile(r"(?P<m>(?:\*{3}\s*)?(?:ERROR|FATAL|WARNING|FAULT)\s*:\s*[^.]+\.?)(?P<rest>.*)$")
_Q = re.compile(r"^(?:\*\*)?(?:Q|Question|Spørsmål|Sporsmal)\s*[:.](?:\*\*)?\s*(?P<q>.+)$", re.I)
_A = re.compile(r"^(?:\*\*)?(?:A|Answer|Svar)\s*[:.](?:\*\*)?\s*(?P<a>.+)$", re.I)


def _term(raw: str, text: str) -> tuple[str, str] | None:
    for pat, src in ((_BOLD_IN, raw), (_BOLD, raw), (_TICK, raw), (_PLAIN, text)):
        m = pat.match(src)
        if m:
            term = strip_markup(m.group("t")).strip().strip('"\u201c\u201d').strip()
            d = strip_markup(m.group("d")).strip()
            if term and len(term.split()) <= MAX_TERM_WORDS:
                return term, d
    return None


def _definition(state: IngestState, text: str, line: int, end: int, entry: FaultEntry) -> None:
    """What follows the term: its first statement says what it means (the cause),
    later ones are read for actions and causes."""
    first = True
    for sentence in split_sentences(text):
        parts = _DASH.split(sentence)
        for part in parts:
            st = analyse(part, state.roles)
            t = Text(st.text, line, end)
            if not st.text:
                continue
            if st.kind == "action" or (
                st.kind == "conditional" and state.roles.is_imperative(st.text)
            ):
                for a in split_items(st.text) if ";" in st.text else [st.text]:
                    entry.actions.append(Text(a, line, end))
            elif not first and names_kind(state, "automatic", st.text):
                # "Clara will leave the error state and re-try": what the equipment
                # does by itself about it (an automatic step)
                entry.actions.append(t)
            elif st.kind in ("cause", "explained") or first:
                entry.causes.append(t)
            elif st.kind == "conditional":
                entry.causes.append(Text(st.condition, line, end))
            first = False


def _entry(
    state: IngestState, term: str, line: int, end: int, code_list: bool
) -> FaultEntry | None:
    shape = shape_of(term, state.roles)
    if shape is None and MESSAGE.match(term):
        shape = "message"
    if shape is None and code_list:
        shape = "code" if len(term.split()) <= 2 else "message"
    if shape is None:
        return None
    codes = [term]
    return FaultEntry(Text(term, line, end), shape, codes=codes, basis="stated in prose")


def _items(state: IngestState, items: list[Item], context: bool) -> None:
    prev: FaultEntry | None = None
    pending: list[FaultEntry] = []
    for it in items:
        if state.is_claimed(it.line_start, it.line_start):
            continue
        found = _term(it.raw, strip_markup(it.text))
        end = max([it.line_start, *(ln.number for ln in it.lines)])
        if found is None:
            prev = None
            continue
        term, definition = found
        if prev is not None and state.roles.is_condition(term):
            # "Ved vedvarende feil: kontakt kundeservice": more to do for the item above
            for a in split_items(definition):
                prev.actions.append(Text(f"{term}: {a}", it.line_start, end))
            state.claim(it.line_start, end)
            continue
        entry = _entry(state, term, it.line_start, end, context)
        if entry is None or not definition or (not context and entry.shape != "led"):
            # outside a list of codes, "`FLAG` - do this" documents an option, not a fault
            prev = None
            continue
        _definition(state, definition, it.line_start, end, entry)
        for c in it.children:
            _definition(state, strip_markup(c.text), c.line_start, c.line_end, entry)
        pending.append(entry)
        prev = entry
        state.claim(it.line_start, end)
    for entry in pending:
        faults.emit(state, entry)


def _paragraph(state: IngestState, b: Block, context: bool) -> None:
    raw = " ".join(ln.raw for ln in b.lines).strip()
    found = _term(raw, strip_markup(b.text))
    if found is None or not found[1]:
        return
    term, definition = found
    entry = _entry(state, term, b.line_start, b.line_end, False)
    if entry is None or (entry.shape == "led" and not context):
        return
    _definition(state, definition, b.line_start, b.line_end, entry)
    faults.emit(state, entry)
    state.claim(b.line_start, b.line_end)


def _shown_below(state: IngestState, prev: Block | None) -> Text | None:
    """The condition of "if X, you will see the following warning:" in the paragraph
    just before a code block: X is the cause of the messages the block shows."""
    if prev is None or prev.kind != "paragraph":
        return None
    sentences = split_sentences(strip_markup(prev.text))
    if not sentences or not sentences[-1].rstrip().endswith(":"):
        return None
    st = analyse(sentences[-1].rstrip().rstrip(":"), state.roles)  # not a label
    if st.kind != "conditional" or state.roles.consequence(st.text) is None:
        return None
    if len(st.condition.split()) < 3 or readers_doing(st.condition):
        return None
    return Text(st.condition, prev.line_start, prev.line_end)


def _code(state: IngestState, b: Block, because: Text | None = None) -> None:
    first = b.line_start + (1 if b.label == "fence" else 0)
    entries: list[FaultEntry] = []
    for n, line in enumerate(b.content.split("\n")):
        at = first + n
        g = _GLOSSARY.match(line)
        if g and (SNAKE.fullmatch(g.group("c")) or STATION.fullmatch(g.group("c"))):
            entry = FaultEntry(Text(g.group("c"), at, at), "code", codes=[g.group("c")])
            _definition(state, g.group("d").strip(), at, at, entry)
            entries.append(entry)
            continue
        lg = _LOG.search(line)
        if lg:
            message = lg.group("m").strip().rstrip(".").strip()
            entry = FaultEntry(Text(message, at, at), "message", codes=[message])
            if because is not None:
                entry.causes.append(because)
            rest = lg.group("rest").strip()
            if rest:
                _definition(state, rest, at, at, entry)
            if entry.causes or entry.actions:
                entries.append(entry)
    # a glossary is a list of codes: one line alone is an example, not a glossary
    glossary = [e for e in entries if e.shape == "code"]
    for e in entries:
        if e.shape == "code" and len(glossary) < 2:
            continue
        faults.emit(state, e)
        state.claim(e.identifier.line_start, e.identifier.line_end)


def _qa(state: IngestState, blocks: list[Block]) -> None:
    for b, nxt in itertools.pairwise(blocks):
        if b.kind != "paragraph" or nxt.kind != "paragraph":
            continue
        q = _Q.match(" ".join(ln.raw for ln in b.lines).strip())
        a = _A.match(" ".join(ln.raw for ln in nxt.lines).strip())
        if not (q and a):
            continue
        question = strip_markup(q.group("q"))
        if not state.roles.is_fault_phrase(question):
            continue
        entry = FaultEntry(Text(question, b.line_start, b.line_end), None, basis="stated in prose")
        entry.codes = codes_in(question)
        _definition(state, strip_markup(a.group("a")), nxt.line_start, nxt.line_end, entry)
        faults.emit(state, entry)
        state.claim(b.line_start, nxt.line_end)


def _labels_list(state: IngestState, b: Block) -> bool:
    """A paragraph that labels the list after it ("**Causes:**", "Possible reasons:"):
    that list holds causes or actions of a fault, not definitions."""
    if b.kind != "paragraph":
        return False
    text = strip_markup(b.text)
    if not text.endswith(":"):
        return False
    if state.roles.label_role(text) is not None:
        return True
    return analyse(text, state.roles).kind == "lead"


def _code_list(state: IngestState, title: str) -> bool:
    """A section that lists identifiers ("Error codes", "LED Lights", "Feilkoder")."""
    return state.roles.lists_identifiers(title) and not title.endswith("?")


def run(state: IngestState) -> None:
    for sec in state.doc.sections:
        blocks = sec.all_blocks()
        _qa(state, blocks)
        code_list = _code_list(state, sec.title)
        prev: Block | None = None
        for b in blocks:
            skip = b.line_start in state.consumed or state.is_claimed(b.line_start, b.line_start)
            if not skip:
                if b.kind == "list" and not (prev is not None and _labels_list(state, prev)):
                    _items(state, b.items, code_list)
                elif b.kind == "paragraph":
                    _paragraph(state, b, code_list)
                elif b.kind == "code":
                    _code(state, b, _shown_below(state, prev))
            prev = b


__all__ = ["is_code", "run"]
