"""What a diagnosis answers: ranked causes, each with the evidence that moved it."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field

from engine.observe import Observation
from engine.plan import Plan
from engine.rules import Contrib, Reason
from kb.schema import Cause


def order_key(c: Cause) -> tuple[str, int, str]:
    """Equally likely causes in the order their manual lists them (a
    troubleshooting list starts with what to suspect first), then by id."""
    return (c.source.path, c.source.line_start, c.id)


@dataclass(frozen=True)
class EvidenceItem:
    """One contribution to a cause's score, as the explanation shows it."""

    kind: str  # what matched, in detail ("symptom", "title", "reading in range", ...)
    observation: str  # the words of the report (or the reading, the code) it came from
    matched: str  # the knowledge-base text it met
    weight: float  # log-likelihood ratio contributed
    path: str
    line: int
    # the kind of reasoning: symptom, reading, normal finding, action outcome, stated
    # cue, repair history, error code
    reason: Reason = "symptom"
    similarity: float | None = None  # how closely a symptom matched (0..1)

    @property
    def polarity(self) -> str:
        return "for" if self.weight >= 0 else "against"


@dataclass(frozen=True)
class RankedCause:
    cause: Cause
    confidence: float
    score: float  # posterior log-odds before normalisation
    contribs: tuple[Contrib, ...] = field(default=(), compare=False, repr=False)

    @functools.cached_property
    def evidence(self) -> tuple[EvidenceItem, ...]:
        """The contributions as the explanation shows them, strongest first (made
        when first asked: most ranked causes are never shown)."""
        return evidence_items(self.contribs)


def evidence_items(contribs: Sequence[Contrib]) -> tuple[EvidenceItem, ...]:
    return tuple(
        sorted(
            (
                EvidenceItem(
                    c.kind,
                    c.observation,
                    c.matched,
                    round(c.logw, 3),
                    c.path,
                    c.line,
                    c.reason,
                    c.similarity,
                )
                for c in contribs
            ),
            key=lambda e: -abs(e.weight),  # stable: equal weights keep the report's order
        )
    )


@dataclass(frozen=True)
class Diagnosis:
    observation: Observation
    partition: str
    causes: tuple[RankedCause, ...]
    all_causes: tuple[RankedCause, ...]
    message: str = ""
    suggestions: tuple[str, ...] = ()
    plan: Plan | None = None
    log_z: float = 0.0  # log normaliser: any cause's confidence is exp(score - log_z)
    warnings: tuple[str, ...] = ()  # e.g. an error code the knowledge base does not know
