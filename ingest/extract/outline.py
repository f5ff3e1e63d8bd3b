"""The manual's outline, last in the chain: headings, verbatim prose, and references
to the records each structured block was compiled into, so the manual can be
regenerated from the knowledge base (``evkb manual render``)."""

from __future__ import annotations

from dataclasses import replace

from ingest.state import IngestState
from kb.schema import OutlineBlock


def _raw(state: IngestState, start: int, end: int) -> str:
    lines = state.doc.source_lines[start - 1 : end]
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines)


def run(state: IngestState) -> None:
    if state.manual is None:
        return
    out: list[OutlineBlock] = []

    def emit(block: OutlineBlock) -> None:
        if block.kind == "ref" and out and out[-1] == block:
            return  # a paragraph and its list compile into one record
        out.append(block)

    if state.doc.front_matter:
        emit(OutlineBlock("ref", "meta"))
    for sec in state.doc.sections:
        if sec.level > 0:
            if sec.line in state.meta_headings:
                emit(OutlineBlock("ref", "meta"))
            else:
                emit(OutlineBlock("heading", sec.raw_title.strip(), sec.level))
        for block in sec.blocks:
            ref = state.consumed.get(block.line_start)
            if ref is not None:
                emit(OutlineBlock("ref", ref))
            elif block.line_start > 0:
                emit(OutlineBlock("raw", _raw(state, block.line_start, block.line_end)))
    manual = replace(state.manual, outline=tuple(out))
    state.manual = manual
    state.records["manuals"] = [manual]
