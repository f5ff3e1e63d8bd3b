"""The Required Tools table: tools, and the replacement parts listed in it with
their variants (cable length as installed; spring kit generation)."""

from __future__ import annotations

import re

from ingest import tables
from ingest.state import IngestState
from kb.schema import Part, Tool

_VARIANT = r"(?:Gen\s*\d+|\d+(?:\.\d+)?-?\s*(?:foot|feet|ft|m|meter|metre)\b|Rev\s*[A-Z0-9]+)"
_VARIANTS = re.compile(rf"({_VARIANT})((?:\s*,\s*{_VARIANT})*)\s+or\s+({_VARIANT})", re.I)
_PART = re.compile(r"^(replacement|spare|new)\b", re.I)


def variants(spec: str) -> tuple[tuple[str, ...], str]:
    m = _VARIANTS.search(spec)
    if not m:
        return (), ""
    found = [m.group(1)]
    found += [v.strip() for v in m.group(2).split(",") if v.strip()]
    found.append(m.group(3))
    basis = spec[m.end() :].strip(" \u2014-,;()")
    if not basis:
        basis = spec[: m.start()].strip(" \u2014-,;()")
    return tuple(found), basis


def run(state: IngestState) -> None:
    for _sec, block, cols in tables.find(state, r"^tools?\b", ("tool",)):
        state.consumed[block.line_start] = "table:tools"
        spec_col = next((j for j, h in enumerate(block.header) if re.search("spec", h, re.I)), None)
        purpose_col = next(
            (j for j, h in enumerate(block.header) if re.search("purpose|use", h, re.I)), None
        )
        for row in block.rows:
            c = tables.cells(state, block, row, cols)
            name = c["tool"]
            spec = row.cells[spec_col] if spec_col is not None else ""
            purpose = row.cells[purpose_col] if purpose_col is not None else ""
            src = state.source(row.line)
            if _PART.match(name):
                vs, basis = variants(spec)
                state.add(
                    "parts",
                    Part(
                        id=state.rid("part", name),
                        manual=state.manual_id,
                        name=name,
                        specification=spec,
                        purpose=purpose,
                        variants=vs,
                        variant_basis=basis,
                        source=src,
                    ),
                )
            else:
                state.add(
                    "tools",
                    Tool(
                        id=state.rid("tool", name),
                        manual=state.manual_id,
                        name=name,
                        specification=spec,
                        purpose=purpose,
                        source=src,
                    ),
                )
