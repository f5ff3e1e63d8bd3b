"""Scoring: contributions -> ranked causes (pure functions, order-independent).

Bayesian with a single-fault assumption: each cause starts from its prior weight
(frequency wording in the manual, normalised over the partition), each piece of
evidence adds its log-likelihood ratio (a sum, so the order of evidence never
matters), and the posterior is normalised over the causes plus a "leak" for faults
the knowledge base does not know. Per cause and slot (an observation clause, a
reading, a code, a reported action) only the strongest contribution counts, so one
sentence matching a cause's symptom row and its title is not counted twice.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping, Sequence

from engine.observe import Observation
from engine.partition import Partition
from engine.records import Diagnosis, RankedCause, order_key
from engine.rules import Contrib
from engine.shown import MAX_CAUSES, MIN_CONFIDENCE

LEAK = 0.15  # prior mass of "a cause the knowledge base does not know"
# causes without evidence listed in Diagnosis.all_causes (by prior); the rest are
# still in the normaliser, and why_not computes any of them on demand
PRIOR_ONLY_LISTED = 40


def strongest(contribs: Iterable[Contrib]) -> dict[str, list[Contrib]]:
    """Per cause, the strongest contribution of each slot (ties: the larger id, so
    the choice does not depend on the order contributions arrive in).

    >>> a = Contrib("e1@0", "c", 0.5, "title", "x", "y", "m.md", 1, "symptom", slot="clause:0")
    >>> b = Contrib("e2@0", "c", 1.2, "symptom", "x", "z", "m.md", 2, "symptom", slot="clause:0")
    >>> [c.id for c in strongest([a, b])["c"]] == [c.id for c in strongest([b, a])["c"]]
    True
    """
    best: dict[tuple[str, str], Contrib] = {}
    for c in contribs:
        key = (c.cause, c.slot or c.id)
        have = best.get(key)
        if have is None or (abs(c.logw), c.id) > (abs(have.logw), have.id):
            best[key] = c
    per_cause: dict[str, list[Contrib]] = {}
    for (cause, _slot), c in best.items():
        per_cause.setdefault(cause, []).append(c)
    for cs in per_cause.values():
        if len(cs) > 1:  # in the order of the report
            cs.sort(key=lambda c: _slot_order(c.slot or c.id))
    return dict(sorted(per_cause.items()))


@functools.lru_cache(maxsize=4096)
def _slot_order(slot: str) -> tuple[str, int, str]:
    """Slots in the order of the report: "clause:2" before "clause:10"."""
    kind, _, n = slot.partition(":")
    return (kind, int(n), "") if n.isdigit() else (kind, -1, n)


def ranked_cause(
    part: Partition, cid: str, score: float, log_z: float, contribs: Sequence[Contrib]
) -> RankedCause:
    return RankedCause(part.causes[cid], math.exp(score - log_z), score, tuple(contribs))


def log_normaliser(part: Partition, scores: Mapping[str, float]) -> float:
    """log Z over the scored causes, the unscored ones at their prior (their total
    mass is known: priors sum to 1 per partition) and the leak. A query costs
    O(evidence), not O(knowledge base)."""
    leak = math.log(LEAK / (1 - LEAK))
    top = max([*scores.values(), leak, part.max_log_prior])
    rest = max(0.0, 1.0 - sum(math.exp(part.log_prior[cid]) for cid in scores))
    z = sum(math.exp(s - top) for s in scores.values()) + math.exp(leak - top)
    return top + math.log(z + rest * math.exp(-top))


def order(rc: RankedCause) -> tuple[float, tuple[str, int, str]]:
    """Best first; equally likely causes in the order their manual lists them (a
    troubleshooting list starts with what to suspect first), then by id."""
    return (-rc.confidence, order_key(rc.cause))


def rank(obs: Observation, part: Partition, contribs: Iterable[Contrib]) -> Diagnosis:
    """The causes of ``part`` ranked by their posterior given ``contribs``."""
    per_cause = strongest(contribs)
    informative = any(c.reason != "error code" for cs in per_cause.values() for c in cs)
    scores = {
        cid: part.log_prior[cid] + sum(c.logw for c in cs)
        for cid, cs in per_cause.items()
        if cid in part.log_prior
    }
    log_z = log_normaliser(part, scores)
    prior_only: list[tuple[str, float]] = []
    for cid in part.by_prior:
        if len(prior_only) >= PRIOR_ONLY_LISTED:
            break
        if cid not in scores:
            prior_only.append((cid, part.log_prior[cid]))
    # sorted as ``order`` sorts, on keys the partition knows (no record built first)
    listed = [(cid, s, math.exp(s - log_z)) for cid, s in [*scores.items(), *prior_only]]
    keys = part.order_keys
    listed.sort(key=lambda x: (-x[2], keys[x[0]]))
    causes = part.causes
    ranked = [
        RankedCause(causes[cid], conf, s, tuple(per_cause.get(cid, ()))) for cid, s, conf in listed
    ]
    message = ""
    suggestions: tuple[str, ...] = ()
    if not per_cause:
        message = (
            "No matching evidence: nothing in the observation matches a known "
            "symptom, reading or error code, so no cause is ranked."
        )
        return Diagnosis(
            obs,
            part.key,
            (),
            tuple(ranked),
            message,
            tuple(part.matcher.suggestions(obs.text)),
            log_z=log_z,
        )
    if not informative:
        message = (
            "Ranked on the error code alone: no symptom or reading matched, "
            "so these are the code's causes by prior frequency."
        )
        suggestions = tuple(part.matcher.suggestions(obs.text))
    shown = tuple(
        rc
        for rc in ranked[:MAX_CAUSES]
        if rc.confidence >= MIN_CONFIDENCE and (rc.contribs or not informative)
    )
    if not shown and informative:
        # the evidence fits many causes (typically the same symptom on many models)
        # and none stands out: say so, and show the closest anyway
        shown = tuple(rc for rc in ranked if rc.contribs)[:MAX_CAUSES]
        fits = [c for c in per_cause if c in part.causes]
        models = {part.causes[c].equipment for c in fits}
        message = (
            f"The observation fits {len(fits)} causes on {len(models)} models "
            "about equally, so none stands out; give the model or the error code "
            "to narrow it down. The closest are listed."
        )
    return Diagnosis(obs, part.key, shown, tuple(ranked), message, suggestions, log_z=log_z)
