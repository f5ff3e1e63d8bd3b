"""Safety: which work needs lockout/tagout and which does not, PPE, voltages present.
Read from sections titled "Safety ..." and from WARNING paragraphs anywhere."""

from __future__ import annotations

import re

from ingest.sentences import split_lines
from ingest.state import IngestState
from kb.schema import SafetyRule

_LOTO = r"(?:LOTO|lock[- ]?out(?:/tag[- ]?out)?|lockout)"
_FOR = re.compile(r"^For (?P<work>.+?):\s*(?P<rule>.+)$", re.I)
_NOT_REQ = re.compile(
    rf"(?:\bno {_LOTO}\b|\bnot require\w* {_LOTO}|{_LOTO} (?:is )?not required)", re.I
)
_REQ = re.compile(rf"(?:\b{_LOTO}\b the\b|require\w* {_LOTO}|{_LOTO} (?:is )?required)", re.I)
_SUBJ_REQ = re.compile(
    rf"(?P<work>[^.;—]+?)\s+(?P<neg>does not|does NOT|DOES NOT|DOES|does)\s+require\s+{_LOTO}", re.I
)
_BEFORE = re.compile(rf"{_LOTO}\s+is\s+required\s+before\s+(?P<work>[^.]+)", re.I)
_PPE = re.compile(r"^(?:\*\*)?PPE:?(?:\*\*)?:?\s*(?P<ppe>.+)$", re.I)
_VOLT = re.compile(r"\b\d+(?:\.\d+)?\s?(?:VAC|VDC|V AC|V DC|V)\b")


def _rule(
    state: IngestState,
    work: str,
    lockout: bool | None,
    text: str,
    line: int,
    end: int,
    ppe: tuple[str, ...] = (),
) -> None:
    state.add(
        "safety",
        SafetyRule(
            id=state.rid(
                "safety",
                f"{work}-{'loto' if lockout else 'no-loto' if lockout is False else 'ppe'}",
            ),
            manual=state.manual_id,
            work=work.strip(" *"),
            lockout=lockout,
            ppe=ppe,
            voltages=tuple(dict.fromkeys(v.replace(" ", "") for v in _VOLT.findall(text))),
            text=text,
            source=state.source(line, end),
        ),
    )


def _ppe_items(text: str) -> tuple[str, ...]:
    """'Safety glasses, ESD awareness (touch chassis). Gloves recommended (x, y).'
    -> one item per piece of equipment: split at commas, semicolons and sentence
    ends, but not inside parentheses."""
    items: list[str] = []
    depth = 0
    buf = ""
    for i, ch in enumerate(text):
        depth += (ch == "(") - (ch == ")")
        end_of_sentence = ch == "." and (i + 1 == len(text) or text[i + 1].isspace())
        if depth <= 0 and (ch in ",;" or end_of_sentence):
            items.append(buf)
            buf = ""
            continue
        buf += ch
    items.append(buf)
    return tuple(t for t in (re.sub(r"^(?:and|or)\s+", "", p.strip(" .")) for p in items) if t)


def _sentence(state: IngestState, text: str, line: int, end: int) -> None:
    fm = _FOR.match(text)
    if fm:
        rule = fm.group("rule")
        lock = False if _NOT_REQ.search(rule) else True if re.search(_LOTO, rule, re.I) else None
        if lock is not None:
            _rule(state, fm.group("work"), lock, text, line, end)
            return
    pm = _PPE.match(text)
    if pm:
        _rule(state, "all work", None, text, line, end, ppe=_ppe_items(pm.group("ppe")))
        return
    found = False
    for sm in _SUBJ_REQ.finditer(text):
        work = re.sub(r"^(?:however|but|and)\s*,?\s*", "", sm.group("work").strip(), flags=re.I)
        lock = "not" not in sm.group("neg").lower()
        for w in re.split(r"\s+or\s+", work):
            _rule(state, w, lock, text, line, end)
        found = True
    for bm in _BEFORE.finditer(text):
        _rule(state, bm.group("work"), True, text, line, end)
        found = True
    if not found and re.search(rf"{_LOTO}|power (?:equipment )?off|turn off power", text, re.I):
        subject = re.split(r":", text, maxsplit=1)[0] if ":" in text[:40] else "all work"
        _rule(state, subject, True, text, line, end)


def run(state: IngestState) -> None:
    for sec in state.doc.sections:
        in_safety = bool(re.search(r"safety|precaution|warning", sec.title, re.I))
        for block in sec.all_blocks():
            if block.kind != "paragraph":
                continue
            is_warning = block.text.upper().startswith("WARNING")
            if not (in_safety or is_warning):
                continue
            if is_warning:
                _rule(
                    state,
                    "all work on the equipment",
                    True,
                    block.text,
                    block.line_start,
                    block.line_end,
                )
                continue
            before = len(state.get("safety"))
            ppe_block = _PPE.match(block.text)
            if ppe_block:
                # a PPE paragraph lists equipment, possibly over several sentences
                # ("Safety glasses. Gloves recommended for cable handling.")
                ppe = _ppe_items(ppe_block.group("ppe"))
                _rule(
                    state, "all work", None, block.text, block.line_start, block.line_end, ppe=ppe
                )
            lm = re.search(r"(?P<label>[A-Za-z][\w /-]{1,30}?) precautions?:", block.text, re.I)
            if lm:
                _rule(
                    state,
                    f"{lm.group('label')} precautions",
                    None,
                    block.text,
                    block.line_start,
                    block.line_end,
                    ppe=(lm.group("label") + " precautions",),
                )
            for s in split_lines(block.lines, sec.title):
                if ppe_block and _PPE.match(s.text):
                    continue
                _sentence(state, s.text, s.line_start, s.line_end)
            if len(state.get("safety")) == before and _VOLT.search(block.text):
                _rule(state, "voltages present", None, block.text, block.line_start, block.line_end)
