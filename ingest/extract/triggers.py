"""Error-code trigger conditions: "Error `X` is triggered when:" + a bulleted
list, or "`X` is reported when <condition>." in prose."""

from __future__ import annotations

import re

from ingest.extract.metadata import CODE
from ingest.link import resolve_cause
from ingest.state import IngestState
from kb.schema import ErrorCode, Evidence, slug

_TRIGGER = re.compile(
    r"(?:error\s+)?(?P<code>" + CODE.pattern + r")\s+(?:is|are)\s+"
    r"(?:triggered|reported|raised|set|shown|displayed)\s+when\b\s*:?\s*(?P<rest>.*)$",
    re.I,
)
_PAREN = re.compile(r"\(([^()]+)\)\s*$")


def run(state: IngestState) -> None:
    for sec in state.doc.sections:
        blocks = sec.blocks
        for i, block in enumerate(blocks):
            if block.kind != "paragraph":
                continue
            m = _TRIGGER.search(block.text)
            if not m:
                continue
            code = m.group("code")
            rest = m.group("rest").strip()
            end = block.line_end
            conditions: list[tuple[str, int]] = []
            if not rest and i + 1 < len(blocks) and blocks[i + 1].kind == "list":
                lst = blocks[i + 1]
                conditions = [(it.text, it.line_start) for it in lst.items]
                end = lst.line_end
            elif rest:
                conditions = [(re.split(r"(?<=\.)\s", rest)[0].rstrip("."), block.line_start)]
            if not conditions:
                state.fail(block.line_start, f"expected the conditions that trigger {code}")
            record = ErrorCode(
                id=f"{state.manual_id}/error/{code}",
                code=code,
                equipment=state.equipment,
                manual=state.manual_id,
                conditions=tuple(c for c, _ in conditions),
                source=state.source(block.line_start, end),
            )
            state.add("error_codes", record)
            state.claim(block.line_start, end)
            if not rest and i + 1 < len(blocks) and blocks[i + 1].kind == "list":
                ref = f"triggers:{record.id}"
                state.consumed[block.line_start] = state.consumed[blocks[i + 1].line_start] = ref
            for text, line in conditions:
                # "... (cable jammed or sensor failure)" names the causes outright
                pm = _PAREN.search(text)
                if pm and re.search(r"\bor\b|fail|jam|broke", pm.group(1), re.I):
                    src = state.source(line)
                    cause = resolve_cause(state, pm.group(1), src)
                    if cause is not None:
                        state.add(
                            "evidence",
                            Evidence(
                                id=f"{cause.id}/ev/condition-{slug(text, 32)}",
                                manual=state.manual_id,
                                kind="condition",
                                text=text[: pm.start()].strip(),
                                cause=cause.id,
                                strength=4.0,
                                polarity="for",
                                source=src,
                            ),
                        )
