"""Fault simulator: expected minutes to repair under four strategies, and the optimum.

A *fault model* is one error code's causes with their priors, the work steps with
their minutes and prerequisites, and which steps test and which fix each cause
(``engine.plan.CauseSteps``). Doing a step when the true cause is ``c``:

- *fixes* it when the step is one of ``c``'s fixes (or, for a cause that has no fix,
  one of its tests: a carrier outage confirmed is handed to the carrier), and the
  repair ends;
- *finds* it when the step tests ``c``: the cheapest fix of ``c`` follows;
- otherwise says *no*: every cause the step tests or fixes is ruled out.

Outcomes are determined by the true cause, so every strategy is a decision tree and
its expected minutes are an exact sum over the causes, no sampling needed
(``sampled`` draws faults to check). Restore and verification are paid once at the end.

- ``perfect``: the cause is known: its cheapest resolving step with prerequisites (a
  lower bound);
- ``manual``: the manual's static order, every step in turn until the fault is fixed
  (or found, then its fix);
- ``evkb``: a policy given by the caller, e.g. evkb's planner asked again after each
  result (``evkb.api.simulate``); ``greedy`` is the textbook rule, best
  P(fixes or finds) / minutes under the current belief;
- ``optimal``: the least expected minutes of any strategy, by dynamic programming over
  the set of steps done (in a state that is not finished, every step done said *no*,
  so the set of steps done determines which causes remain).

The functions are small and pure; each takes a ``FaultModel``."""

from __future__ import annotations

import random
import statistics
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Literal

from engine.plan import CauseSteps, Planner
from kb.precedence import STAGES, closing
from kb.schema import Cause, Step

Outcome = Literal["fixed", "found", "no"]
Done = frozenset[str]
# A strategy: (model, steps done, causes not yet ruled out) -> the step to do next
# (its prerequisites not yet done are done first), or None when it has nothing to try.
Policy = Callable[["FaultModel", Done, frozenset[str]], str | None]

MAX_EXACT_STEPS = 18  # the optimum is exponential in the number of steps of one model


@dataclass(frozen=True)
class FaultModel:
    """One error code's fault model. ``prior`` sums to 1; ``order`` is the manual's
    order of its work steps (verification excluded, paid as ``verify``). The first
    step done ``on_site`` also pays ``visit`` (going to the station), once."""

    code: str
    prior: tuple[tuple[str, float], ...]
    minutes: tuple[tuple[str, float], ...]
    requires: tuple[tuple[str, tuple[str, ...]], ...]
    tests: tuple[tuple[str, tuple[str, ...]], ...]
    fixes: tuple[tuple[str, tuple[str, ...]], ...]
    verify: float = 0.0
    visit: float = 0.0
    on_site: frozenset[str] = frozenset()

    @property
    def causes(self) -> tuple[str, ...]:
        return tuple(c for c, _p in self.prior)

    @property
    def order(self) -> tuple[str, ...]:
        return tuple(s for s, _m in self.minutes)


def model(
    code: str,
    prior: Mapping[str, float],
    minutes: Mapping[str, float],
    *,
    tests: Mapping[str, Iterable[str]] | None = None,
    fixes: Mapping[str, Iterable[str]] | None = None,
    requires: Mapping[str, Iterable[str]] | None = None,
    verify: float = 0.0,
    visit: float = 0.0,
    on_site: Iterable[str] = (),
) -> FaultModel:
    """A fault model from plain mappings; priors are normalised, steps keep the
    order given (the manual's order); ``on_site`` steps need a ``visit``.

    >>> m = model("E1", {"a": 3, "b": 1}, {"look": 5, "swap": 30},
    ...           tests={"a": ["look"]}, fixes={"b": ["swap"]})
    >>> dict(m.prior)
    {'a': 0.75, 'b': 0.25}
    >>> m.order
    ('look', 'swap')
    """
    total = sum(prior.values())
    tests, fixes, requires = tests or {}, fixes or {}, requires or {}
    return FaultModel(
        code,
        tuple((c, p / total) for c, p in prior.items()),
        tuple((s, float(n)) for s, n in minutes.items()),
        tuple((s, tuple(requires.get(s, ()))) for s in minutes),
        tuple((c, tuple(tests.get(c, ()))) for c in prior),
        tuple((c, tuple(fixes.get(c, ()))) for c in prior),
        float(verify),
        float(visit),
        frozenset(on_site),
    )


def from_kb(
    code: str,
    causes: Iterable[Cause],
    steps: Iterable[Step],
    links: Mapping[str, CauseSteps],
    visit: float = 0.0,
) -> FaultModel:
    """The fault model of one error code from its records; causes that no step tests
    or fixes are left out (no strategy can find them). Every step but a remote one
    (or what the equipment does by itself) is done on site."""
    steps = list(steps)
    work = [s for s in steps if not closing(s)]
    known = {s.id for s in work}
    kept = [
        c
        for c in causes
        if c.id in links and any(s in known for s in (*links[c.id].tests, *links[c.id].fixes))
    ]
    return model(
        code,
        {c.id: c.prior for c in kept},
        {s.id: s.minutes for s in work},
        tests={c.id: [s for s in links[c.id].tests if s in known] for c in kept},
        fixes={c.id: [s for s in links[c.id].fixes if s in known] for c in kept},
        requires={s.id: [r for r in s.requires if r in known] for s in work},
        verify=sum(s.minutes for s in steps if closing(s)),
        visit=visit,
        on_site=[s.id for s in work if STAGES[s.kind] > STAGES["remote"]],
    )


# ------------------------------------------------------------------ the model's facts


@cache
def _table(m: FaultModel) -> _Tables:
    return _Tables(m)


class _Tables:
    """Lookups derived once per (immutable) model."""

    def __init__(self, m: FaultModel) -> None:
        self.prior = dict(m.prior)
        self.minutes = dict(m.minutes)
        self.requires = dict(m.requires)
        self.tests = {c: frozenset(s) for c, s in m.tests}
        self.fixes = {c: frozenset(s) for c, s in m.fixes}
        self.about = {
            s: frozenset(c for c in m.causes if s in self.tests[c] | self.fixes[c])
            for s in self.minutes
        }


def outcome(m: FaultModel, step: str, cause: str) -> Outcome:
    """What doing ``step`` shows when ``cause`` is the fault.

    >>> m = model("E1", {"a": 1, "b": 1, "c": 1}, {"look": 5, "swap": 30},
    ...           tests={"a": ["look"], "b": ["look"]}, fixes={"b": ["swap"]})
    >>> outcome(m, "look", "a"), outcome(m, "look", "b"), outcome(m, "look", "c")
    ('fixed', 'found', 'no')
    >>> outcome(m, "swap", "b")
    'fixed'
    """
    t = _table(m)
    if step in t.fixes[cause] or (not t.fixes[cause] and step in t.tests[cause]):
        return "fixed"
    return "found" if step in t.tests[cause] else "no"


def remaining(m: FaultModel, done: Done) -> frozenset[str]:
    """The causes no step in ``done`` has ruled out (all of them said *no*).

    >>> m = model("E1", {"a": 1, "b": 1}, {"look": 5}, tests={"a": ["look"]})
    >>> sorted(remaining(m, frozenset())), sorted(remaining(m, frozenset({"look"})))
    (['a', 'b'], ['b'])
    """
    t = _table(m)
    out = set(m.causes)
    for s in done:
        out -= t.about[s]
    return frozenset(out)


def with_prerequisites(m: FaultModel, step: str, done: Done) -> tuple[str, ...]:
    """``step`` and its prerequisites not yet done, each after what it requires.

    >>> m = model("E1", {"a": 1}, {"loto": 10, "open": 5, "swap": 30},
    ...           fixes={"a": ["swap"]}, requires={"open": ["loto"], "swap": ["open"]})
    >>> with_prerequisites(m, "swap", frozenset())
    ('loto', 'open', 'swap')
    >>> with_prerequisites(m, "swap", frozenset({"loto"}))
    ('open', 'swap')
    """
    t = _table(m)
    out: list[str] = []

    def visit(s: str) -> None:
        if s in done or s in out:
            return
        for r in t.requires[s]:
            visit(r)
        out.append(s)

    visit(step)
    return tuple(out)


def minutes_of(m: FaultModel, steps: Iterable[str], done: Done = frozenset()) -> float:
    """Minutes of doing ``steps`` in turn after ``done``, the visit included when
    they are the first on site.

    >>> m = model("E1", {"a": 1}, {"portal": 5, "look": 10}, tests={"a": ["look"]},
    ...           visit=60, on_site=["look"])
    >>> minutes_of(m, ["portal", "look"]), minutes_of(m, ["look"], frozenset({"look"}))
    (75.0, 10.0)
    """
    t = _table(m)
    total = 0.0
    there = bool(done & m.on_site)
    for s in steps:
        if s in m.on_site and not there:
            total += m.visit
            there = True
        total += t.minutes[s]
    return total


def fix_cost(m: FaultModel, cause: str, done: Done) -> float:
    """Minutes to fix a cause once it is known: its cheapest fix with the
    prerequisites not yet done (0 for a cause that has no fix).

    >>> m = model("E1", {"a": 1}, {"loto": 10, "swap": 30, "reset": 5},
    ...           fixes={"a": ["swap", "reset"]}, requires={"swap": ["loto"]})
    >>> fix_cost(m, "a", frozenset())
    5.0
    """
    t = _table(m)
    return min(
        (minutes_of(m, with_prerequisites(m, f, done), done) for f in t.fixes[cause]), default=0.0
    )


def perfect(m: FaultModel, cause: str) -> float:
    """Minutes when the cause is known from the start (a lower bound).

    >>> m = model("E1", {"a": 1}, {"look": 5, "swap": 30}, tests={"a": ["look"]},
    ...           fixes={"a": ["swap"]}, verify=20)
    >>> perfect(m, "a")
    50.0
    """
    t = _table(m)
    targets = t.fixes[cause] or t.tests[cause]
    best = min(minutes_of(m, with_prerequisites(m, s, frozenset())) for s in targets)
    return best + m.verify


# ------------------------------------------------------------------ running a strategy


def run(m: FaultModel, policy: Policy, cause: str) -> float:
    """Minutes a strategy takes when ``cause`` is the fault. Each step done (a
    prerequisite too) shows its outcome; a strategy that runs out of steps before
    the fault is fixed finishes with the manual's order.

    >>> m = model("E1", {"a": 1, "b": 1}, {"look": 5, "swap": 30},
    ...           tests={"a": ["look"]}, fixes={"a": ["swap"], "b": ["swap"]})
    >>> run(m, manual_order, "a"), run(m, manual_order, "b")
    (35.0, 35.0)
    """
    done: Done = frozenset()
    cost = 0.0
    for _ in range(len(m.order) + 1):
        left = remaining(m, done)
        step = policy(m, done, left)
        if step is None or step in done:
            step = manual_order(m, done, left)
        if step is None:
            break
        for s in with_prerequisites(m, step, done):
            cost += minutes_of(m, (s,), done)
            done = done | {s}
            result = outcome(m, s, cause)
            if result == "fixed":
                return cost + m.verify
            if result == "found":
                return cost + fix_cost(m, cause, done) + m.verify
    raise ValueError(f"{m.code}: no step fixes or finds {cause}")


def expected(m: FaultModel, minutes: Callable[[str], float]) -> float:
    """Expected minutes over the prior of the causes.

    >>> m = model("E1", {"a": 3, "b": 1}, {"look": 4})
    >>> expected(m, lambda c: 10.0 if c == "a" else 30.0)
    15.0
    """
    return sum(p * minutes(c) for c, p in m.prior)


def manual_order(m: FaultModel, done: Done, _left: frozenset[str]) -> str | None:
    """The manual's next step not done yet."""
    return next((s for s in m.order if s not in done), None)


def greedy(m: FaultModel, done: Done, left: frozenset[str]) -> str | None:
    """Best P(the step fixes or finds the fault) / minutes (with prerequisites)
    under the current belief; ties go to the manual's order.

    >>> m = model("E1", {"a": 1, "b": 3}, {"look": 5, "swap": 30},
    ...           tests={"a": ["look"]}, fixes={"b": ["swap"]})
    >>> greedy(m, frozenset(), frozenset({"a", "b"}))
    'look'
    """
    t = _table(m)
    best: tuple[float, str] | None = None
    for s in m.order:
        if s in done:
            continue
        p = sum(t.prior[c] for c in t.about[s] & left)
        eff = p / max(minutes_of(m, with_prerequisites(m, s, done), done), 1.0)
        if p > 0 and (best is None or eff > best[0]):
            best = (eff, s)
    return best[1] if best else None


def planner_policy(planner: Planner) -> Policy:
    """evkb's own strategy: ask the planner for a procedure under the current belief
    (the remaining causes, renormalised) and do its first step not done yet."""

    def next_step(m: FaultModel, done: Done, left: frozenset[str]) -> str | None:
        t = _table(m)
        mass = sum(t.prior[c] for c in left)
        if mass <= 0:
            return None
        belief = sorted(((c, t.prior[c] / mass) for c in left), key=lambda cp: (-cp[1], cp[0]))
        for ps in planner.plan(belief).steps:
            if ps.reason != "verification" and ps.step.id in t.minutes and ps.step.id not in done:
                return ps.step.id
        return None

    return next_step


# ------------------------------------------------------------------ the optimum


def optimal(m: FaultModel) -> float:
    """The least expected minutes to repair over every strategy (exact).

    ``cost(done)`` is the expected rest of the repair when the steps in ``done``
    all said *no*: the best next step (one whose prerequisites are done) costs its
    minutes, plus the fix of each remaining cause it finds, plus the rest when it
    says *no* again, weighted by the belief restricted to the remaining causes.

    >>> m = model("E1", {"a": 1, "b": 1}, {"look": 5, "swap": 30},
    ...           tests={"a": ["look"]}, fixes={"a": ["swap"], "b": ["swap"]})
    >>> optimal(m)  # swap at once: looking first cannot save the swap
    30.0
    >>> m = model("E1", {"a": 3, "b": 1}, {"reset": 5, "swap": 30},
    ...           fixes={"a": ["reset"], "b": ["swap"]})
    >>> optimal(m)  # reset first: 5 + 0.25 * 30
    12.5
    """
    return _plan(m)(frozenset())[0] + m.verify


def optimal_path(m: FaultModel) -> tuple[str, ...]:
    """The optimal strategy's steps while every step says *no* (its main line).

    >>> m = model("E1", {"a": 9, "b": 1}, {"swap": 30, "reset": 5},
    ...           fixes={"a": ["reset"], "b": ["swap"]})
    >>> optimal_path(m)
    ('reset', 'swap')
    """
    best = _plan(m)
    done: Done = frozenset()
    path: list[str] = []
    while (step := best(done)[1]) is not None:
        path.append(step)
        done = done | {step}
    return tuple(path)


def _plan(m: FaultModel) -> Callable[[Done], tuple[float, str | None]]:
    """cost(done) -> (expected minutes still to go, best next step), memoised."""
    t = _table(m)
    if len(m.order) > MAX_EXACT_STEPS:
        raise ValueError(f"{m.code}: {len(m.order)} steps, too many for the exact optimum")

    @cache
    def best(done: Done) -> tuple[float, str | None]:
        left = remaining(m, done)
        mass = sum(t.prior[c] for c in left)
        if mass <= 0:
            return 0.0, None
        choice: tuple[float, str | None] = (float("inf"), None)
        for s in m.order:
            if s in done or any(r not in done for r in t.requires[s]):
                continue
            after = done | {s}
            hit = t.about[s] & left
            if not hit and not _unlocks(m, s, left):
                continue  # neither tells nor opens the way to a step that tells
            cost = minutes_of(m, (s,), done)
            for c in hit:
                if outcome(m, s, c) == "found":
                    cost += t.prior[c] / mass * fix_cost(m, c, after)
            rest = mass - sum(t.prior[c] for c in hit)
            if rest > 0:
                cost += rest / mass * best(after)[0]
            if cost < choice[0] - 1e-12:
                choice = (cost, s)
        return choice

    return best


def _unlocks(m: FaultModel, step: str, left: frozenset[str]) -> bool:
    """Whether ``step`` is a prerequisite (directly or not) of a step about a
    remaining cause."""
    t = _table(m)
    return any(
        step in with_prerequisites(m, s, frozenset())[:-1] for s in t.about if t.about[s] & left
    )


# ------------------------------------------------------------------ results


@dataclass(frozen=True)
class SimResult:
    """Expected minutes to repair one error code's fault (exact expectations unless
    ``trials`` > 0, then means over that many sampled faults)."""

    code: str
    optimal: float
    evkb: float
    manual: float
    perfect: float
    greedy: float
    trials: int = 0
    optimal_path: tuple[str, ...] = ()

    def to_json(self) -> dict[str, float | str]:
        return {
            "code": self.code,
            "optimal": round(self.optimal, 2),
            "evkb": round(self.evkb, 2),
            "manual": round(self.manual, 2),
            "perfect": round(self.perfect, 2),
        }


def simulate(m: FaultModel, evkb: Policy = greedy) -> SimResult:
    """Exact expected minutes of every strategy for one fault model."""
    return SimResult(
        m.code,
        optimal(m),
        expected(m, lambda c: run(m, evkb, c)),
        expected(m, lambda c: run(m, manual_order, c)),
        expected(m, lambda c: perfect(m, c)),
        expected(m, lambda c: run(m, greedy, c)),
        optimal_path=optimal_path(m),
    )


def sampled(m: FaultModel, evkb: Policy = greedy, trials: int = 2000, seed: int = 1) -> SimResult:
    """The same figures as means over ``trials`` faults drawn from the prior (the
    optimum stays exact): a check of the exact sums."""
    rng = random.Random(seed)
    causes = rng.choices(m.causes, weights=[p for _c, p in m.prior], k=trials)

    def mean(minutes: Callable[[str], float]) -> float:
        memo = {c: minutes(c) for c in set(causes)}
        return statistics.fmean(memo[c] for c in causes)

    return SimResult(
        m.code,
        optimal(m),
        mean(lambda c: run(m, evkb, c)),
        mean(lambda c: run(m, manual_order, c)),
        mean(lambda c: perfect(m, c)),
        mean(lambda c: run(m, greedy, c)),
        trials,
        optimal_path(m),
    )
