"""The symptom -> probable-cause table."""

from __future__ import annotations

import re

from ingest import tables
from ingest.link import find_cause
from ingest.state import IngestState
from kb.schema import Evidence, Symptom
from kb.text import terms

_DASH = re.compile(r"\s+[\u2014\u2013]\s+|\s+--?\s+")
_IMPERATIVE = re.compile(
    r"^(replace|repair|swap|contact|check|call|reseat|re-seat|clean|tighten|adjust|inspect)\b",
    re.I,
)


def split_title(text: str) -> tuple[str, str, str]:
    """'CP signal break in cable — usually near ...' -> (title, notes, remedy)."""
    parts = _DASH.split(text, maxsplit=1)
    title = parts[0].strip()
    notes = remedy = ""
    if len(parts) > 1:
        tail = parts[1].strip()
        if _IMPERATIVE.match(tail):
            remedy = tail
        else:
            notes = tail
            rm = re.search(r"(?:,|;)\s*(replace[^,;]*)$", tail, re.I)
            if rm:
                remedy = rm.group(1)
    return title, notes, remedy


def run(state: IngestState) -> None:
    for _sec, block, cols in tables.find(state, r"symptom", ("symptom", "cause")):
        state.consumed[block.line_start] = "table:symptoms"
        for row in block.rows:
            c = tables.cells(state, block, row, cols)
            src = state.source(row.line)
            title, notes, remedy = split_title(c["cause"])
            cause = find_cause(state, title, threshold=0.9) or state.new_cause(
                title, src, notes=notes, remedy=remedy, prior_basis="symptom table"
            )
            symptom = Symptom(
                id=state.rid("symptom", c["symptom"]),
                manual=state.manual_id,
                text=c["symptom"],
                terms=tuple(sorted(terms(c["symptom"], state.lexicon))),
                source=src,
            )
            state.add("symptoms", symptom)
            state.add(
                "evidence",
                Evidence(
                    id=f"{cause.id}/ev/{symptom.id.rsplit('/', 1)[1]}",
                    manual=state.manual_id,
                    kind="symptom",
                    text=c["symptom"],
                    cause=cause.id,
                    strength=8.0,
                    polarity="for",
                    source=src,
                ),
            )
