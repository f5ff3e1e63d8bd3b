"""Causal statements in prose: "A broken latch causes the connector to fall out",
"If the error was caused by X, a reboot can clear it", "— if so, this is likely a
carrier outage", "X is a hardware fault (A, B, C)", "If X, <do Y>"."""

from __future__ import annotations

import re

from ingest.link import find_cause, resolve_cause, tidy
from ingest.state import IngestState, Sentence
from kb.schema import Cause, Evidence, slug

_CAUSES = re.compile(
    r"^(?:an?\s+|the\s+)?(?P<cause>[^,;:]{3,60}?)\s+(?:can |may |will |often |"
    r"(?:is|are|was|were)\s+(?:enough|sufficient|known|likely|able)\s+to\s+)?"
    r"causes?\s+(?P<effect>.+)$",
    re.I,
)
_CAUSED_BY = re.compile(r"^if\s+.*?\bcaused by\s+(?P<cause>[^,]+),\s*(?P<then>.+)$", re.I)
_IF_SO = re.compile(
    r"^(?:check\s+(?:if|whether)\s+)?(?P<check>.+?)\s*[\u2014\u2013-]+\s*if so,\s*"
    r"(?:this|it) is (?:likely|probably|usually) (?:an?\s+)?(?P<cause>[^,.]+)",
    re.I,
)
_IF_LIKELY = re.compile(
    r"^if\s+(?P<cond>[^,]+),\s*(?P<then>.*?\b(?:is|are)\s+(?:likely|probably)\s+"
    r"(?P<cause>[^(.,]+?))(?:\s*\(|\s+rather than\b|[.,]|$)",
    re.I,
)
_IF_RESOLVES = re.compile(
    r"^if\s+(?P<cond>[^,]+),\s*(?P<then>[^.]*\b(?:resolves|clears|fixes|"
    r"solves)\b[^.]*)",
    re.I,
)
_IF_DO = re.compile(
    r"^if\s+(?P<cond>[^,]+),\s*(?P<then>(?:erase|replace|reflash|re-flash|reset|"
    r"restart|reboot|clean|check|contact|update|reseat|re-seat|tighten|"
    r"call|disable|enable|hold|press)\b.+)$",
    re.I,
)
_MEANS = re.compile(
    r"^(?:any\s+)?(?P<cond>[^,]{3,60}?)\s+(?:means|indicates)\s+(?P<then>.+)$", re.I
)
_LISTED = re.compile(
    r"^(?P<sym>.+?)\s+is\s+an?\s+(?:[\w-]+\s+)?(?:fault|failure|error|problem)\s*"
    r"\((?P<list>[^)]+)\)",
    re.I,
)
_HAS_VALUE = re.compile(r"\d\s*(?:v|ω|ohm|bars?|nm|seconds?|minutes?)\b", re.I)


def _evidence(state: IngestState, cause: Cause, text: str, s: Sentence, strength: float) -> None:
    state.add(
        "evidence",
        Evidence(
            id=f"{cause.id}/ev/{slug(text, 40)}",
            manual=state.manual_id,
            kind="statement",
            text=text.strip().rstrip("."),
            cause=cause.id,
            strength=strength,
            polarity="for",
            source=state.source(s.line_start, s.line_end),
        ),
    )


def _structured(state: IngestState) -> bool:
    """Manuals with a symptom or cause table define their causes there."""
    return any(e.kind in ("symptom", "note") for e in state.get("evidence"))


def run(state: IngestState) -> None:
    structured = _structured(state)
    for s in state.sentences:
        text = re.sub(r"\s+", " ", s.text).strip()
        src = state.source(s.line_start, s.line_end)
        if m := _CAUSED_BY.match(text):
            cause = resolve_cause(state, m.group("cause"), src, remedy=m.group("then"))
            if cause:
                _evidence(state, cause, m.group("then"), s, 3.0)
            continue
        if m := _IF_SO.match(text):
            cause = resolve_cause(state, m.group("cause"), src)
            if cause:
                _evidence(state, cause, m.group("check"), s, 6.0)
            continue
        if _HAS_VALUE.search(text.split(",")[0]):
            continue  # readings are the measurements extractor's business
        if m := _IF_LIKELY.match(text):
            phrase = re.sub(r"\b(?:is|are)\s+(?:likely|probably)\s+", " ", m.group("then"))
            phrase = re.sub(r"\s*\(.*", "", phrase)
            cause = find_cause(state, phrase, 0.6) or (
                None if structured else resolve_cause(state, phrase, src)
            )
            if cause:
                _evidence(state, cause, m.group("cond"), s, 3.0)
            continue
        if m := _IF_RESOLVES.match(text):
            cause = find_cause(state, m.group("cond"), 0.6) or (
                None if structured else resolve_cause(state, m.group("cond"), src)
            )
            if cause:
                _evidence(state, cause, m.group("then"), s, 3.0)
            continue
        if m := _IF_DO.match(text):
            cause = find_cause(state, m.group("cond"), 0.6, evidence=True) or (
                None
                if structured
                else resolve_cause(state, m.group("cond"), src, remedy=m.group("then"))
            )
            if cause:
                _evidence(state, cause, m.group("cond"), s, 3.0)
            continue
        if m := _LISTED.match(text):
            for name in re.split(r",\s*|\s+or\s+", m.group("list")):
                if name.strip():
                    cause = resolve_cause(state, name, src)
                    if cause:
                        _evidence(state, cause, m.group("sym"), s, 3.0)
            continue
        if (m := _CAUSES.match(text)) and not re.match(
            r"(?:and|or|of|for|include|are|is|:)\b", m.group("effect"), re.I
        ):
            cause = resolve_cause(state, m.group("cause"), src)
            if cause:
                effect = re.split(r",\s*(?:or|and)?\b", m.group("effect"))[0]
                _evidence(state, cause, re.sub(r"\s+or$", "", effect), s, 6.0)
            continue
        if m := _MEANS.match(text):
            cause = find_cause(state, m.group("cond"), 0.6, evidence=True)
            if cause:
                _evidence(state, cause, tidy(m.group("cond")), s, 4.0)
