"""Finding and validating the tables an extractor knows by their header."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ingest.state import IngestState
from ingest.tree import Block, Row, Section


def find(
    state: IngestState, first: str, required: tuple[str, ...]
) -> Iterator[tuple[Section, Block, dict[str, int]]]:
    """Tables whose first header cell matches ``first``; every ``required`` column
    must be present (a table missing a column fails with its line)."""
    for sec in state.doc.sections:
        for block in sec.all_blocks():
            if block.kind != "table" or not block.header:
                continue
            if not re.search(first, block.header[0], re.I):
                continue
            cols: dict[str, int] = {}
            for want in required:
                for j, h in enumerate(block.header):
                    if re.search(want, h, re.I):
                        cols[want] = j
                        break
                else:
                    names = " | ".join(block.header)
                    state.fail(
                        block.line_start,
                        f"expected a column matching {want!r} in the table header (found: {names})",
                    )
            yield sec, block, cols


def cells(state: IngestState, block: Block, row: Row, cols: dict[str, int]) -> dict[str, str]:
    """The row's cells by column key; a row with fewer cells than the header, or an
    empty required cell, fails with the row's line."""
    if row.raw_cells < len(block.header):
        state.fail(
            row.line,
            f"expected {len(block.header)} cells ({' | '.join(block.header)}), "
            f"found {row.raw_cells}",
        )
    out: dict[str, str] = {}
    for key, j in cols.items():
        value = row.cells[j].strip() if j < len(row.cells) else ""
        if not value:
            state.fail(row.line, f"expected a value in column {block.header[j]!r}")
        out[key] = value
    return out
