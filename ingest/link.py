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
    if len(state.terms(title)) < 1 or names_nothing(title):
        return None
    found = find_cause(state, title)
    if found is not None:
        return found
    basis = likelihood(state, title, "stated in prose")
    return state.new_cause(title, source, remedy=remedy, prior_basis=basis)


# "it has identified an error", "if this does not succeed": once the pronoun is gone
# the phrase names nothing (its subject is in another sentence), so it is no cause
_VERB_FIRST = frozenset(
    [
        "has",
        "have",
        "had",
        "does",
        "do",
        "did",
        "may",
        "might",
        "can",
        "could",
        "will",
        "would",
        "should",
        "was",
        "were",
        "are",
    ]
)


def names_nothing(phrase: str) -> bool:
    """True when a cause phrase, once tidied, starts with its verb: its subject was
    a pronoun pointing elsewhere. A question ("Does the device have access
    enabled?") is a check, and "CAN" is a bus.

    >>> names_nothing("it has identified an error"), names_nothing("Relay has welded")
    (True, False)
    >>> names_nothing("CAN cable damaged"), names_nothing("Does the port match?")
    (False, False)
    """
    title = tidy(phrase)
    first = title.split(maxsplit=1)[0] if title else ""
    return first.lower() in _VERB_FIRST and not first.isupper() and "?" not in title


# what only points at another sentence ("this is done", "it happens")
_POINTS_ELSEWHERE = re.compile(
    r"(?:this|that|it|these|those)\s+(?:is|are|was|were|has\s+been|happens|happened|"
    r"occurs|occurred)(?:\s+\w+)?"
)


def points_elsewhere(phrase: str) -> bool:
    """A short phrase whose subject is a pronoun and which says nothing itself.

    >>> points_elsewhere("This is done"), points_elsewhere("This is a wiring fault here")
    (True, False)
    """
    return _POINTS_ELSEWHERE.fullmatch(phrase.strip().rstrip(".").lower()) is not None


# likelihood wording in a cause's own text ("(unlikely)", "rare", "most likely"), and
# a conclusion the manual hedges ("the connection may have just dropped"; "could not
# be locked" states a fact)
_LIKELIHOOD = re.compile(
    r"\b(most likely|unlikely|likely|rarely|rare|uncommon|occasional|occasionally|"
    r"often|common|frequent|usually|typically|regularly|sometimes|primary|temporary|"
    r"intermittent|may|might|could(?!\s+not\b))\b",
    re.I,
)


def likelihood(state: IngestState, text: str, default: str) -> str:
    """The prior wording (``priors.yaml``) a cause's text uses, else ``default``."""
    m = _LIKELIHOOD.search(text)
    if m and m.group(1).lower() in state.priors:
        return m.group(1).lower()
    return default
