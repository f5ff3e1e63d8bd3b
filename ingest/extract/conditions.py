"""Link each error-code trigger condition to the causes it describes."""

from __future__ import annotations

from ingest.link import find_cause
from ingest.state import IngestState
from kb.schema import ErrorCode, Evidence, slug


def run(state: IngestState) -> None:
    linked = {e.source.line_start for e in state.get("evidence") if e.kind == "condition"}
    for ec in list(state.get("error_codes")):
        assert isinstance(ec, ErrorCode)
        for n, text in enumerate(ec.conditions):
            line = ec.source.line_start + 1 + n if len(ec.conditions) > 1 else ec.source.line_start
            if line in linked:
                continue
            cause = find_cause(state, text, 0.6)
            if cause is None:
                continue
            state.add(
                "evidence",
                Evidence(
                    id=f"{cause.id}/ev/condition-{slug(ec.code)}-{n}",
                    manual=state.manual_id,
                    kind="condition",
                    text=text,
                    cause=cause.id,
                    strength=3.0,
                    polarity="for",
                    source=state.source(line),
                ),
            )
