"""Question-and-answer documents: a heading that asks "...?" is a symptom; an
answer that says "you have probably X" names the cause."""

from __future__ import annotations

import re

from ingest.link import resolve_cause
from ingest.state import IngestState
from kb.schema import Evidence, Symptom, slug

_PROBABLY = re.compile(
    r"\b(?:you have |you've |it is |this is )?(?:probably|most likely|likely)\s+"
    r"(?P<cause>[^.;]+)",
    re.I,
)


def run(state: IngestState) -> None:
    for sec in state.doc.sections:
        question = sec.title.strip("# ")
        if not question.endswith("?") or sec.level == 0:
            continue
        for block in sec.blocks:
            if block.kind != "paragraph":
                continue
            m = _PROBABLY.search(block.text)
            if not m:
                continue
            src = state.source(sec.line, block.line_end)
            cause = resolve_cause(
                state, m.group("cause"), state.source(block.line_start, block.line_end)
            )
            if cause is None:
                continue
            symptom = Symptom(
                id=state.rid("symptom", question),
                manual=state.manual_id,
                text=question,
                source=state.source(sec.line),
            )
            state.add("symptoms", symptom)
            state.add(
                "evidence",
                Evidence(
                    id=f"{cause.id}/ev/faq-{slug(question, 24)}",
                    manual=state.manual_id,
                    kind="symptom",
                    text=question,
                    cause=cause.id,
                    strength=6.0,
                    polarity="for",
                    source=src,
                ),
            )
            break
