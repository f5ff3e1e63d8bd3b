"""Serial-number shapes that date a hardware generation: a sentence naming a
generation ("Gen 2", "generation 1") and a serial written with placeholders
("serial numbers > WB-2XXXX") gives the shape, whose generation digit is the
one before the placeholders that equals the generation named. The engine reads a
serial on a report by these shapes (engine/observe.py) and picks part variants by
its generation."""

from __future__ import annotations

import re

from ingest.identifiers import strip_markup
from ingest.state import IngestState
from kb.schema import SerialFormat, slug

_GEN = re.compile(r"\bgen(?:eration)?\.?\s*(\d)\b", re.I)
_SERIAL_WORD = re.compile(r"\bserial|\bS/N\b", re.I)
# a serial with placeholders: letters/digits, maybe a dash, then two or more X
_TEMPLATE = re.compile(r"\b([A-Z0-9]{2,}-?[A-Z0-9]*?X{2,}[A-Z0-9]*)\b")


def run(state: IngestState) -> None:
    for s in state.sentences:
        text = strip_markup(s.text)
        if not _SERIAL_WORD.search(text):
            continue
        gens = {int(m.group(1)) for m in _GEN.finditer(text)}
        for m in _TEMPLATE.finditer(text):
            template = m.group(1)
            head = template[: template.index("XX")]
            for gen in sorted(gens):
                pos = head.rfind(str(gen))
                if pos < 0:
                    continue
                state.add(
                    "serial_formats",
                    SerialFormat(
                        id=f"{state.manual_id}/serial/{slug(template)}",
                        manual=state.manual_id,
                        template=template,
                        generation=gen,
                        position=pos,
                        source=state.source(s.line_start, s.line_end),
                    ),
                )
                break
