"""Fault simulator: expected cost of repair of three strategies.

For one equipment/error-code partition, a true cause is sampled from the priors.
A step that *tests* the true cause reveals it (a test of other causes rules those
out); a step that *fixes* it ends the repair. Costs are step minutes; the lockout
step is paid once before the first step that needs it; verification is paid once.

- ``perfect``: the cause is known; do its test (if it has no fix) or its fix, plus
  prerequisites and verification (the lower bound).
- ``manual``: the manual's static order, every step in turn until the fault is fixed.
- ``planned``: evkb's ordering: repeatedly the step with the best
  P(resolves or decides) / minutes under the current belief, within precedence.

A cause with no fixing step counts as resolved once a test identifies it (e.g. a
carrier outage is confirmed and left to the carrier).
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from engine.plan import VERIFY, CauseSteps
from kb.schema import Cause, Step


@dataclass(frozen=True)
class SimResult:
    partition: str
    trials: int
    perfect: float
    manual: float
    planned: float


class Scenario:
    def __init__(self, causes: list[Cause], steps: list[Step], links: Mapping[str, CauseSteps]):
        self.causes = causes
        self.steps = [s for s in steps if not VERIFY.search(s.title)]
        self.verify = sum(s.minutes for s in steps if VERIFY.search(s.title)) or 0.0
        self.by_id = {s.id: s for s in steps}
        self.links = {c.id: links[c.id] for c in causes}
        total = sum(c.prior for c in causes)
        self.prior = {c.id: c.prior / total for c in causes}

    def _cost(self, sid: str, done: set[str]) -> float:
        """Minutes of a step plus its not-yet-done prerequisites."""
        cost = 0.0
        for req in self.by_id[sid].requires:
            if req not in done:
                cost += self._cost(req, done)
                done.add(req)
        if sid not in done:
            cost += self.by_id[sid].minutes
            done.add(sid)
        return cost

    def _resolves(self, sid: str, cause: str) -> bool:
        link = self.links[cause]
        return sid in link.fixes or (not link.fixes and sid in link.tests)

    def perfect(self, cause: str) -> float:
        link = self.links[cause]
        targets = link.fixes or link.tests[:1]
        done: set[str] = set()
        return sum(self._cost(s, done) for s in targets) + self.verify

    def manual(self, cause: str) -> float:
        done: set[str] = set()
        cost = 0.0
        for s in self.steps:
            cost += self._cost(s.id, done)
            if self._resolves(s.id, cause):
                break
        return cost + self.verify

    def planned(self, cause: str) -> float:
        belief = dict(self.prior)
        done: set[str] = set()
        cost = 0.0
        known: str | None = None
        for _ in range(len(self.steps) + 1):
            if known is not None:
                link = self.links[known]
                for sid in link.fixes:
                    cost += self._cost(sid, done)
                return cost + self.verify
            best: tuple[float, str] | None = None
            for s in self.steps:
                if s.id in done:
                    continue
                p = sum(
                    pr
                    for c, pr in belief.items()
                    if s.id in self.links[c].tests or s.id in self.links[c].fixes
                )
                if p <= 0:
                    continue
                minutes = self._cost(s.id, set(done))
                eff = p / max(minutes, 1.0)
                if best is None or eff > best[0]:
                    best = (eff, s.id)
            if best is None:
                break
            sid = best[1]
            cost += self._cost(sid, done)
            if self._resolves(sid, cause):
                return cost + self.verify
            link = self.links[cause]
            if sid in link.tests:
                known = cause  # the test found it: go straight to its fix
                continue
            # negative result: rule out every cause this step tests or fixes
            for c in list(belief):
                if sid in self.links[c].tests or sid in self.links[c].fixes:
                    belief[c] = 0.0
            total = sum(belief.values())
            if total <= 0:
                break
            belief = {c: p / total for c, p in belief.items()}
        # nothing left to try: the manual order is the fallback
        return cost + sum(self._cost(s.id, done) for s in self.steps) + self.verify


def simulate(
    name: str,
    causes: Iterable[Cause],
    steps: Iterable[Step],
    links: Mapping[str, CauseSteps],
    trials: int = 2000,
    seed: int = 1,
) -> SimResult:
    causes = [c for c in causes if links.get(c.id) and (links[c.id].tests or links[c.id].fixes)]
    sc = Scenario(causes, list(steps), links)
    rng = random.Random(seed)
    ids = [c.id for c in causes]
    weights = [sc.prior[c] for c in ids]
    samples = rng.choices(ids, weights=weights, k=trials)
    return SimResult(
        name,
        trials,
        statistics.fmean(sc.perfect(c) for c in samples),
        statistics.fmean(sc.manual(c) for c in samples),
        statistics.fmean(sc.planned(c) for c in samples),
    )
