"""The cause / notes table (with its frequency wording kept as the prior)."""

from __future__ import annotations

import re

from ingest import tables
from ingest.state import IngestState
from kb.schema import Evidence

_FREQ = re.compile(
    r"\b(rare|rarely|uncommon|occasional|common|frequent|often|usually|most common|"
    r"temporary|intermittent)\b",
    re.I,
)


def run(state: IngestState) -> None:
    for _sec, block, cols in tables.find(state, r"^cause", ("cause", "notes|frequency|comment")):
        state.consumed[block.line_start] = "table:causes"
        for row in block.rows:
            c = tables.cells(state, block, row, cols)
            src = state.source(row.line)
            notes = c["notes|frequency|comment"]
            fm = _FREQ.search(notes)
            basis = fm.group(1).lower() if fm else "cause table"
            remedy = ""
            rm = re.search(r"\b(contact [^.;]+|cleared by [^.;]+|check [^.;]+)", notes, re.I)
            if rm:
                remedy = rm.group(1)
            cause = state.new_cause(c["cause"], src, notes=notes, remedy=remedy, prior_basis=basis)
            if fm and notes.strip(" .—-").lower() == fm.group(1).lower():
                continue  # a bare frequency word is a prior, not an observable
            state.add(
                "evidence",
                Evidence(
                    id=f"{cause.id}/ev/note",
                    manual=state.manual_id,
                    kind="note",
                    text=notes,
                    cause=cause.id,
                    strength=4.0,
                    polarity="for",
                    source=src,
                ),
            )
