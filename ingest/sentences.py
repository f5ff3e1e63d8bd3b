"""Split the prose of a document (paragraphs and list items, not tables or code)
into sentences that keep their line numbers."""

from __future__ import annotations

import re

from ingest.state import IngestState, Sentence
from ingest.tree import Item, Line

_ITEM_LINE = re.compile(r"^\s*(?:\[[ xX]?\]|\(?\d{1,3}[.)]\s)")
_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z(*`\"'])")


def split_lines(lines: list[Line], section: str) -> list[Sentence]:
    out: list[Sentence] = []
    buf = ""
    start = lines[0].number if lines else 0
    for ln in lines:
        if buf and _ITEM_LINE.match(ln.raw or ln.text):
            # "[ ] 24. ..." on its own line is an item of a checklist, not the sentence
            # before it going on
            out.append(Sentence(buf.strip(), start, ln.number - 1, section))
            buf = ""
        if not buf:
            start = ln.number
        buf = f"{buf} {ln.text}".strip()
        parts = _SPLIT.split(buf)
        for part in parts[:-1]:
            out.append(Sentence(part.strip(), start, ln.number, section))
            start = ln.number
        buf = parts[-1]
        if buf and buf[-1] in ".!?":
            out.append(Sentence(buf.strip(), start, ln.number, section))
            buf = ""
    if buf:
        out.append(Sentence(buf.strip(), start, lines[-1].number, section))
    return out


def item_sentences(item: Item, section: str) -> list[Sentence]:
    out = split_lines(item.lines, section) if item.lines else []
    for child in item.children:
        out.extend(item_sentences(child, section))
    return out


def collect(state: IngestState) -> None:
    """Fill ``state.sentences`` from every paragraph and list item."""
    for sec in state.doc.sections:
        for block in sec.all_blocks():
            if block.kind == "paragraph":
                state.sentences.extend(split_lines(block.lines, sec.title))
            elif block.kind == "list":
                for item in block.items:
                    state.sentences.extend(item_sentences(item, sec.title))
