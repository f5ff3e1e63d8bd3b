"""Procedure steps: every ``**Step N.M: Title**`` line followed by its numbered
sub-steps (nested bullets kept with their sub-step), and headed sections such as
"Verification & Testing" that are one numbered list."""

from __future__ import annotations

import re
from collections import Counter

from ingest.state import IngestState
from ingest.steps_kind import estimate_minutes, names_kind, step_kind
from ingest.tree import Item
from kb.schema import Step, StepKind
from kb.text import containment, terms

_STEP = re.compile(
    r"^\*\*\s*Step\s+(?P<num>\d+(?:\.\d+)*[a-z]?)\s*[:.\u2014\u2013-]\s*(?P<title>.+?)\s*\*\*$",
    re.I,
)
_PROC_SECTION = re.compile(r"procedure|step-by-step", re.I)
_LIST_SECTION = re.compile(r"verification|testing|commissioning|checklist", re.I)
_HEAD_NUM = re.compile(r"^(\d+(?:\.\d+)*)\.?\s+(.+)$")
_LOCK = re.compile(r"^(?:lock out|apply (?:LOTO|lockout)|LOTO\b)", re.I)
_REMOTE = re.compile(r"\bportal\b|remote(?:ly)?\b|\bphone\b", re.I)
_INSIDE = re.compile(
    r"\bcabinet\b|\binside\b|\bdrum\b|terminal|\bmodem\b|\bSIM\b|\bantenna\b", re.I
)


def substep_text(item: Item) -> str:
    text = item.text
    for child in item.children:
        text += "\n- " + substep_text(child).replace("\n", "\n  ")
    return text


def _new_step(
    state: IngestState, num: str, title: str, items: list[Item], start: int, end: int
) -> Step:
    return Step(
        id=f"{state.manual_id}/step/{num}",
        manual=state.manual_id,
        number=num,
        title=title,
        substeps=tuple(substep_text(it) for it in items),
        requires=(),
        tools=(),
        parts=(),
        requires_lockout=False,
        minutes=0.0,
        source=state.source(start, end),
    )


def _name_terms(state: IngestState, name: str) -> frozenset[str]:
    name = re.sub(r"\(.*?\)|#?\d+\S*", " ", name)
    return terms(name, state.lexicon) - {"replac", "new", "spare", "kit"}


def _link_tools(state: IngestState, steps: list[Step]) -> list[Step]:
    """Tools and parts a step uses: the distinctive words of the tool's name (those
    in at most half of the manual's steps) appear in the step; a part whose
    Purpose names the step's work ("Spring replacement only") goes with that step."""
    texts = [terms(s.title + " " + " ".join(s.substeps), state.lexicon) for s in steps]
    in_steps = Counter(t for here in texts for t in here)
    common = {t for t, n in in_steps.items() if n > len(texts) / 2}
    # the words of each tool and part, read once for all the steps
    tools = [(t.id, _name_terms(state, t.name) - common) for t in state.get("tools")]
    parts = [
        (
            p.id,
            terms(p.purpose, state.lexicon) - {"onli", "full"},
            _name_terms(state, p.name) - common,
        )
        for p in state.get("parts")
    ]
    out = []
    for s, here in zip(steps, texts, strict=True):
        title = terms(s.title, state.lexicon)
        used = tuple(tid for tid, want in tools if want and containment(want, here) >= 0.5)
        needed = []
        for pid, purpose, want in parts:
            by_purpose = bool(purpose) and containment(purpose, title | {"replac"}) >= 0.6
            if by_purpose or (want and containment(want, title) >= 0.6):
                needed.append(pid)
        out.append(_replace(s, tools=used, parts=tuple(needed)))
    return out


def run(state: IngestState) -> None:
    steps: list[Step] = []
    for sec in state.doc.sections:
        blocks = sec.blocks
        found = 0
        for i, block in enumerate(blocks):
            if block.kind != "paragraph" or not block.lines:
                continue
            m = _STEP.match(block.lines[0].raw)
            if not m:
                continue
            # text right under the step line joins its paragraph: no sub-steps follow
            nxt = blocks[i + 1] if i + 1 < len(blocks) and len(block.lines) == 1 else None
            if nxt is None or nxt.kind != "list" or not nxt.items:
                state.fail(
                    block.line_start,
                    f"expected a numbered list of sub-steps after 'Step {m.group('num')}'",
                )
            found += 1
            ref = f"step:{state.manual_id}/step/{m.group('num')}"
            state.consumed[block.line_start] = state.consumed[nxt.line_start] = ref
            steps.append(
                _new_step(
                    state,
                    m.group("num"),
                    m.group("title").strip(),
                    nxt.items,
                    block.line_start,
                    nxt.line_end,
                )
            )
        if _PROC_SECTION.search(sec.title) and sec.level >= 2 and not found:
            lists = [b for b in blocks if b.kind == "list"]
            if not lists:
                state.fail(
                    sec.line,
                    "expected **Step N.M: Title** lines with numbered sub-steps "
                    f"in section {sec.title!r}",
                )
        if _LIST_SECTION.search(sec.title) and not found:
            lists = [b for b in blocks if b.kind == "list" and b.items and b.items[0].ordered]
            if not lists:
                state.fail(sec.line, f"expected a numbered list of steps in section {sec.title!r}")
            hm = _HEAD_NUM.match(sec.title)
            num, title = (hm.group(1), hm.group(2)) if hm else (str(len(steps) + 1), sec.title)
            steps.append(_new_step(state, num, title, lists[0].items, sec.line, lists[0].line_end))
            state.consumed[lists[0].line_start] = f"steplist:{state.manual_id}/step/{num}"
    steps = _link_tools(state, steps)
    # lockout: the step whose first sub-step applies LOTO opens the cabinet; the
    # steps after it work inside (unless done from the portal) and require it;
    # verification comes after every step (the planner's graph orders it last).
    lock = next((i for i, s in enumerate(steps) if s.substeps and _LOCK.match(s.substeps[0])), None)
    for i, s in enumerate(steps):
        if lock is not None and i == lock:
            s = _replace(s, requires_lockout=True)
        elif lock is not None and i > lock and _LIST_SECTION.search(s.title):
            pass  # verification follows whatever was done; LOTO only if it was applied
        elif lock is not None and i > lock:
            text = s.title + " " + " ".join(s.substeps)
            inside = bool(_INSIDE.search(text)) and not (
                _REMOTE.search(text) and "cabinet" not in text.lower()
            )
            if inside:
                s = _replace(s, requires=(steps[lock].id,), requires_lockout=True)
        kind = _kind(state, s, is_lock=lock is not None and i == lock)
        if kind == "lockout":
            s = _replace(s, tools=_with_lockout_tools(state, s.tools))
        minutes, basis = estimate_minutes(state, kind, s.title, s.substeps)
        state.add("steps", _replace(s, kind=kind, minutes=minutes, minutes_basis=basis))


def _with_lockout_tools(state: IngestState, tools: tuple[str, ...]) -> tuple[str, ...]:
    """A tool whose Purpose is the lockout itself ("LOTO verification": the meter that
    proves the supply dead) goes with the lockout step, whether or not the step
    names it."""
    extra = [t.id for t in state.get("tools") if names_kind(state, "lockout", t.purpose)]
    return tuple(dict.fromkeys([*tools, *extra]))


def _kind(state: IngestState, s: Step, *, is_lock: bool) -> StepKind:
    """Lockout and the work it guards come from the lockout scope; a checklist
    section is verification; a step that ends the lockout is restore; otherwise the
    step's words say (steps.yaml)."""
    if is_lock:
        return "lockout"
    if _LIST_SECTION.search(s.title):
        return "verification"
    if step_kind(state, s.title, ()) == "restore":
        return "restore"
    if s.requires_lockout:
        return "cabinet"
    return step_kind(state, s.title, s.substeps)


def _replace(step: Step, **kw: object) -> Step:
    from dataclasses import replace

    return replace(step, **kw)  # type: ignore[arg-type]
