"""Resolve a cause phrase found in prose to a cause already extracted from the
same manual, or create a new cause for it."""

from __future__ import annotations

import re

from ingest.state import IngestState
from kb.schema import Cause, Source
from kb.text import _FAULT_STEMS, containment

_LEAD = re.compile(r"^(?:the|a|an|this|that|it|is|likely|probably)\s+", re.I)
_TRAIL = re.compile(r"[\s.;:,!]+$")


def tidy(phrase: str) -> str:
    p = phrase.strip()
    while True:
        q = _LEAD.sub("", p)
        if q == p:
            break
        p = q
    p = re.split(r"\s+[\u2014\u2013]\s+", p)[0]  # "Kinking — repeated bending": the name
    p = _TRAIL.sub("", p)
    return p[:1].upper() + p[1:] if p else p


def find_cause(
    state: IngestState, phrase: str, threshold: float = 0.5, *, evidence: bool = False
) -> Cause | None:
    """The cause of this manual whose title (or, with ``evidence``, whose symptom
    texts) best covers ``phrase``, or None below ``threshold``."""
    want = state.terms(phrase)
    if not want - _FAULT_STEMS:
        return None  # no text can share a word of it that says something
    best: tuple[float, Cause] | None = None
    texts: list[tuple[str, Cause]] = [(c.title, c) for c in state.get("causes")]
    if evidence:
        by_id = {c.id: c for c in state.get("causes")}
        texts += [(e.text, by_id[e.cause]) for e in state.get("evidence") if e.cause in by_id]
    for text, cause in texts:
        have = state.terms(text)
        if not (want & have) - _FAULT_STEMS:
            continue  # sharing only "broken"/"failed" says nothing about the component
        score = max(containment(want, have), containment(have, want))
        if score >= threshold and (best is None or score > best[0]):
            best = (score, cause)
    return best[1] if best else None


def resolve_cause(
    state: IngestState, phrase: str, source: Source, *, remedy: str = ""
) -> Cause | None:
    title = tidy(phrase)
    if len(state.terms(title)) < 1:
        return None
    found = find_cause(state, title)
    if found is not None:
        return found
    # "the connection may have just dropped": a conclusion the manual hedges
    basis = "may" if _HEDGED.search(title) and "may" in state.priors else "stated in prose"
    return state.new_cause(title, source, remedy=remedy, prior_basis=basis)


_HEDGED = re.compile(r"\b(?:may|might|could)\s+(?:have\s+)?(?:just\s+|also\s+)?\w", re.I)
