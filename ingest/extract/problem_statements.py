"""Faults stated as problems in running prose: a paragraph or list item whose
sentence says something is wrong ("`Maximum Current` does not work.", "The
charger will silently drop the connection if you do not provide a certificate",
"Known issue: in firmware 03.09.0 amperage changes are accepted but not
applied"), with the causes and actions the same paragraph or item gives (read
by ingest/statements.py). A conditional puts the problem where it is: "If X,
<problem>" makes X the cause; "If <problem>, <do Y>" makes Y the action; "Do A,
otherwise <problem>" makes A the action.

Only blocks no other extractor has taken, in sections that gave no structured
fault already (a table or fault list is how such a section documents its
faults), and only when the block gives a cause or an action besides the
problem (a bare complaint is not knowledge to act on)."""

from __future__ import annotations

import re

from ingest import faults
from ingest.faults import FaultEntry, Text
from ingest.identifiers import codes_in, shape_of, strip_markup
from ingest.items import split_title
from ingest.state import IngestState
from ingest.statements import analyse, dash_action, negated, split_sentences
from ingest.tree import Block, Section
from kb.text import terms

MAX_PROBLEM_WORDS = 40
# a sentence about what solves or prevents problems does not state one
_SOLVES = re.compile(r"\b(?:resolves?|solves?|fix(?:es)?|prevents?|avoids?|handled)\b", re.I)
_KNOWN = re.compile(r"^(?:known\s+(?:issue|bug|problem)s?|issue|bug|problem|note)\s*:\s*", re.I)
_OTHERWISE = re.compile(r"^(?P<a>.+?),?\s+otherwise\s+(?P<b>.+)$", re.I)
_POINTS_BACK = re.compile(r"^(?:this|these|that|those|it|they|he|she|we|i|see|for)\b", re.I)
_SO = re.compile(r",?\s+so\s+(?:that\s+)?.*$", re.I)
_IF_TAIL = re.compile(r"^(?P<y>.+?),?\s+(?P<conn>if|when|unless)\s+(?P<x>.+)$", re.I)
_AS = re.compile(r"^(?P<y>.+?),?\s+(?:as|since|because)\s+(?P<x>.+)$", re.I)


def _blocks(sec: Section) -> list[tuple[int, int, str]]:
    out: list[tuple[int, int, str]] = []

    def walk(bs: list[Block]) -> None:
        for b in bs:
            if b.kind == "paragraph" and b.lines:
                out.append((b.line_start, b.line_end, strip_markup(b.text)))
            elif b.kind == "list":
                for it in b.items:
                    end = max([it.line_start, *(ln.number for ln in it.lines)])
                    out.append((it.line_start, end, strip_markup(it.text)))
            elif b.kind in ("quote", "admonition") and b.label not in (
                "danger",
                "warning",
                "caution",
            ):
                walk(b.children)

    walk(sec.blocks)
    return out


def _tail_cause(state: IngestState, problem: str) -> re.Match[str] | None:
    m = _IF_TAIL.match(problem)
    if m and state.roles.states_problem(m.group("y")):
        return m
    # "as soon as", "as long as", "as well as" are not "because"
    m = _AS.match(re.sub(r"\bas\s+(?:soon|long|well|much|far)\s+as\b", "~", problem, flags=re.I))
    return m if m and len(m.group("x").split()) >= 3 else None


def _lead_advice(state: IngestState, sec: Section) -> dict[int, list[Text]]:
    """What a paragraph introducing a list of problems says to do about all of them
    ("Until fixed firmware ships, run this charger on 1.6J. On 2.0.1:" before a
    list of defects), by the first line of each item it introduces."""
    out: dict[int, list[Text]] = {}
    for lead, b in zip(sec.blocks, sec.blocks[1:], strict=False):
        if lead.kind != "paragraph" or b.kind != "list" or not lead.text.rstrip().endswith(":"):
            continue
        said = [analyse(s, state.roles) for s in split_sentences(strip_markup(lead.text))]
        advice = [
            Text(st.text, lead.line_start, lead.line_end) for st in said if st.kind == "action"
        ]
        for it in b.items if advice else ():
            out[it.line_start] = advice
    return out


_AVOID = re.compile(
    r"^(?:you\s+(?:should|must|need\s+to)\s+)?avoid\s+(?P<x>.{4,}?)(?:\s+wherever\s+possible|\s+if\s+possible|\s+where\s+possible)?$",
    re.I,
)


def _more_advice(state: IngestState, sec: Section, line: int, entry: FaultEntry) -> None:
    """The items after a list item stating a problem that go on about it ("In some
    cases, messages can become corrupted unless a 120 ohm resistor is placed ..." /
    "Similarly, some installations have seen corruption unless 680 ohm resistors are
    wired ..." / "You should twist the pair to avoid cross-talk" / "Check your
    terminals"): what they say to do, and the causes they name, are the same
    fault's (and the items are claimed)."""
    items = next(
        (
            b.items
            for b in sec.blocks
            if b.kind == "list" and any(it.line_start == line for it in b.items)
        ),
        [],
    )
    at = next((i for i, it in enumerate(items) if it.line_start == line), len(items))
    problem = terms(entry.identifier.text, None)
    for it in items[at + 1 :]:
        end = max([it.line_start, *(ln.number for ln in it.lines)])
        if state.is_claimed(it.line_start, end):
            break
        causes: list[Text] = []
        actions: list[Text] = []
        for sentence in split_sentences(strip_markup(it.text)):
            st = analyse(sentence, state.roles)
            if st.kind == "action":
                actions.append(Text(st.text, it.line_start, end))
                if (m := _AVOID.match(st.text)) is not None:
                    causes.append(Text(m.group("x"), it.line_start, end))  # what to avoid
            elif st.kind == "explained" and st.condition:
                causes.append(Text(st.text, it.line_start, end))
            elif (
                (m := _IF_TAIL.match(st.text))
                and m.group("conn").lower() == "unless"
                and terms(m.group("y"), None) & problem
            ):
                # "some installations have seen corruption unless X"
                actions.append(Text(m.group("x"), it.line_start, end))
                if (without := negated(m.group("x"))) is not None:
                    causes.append(Text(without, it.line_start, end))
        if not (causes or actions) or (state.roles.states_problem(it.text) and not causes):
            break
        entry.causes.extend(causes)
        entry.actions.extend(actions)
        state.claim(it.line_start, end)


def _entry(
    state: IngestState,
    sentences: list[str],
    at: int,
    line: int,
    end: int,
    advice: list[Text] | None = None,
) -> FaultEntry | None:
    problem = _KNOWN.sub("", sentences[at]).strip().rstrip(".")
    causes: list[Text] = []
    actions: list[Text] = []
    st = analyse(problem, state.roles)
    if st.kind == "conditional":
        if state.roles.is_imperative(st.text):
            problem, actions = st.condition, [Text(st.text, line, end)]
        elif state.roles.states_problem(st.text):
            problem, causes = st.text, [Text(st.condition, line, end)]
    elif (split := dash_action(problem, state.roles)) is not None:
        # "The schedule does not resume after a stop - press Start": the problem, and
        # what to do
        problem, actions = split[0], [Text(split[1], line, end)]
    elif m := _OTHERWISE.match(problem):
        if state.roles.states_problem(m.group("b")):
            problem, actions = m.group("b"), [Text(m.group("a"), line, end)]
    elif (m := _tail_cause(state, problem)) is not None:
        if m.groupdict().get("conn", "").lower() == "unless":
            # "<problem> unless X": without X it goes wrong, and X is what to do
            problem, actions = m.group("y"), [Text(m.group("x"), line, end)]
            if (without := negated(m.group("x"))) is not None:
                causes = [Text(without, line, end)]
        else:
            # "<problem> if X" / "<problem>, as X": X is the cause
            problem, causes = m.group("y"), [Text(m.group("x"), line, end)]
    if len(problem.split()) > MAX_PROBLEM_WORDS or len(problem.split()) < 3:
        return None
    explanation: Text | None = None
    for i, s in enumerate(sentences):
        if i == at:
            continue
        other = analyse(s, state.roles)
        if other.kind == "action" or (
            other.kind == "conditional" and state.roles.is_imperative(other.text)
        ):
            actions.append(Text(other.text, line, end))
        elif other.kind in ("cause", "explained"):
            causes.append(Text(other.text, line, end))
        elif (
            i == at + 1
            and other.kind == "description"
            and state.roles.says_what_goes_wrong(sentences[at])
            and len(other.text.split()) >= 5
            and not _POINTS_BACK.match(other.text)
        ):
            # "`Maximum Current` does not work. The firmware validates 2.0.1
            # requests against its 1.6 schema ...": the sentence after the complaint
            # says why
            explanation = Text(_SO.sub("", other.text), line, end)
    if not causes and explanation is not None:
        causes.append(explanation)
    actions.extend(advice or ())
    if not (causes or actions):
        return None
    shape = shape_of(problem, state.roles)
    codes = codes_in(problem, camel=True) if "`" in problem or shape else codes_in(problem)
    return FaultEntry(
        Text(problem.strip(), line, end),
        shape or ("code" if codes else None),
        codes=codes,
        causes=causes,
        actions=actions,
    )


def _narrative(state: IngestState, sec: Section) -> bool:
    """A narrative (a blog post, a report): "One issue I keep seeing is when X" names
    the fault, "the nature of the issue is that Y" its cause, the imperatives
    around them what to do; they may sit in different paragraphs of the section."""
    symptom: Text | None = None
    causes: list[Text] = []
    actions: list[Text] = []
    used: list[tuple[int, int]] = []
    for line, end, text in _blocks(sec):
        if state.is_claimed(line, end):
            continue
        for sentence in split_sentences(text):
            st = analyse(sentence, state.roles)
            if st.kind == "symptom" and symptom is None:
                symptom = Text(st.text, line, end)
                used.append((line, end))
            elif st.kind == "cause" and re.search(r"\b(?:issue|problem|fault)\b", sentence, re.I):
                causes.append(Text(split_title(st.text)[0], line, end))
                used.append((line, end))
            elif symptom is not None and st.kind == "action":
                actions.append(Text(st.text, line, end))
    if symptom is None or not causes:
        return False
    faults.emit(
        state,
        FaultEntry(
            symptom,
            None,
            codes=codes_in(symptom.text),
            causes=causes,
            actions=actions,
            strength=faults.NARRATIVE_STRENGTH,
        ),
    )
    for line, end in used:
        state.claim(line, end)
    return True


def _procedure_after(state: IngestState, sec: Section, line: int) -> Block | None:
    """ "If the values are not correct, you can reset them. Procedure: 1. ...": the
    numbered list a lead ("Procedure:", "Steps:") introduces right after the
    paragraph stating the problem says what to do about it; so does a numbered list
    of instructions after a lead-in ending in a colon ("An example for Let's
    Encrypt:") or right after the paragraph."""
    blocks = sec.blocks
    for i, b in enumerate(blocks[:-1]):
        if b.line_start != line or b.kind != "paragraph":
            continue
        lead = blocks[i + 1]
        then = blocks[i + 2] if lead.kind == "paragraph" and i + 2 < len(blocks) else lead
        if then.kind != "list" or not then.items:
            return None
        if state.is_claimed(then.line_start, then.line_end):
            return None
        if then is lead:
            return then if _instructions(state, then) else None
        said = analyse(lead.text, state.roles)
        if said.kind == "lead" and said.role == "action":
            return then
        if lead.text.rstrip().endswith(":") and _instructions(state, then):
            return then
        return None
    return None


def _instructions(state: IngestState, b: Block) -> bool:
    """A numbered list of two or more items, most of them saying what to do."""
    items = b.items
    if len(items) < 2 or not items[0].ordered:
        return False
    told = sum(state.roles.is_imperative(strip_markup(it.text)) for it in items)
    return 2 * told > len(items)


def run(state: IngestState) -> None:
    for sec in state.doc.sections:
        if _narrative(state, sec):
            continue
        if any(
            b.kind in ("table", "list") and state.is_claimed(b.line_start, b.line_start)
            for b in sec.blocks
        ) or any(b.line_start in state.consumed for b in sec.blocks):
            continue  # the section documents its faults in a structured way already
        advice = _lead_advice(state, sec)
        for line, end, text in _blocks(sec):
            if state.is_claimed(line, end):
                continue
            sentences = split_sentences(text)
            at = next((i for i, s in enumerate(sentences) if state.roles.states_problem(s)), None)
            if at is None:
                continue
            entry = _entry(state, sentences, at, line, end, advice.get(line))
            if entry is None:
                continue
            if (
                entry.actions
                and entry.actions[-1].text.endswith(":")
                and line == max(b.line_start for b in sec.blocks)
            ):
                # the lead-in is not itself a thing to do: what it leads to is
                entry.actions[-1:] = faults.advice_below(state, sec) or entry.actions[-1:]
            procedure = _procedure_after(state, sec, line)
            if procedure is not None:
                entry.actions.extend(
                    Text(
                        strip_markup(it.text),
                        it.line_start,
                        max([it.line_start, *(ln.number for ln in it.lines)]),
                    )
                    for it in procedure.items
                )
            _more_advice(state, sec, line, entry)
            faults.emit(state, entry)
            state.claim(line, end)
            if procedure is not None:
                state.claim(procedure.line_start, procedure.line_end)
