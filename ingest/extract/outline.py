"""The manual's outline, last in the chain: headings, verbatim prose, references
to the records a fixed-format block was compiled into (metadata, trigger list,
tools table, procedure steps), and *templates* for every other block that
knowledge was read from: the block's Markdown with each record text it holds
replaced by ``⟦record-id#field⟧``, so ``evkb manual render`` regenerates the
block in its own layout from what the records say."""

from __future__ import annotations

from dataclasses import replace

from ingest.state import IngestState, Span
from kb.schema import OutlineBlock

OPEN, CLOSE = "\u27e6", "\u27e7"


def _lines(state: IngestState, start: int, end: int) -> list[str]:
    lines = state.doc.source_lines[start - 1 : end]
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def template(lines: list[str], first: int, spans: list[Span]) -> str | None:
    """``lines`` (the block, starting at line ``first``) with each span's text
    replaced by its placeholder, at its first free place on the span's lines;
    None when no span's text is found as written."""
    out = list(lines)
    taken: list[list[tuple[int, int]]] = [[] for _ in out]
    placed = 0
    for sp in spans:
        if not sp.text:
            continue
        for n in range(sp.line_start, sp.line_end + 1):
            i = n - first
            if not 0 <= i < len(out):
                continue
            line = out[i]
            at = line.find(sp.text)
            while at >= 0 and any(a < at + len(sp.text) and at < b for a, b in taken[i]):
                at = line.find(sp.text, at + 1)
            if at < 0:
                continue
            mark = f"{OPEN}{sp.record}#{sp.field}{CLOSE}"
            out[i] = line[:at] + mark + line[at + len(sp.text) :]
            shift = len(mark) - len(sp.text)
            taken[i] = [
                (a + shift, b + shift) if a >= at + len(sp.text) else (a, b) for a, b in taken[i]
            ]
            taken[i].append((at, at + len(mark)))
            placed += 1
            break
    return "\n".join(out) if placed else None


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
    spans = sorted(state.spans, key=lambda s: s.line_start)
    for sec in state.doc.sections:
        if sec.level > 0:
            if sec.line in state.meta_headings:
                emit(OutlineBlock("ref", "meta"))
            else:
                heading = [s for s in spans if s.line_start == sec.line]
                text = template([sec.raw_title.strip()], sec.line, heading) if heading else None
                if text is not None:
                    emit(OutlineBlock("template", text, sec.level))
                else:
                    emit(OutlineBlock("heading", sec.raw_title.strip(), sec.level))
        for block in sec.blocks:
            ref = state.consumed.get(block.line_start)
            if ref is not None:
                emit(OutlineBlock("ref", ref))
                continue
            if block.line_start <= 0:
                continue
            lines = _lines(state, block.line_start, block.line_end)
            inside = [s for s in spans if block.line_start <= s.line_start <= block.line_end]
            text = template(lines, block.line_start, inside) if inside else None
            if text is not None:
                emit(OutlineBlock("template", text))
            else:
                emit(OutlineBlock("raw", "\n".join(lines)))
    manual = replace(state.manual, outline=tuple(out))
    state.manual = manual
    state.records["manuals"] = [manual]
