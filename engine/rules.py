"""experta rules generated from the knowledge base (the only module importing experta).

One engine class per knowledge-base partition is generated and instantiated once;
each query resets it, declares the observation facts and runs it. Rules:

- an observable KB text matched by an observation clause -> a contribution for
  (or, when the senses differ, against) its cause;
- a meter reading against a measurement's expected range and implications ->
  contributions for the implied causes (out of range) or against them (in range);
- a reported error code -> for the causes of that code, against the causes of the
  same equipment's other codes;
- a curated context rule (site event) -> for its cause.

Each rule's action records a ``Contrib`` (log-likelihood ratio for one cause, with
what produced it and the manual line) on the engine rather than declaring it as a
fact: no rule matches contributions, and declaring thousands of them made every
query walk the Rete network once per contribution. Each carries an id built from
what produced it (evidence@clause, measurement:cause@reading, cause@err:code), so
two pieces of evidence are never merged and scoring can keep the strongest per
cause and observation clause.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from typing import Any, Literal, NamedTuple

from experta import MATCH, Fact, KnowledgeEngine, Rule

from engine.agenda import DepthStrategy
from engine.match import Observable
from engine.outcomes import ActionReport
from kb.schema import Cause, ContextRule, Measurement

ERROR_CODE_LR = 3.0
READING_QUANTITIES = frozenset({"voltage", "resistance", "signal", "duration"})
AGAINST_DAMPING = 0.8
IN_RANGE_LR = 0.25
EQUALS_TOLERANCE = 0.15


class ClauseFact(Fact):  # type: ignore[misc]
    """An observation clause and the KB texts it matched, with how closely and
    whether in the same sense: one fact per clause (declaring costs ~60 us a fact)."""


class ReadingFact(Fact):  # type: ignore[misc]
    """A meter reading from the observation."""


class ErrorFact(Fact):  # type: ignore[misc]
    """An error code reported by the station (or given with --error)."""


class ContextFact(Fact):  # type: ignore[misc]
    """A curated context rule whose phrase occurs in the observation."""


class ActionFact(Fact):  # type: ignore[misc]
    """Something the reporter already did, and what happened after."""


class ResolvedFact(Fact):  # type: ignore[misc]
    """The fault went away with nobody doing anything."""


SELF_RESOLVED_LR = 4.0


# what an action's outcome says about the causes it fixes (likelihood ratios)
OUTCOME_LR = {"fixed": 5.0, "temporary": 2.5, "no_change": 0.2}


# What kind of reasoning a contribution is, as the explanation names it: a symptom
# the report describes; a reading out of range; a normal finding (a reading in
# range, "retracts fine" against "won't retract"); an action already tried and its
# outcome (or a fault that went away by itself); a cue the manual states ("if other
# stations are offline too, this is likely a carrier outage"); the repair history
# of closed work orders; the station's error code.
Reason = Literal[
    "symptom",
    "reading",
    "normal finding",
    "action outcome",
    "stated cue",
    "repair history",
    "error code",
]


class Contrib(NamedTuple):
    """One piece of evidence for (``logw`` > 0) or against a cause. ``slot`` names
    what in the observation produced it (a clause, a reading, a code, a reported
    action): scoring keeps the strongest contribution per cause and slot, so one
    clause matching a cause's symptom row and its title counts once."""

    id: str
    cause: str
    logw: float
    kind: str  # what matched, in detail
    observation: str
    matched: str
    path: str
    line: int
    reason: Reason  # the kind of reasoning it is (see Reason)
    slot: str = ""
    similarity: float | None = None  # of a symptom match


def _points_ok(reading: tuple[str, ...], expected: tuple[str, ...]) -> bool:
    if not reading or not expected:
        return True
    return set(reading) <= set(expected) or set(expected) <= set(reading)


def classify(m: Measurement, value: float | None, open_circuit: bool) -> list[tuple[str, float]]:
    """(implication 'when', matched?) pairs for a reading against a measurement."""
    out: list[tuple[str, float]] = []
    lo, hi = m.low, m.high
    for imp in m.implications:
        hit = False
        if imp.when == "open":
            hit = open_circuit
        elif open_circuit or value is None:
            hit = False
        elif imp.when == "zero":
            hit = abs(value) < max(0.05 * (hi or 1.0), 0.3)
        elif imp.when == "low":
            # "1 bar or less" names an inclusive bound; the range's own low is exclusive
            hit = (value <= imp.value) if imp.value is not None else (lo is not None and value < lo)
        elif imp.when == "high":
            hit = (value >= imp.value) if imp.value is not None else (hi is not None and value > hi)
        elif imp.when == "equals" and imp.value is not None:
            hit = abs(value - imp.value) <= max(EQUALS_TOLERANCE * abs(imp.value), 0.3)
        elif imp.when == "in_range":
            # a state table's row: a reading in the row's range means its state
            hit = (lo is None or value >= lo) and (hi is None or value <= hi)
        out.append((imp.cause, 1.0 if hit else 0.0))
    return out


def in_range(m: Measurement, value: float | None, open_circuit: bool) -> bool:
    if open_circuit or value is None or m.low is None:
        return False
    hi = m.high if m.high is not None else math.inf
    return m.low <= value <= hi


class Builder:
    """Generates the rules of one partition's engine.

    Rules are generated per *kind* of knowledge, and per measured quantity, not
    per KB record: each rule joins its fact against the partition's tables (a
    dictionary lookup) instead of testing one literal per record. experta's Rete
    network has no hashed alpha memory, so one rule per symptom made every fact
    walk thousands of literal tests and made ``reset()`` grow with the knowledge
    base; with a handful of rules the engine is built in microseconds and a query
    costs the same at 100 or 10,000 causes.
    """

    def __init__(self, tables: Tables) -> None:
        self.t = tables
        self.attrs: dict[str, Any] = {}

    def add(self, rule: Any, action: Callable[..., None]) -> None:
        self.attrs[f"rule_{len(self.attrs)}"] = rule(action)

    def observables(self) -> None:
        """A clause that matches a KB text speaks for the cause of every observable
        with that text (against it when the senses differ)."""
        table = self.t.by_text

        def action(
            self: KnowledgeEngine,
            obs: int,
            text: str,
            matches: tuple[tuple[str, float, bool], ...],
        ) -> None:
            slot = f"clause:{obs}"
            for evidence, sim, agrees in matches:
                for o in table.get(evidence, ()):
                    _observed(self, o, obs, slot, sim, agrees, text)

        self.add(Rule(ClauseFact(obs=MATCH.obs, text=MATCH.text, matches=MATCH.matches)), action)

    def quantity(self, quantity: str, measurements: list[Measurement], strength: float) -> None:
        """A reading of ``quantity`` -> checked against every measurement of it."""

        def action(
            self: KnowledgeEngine,
            rid: int,
            value: float | None,
            open_circuit: bool,
            points: tuple[str, ...],
            text: str,
            pressed: bool,
            elapsed: bool,
        ) -> None:
            for m in measurements:
                self.contribs.extend(
                    _reading_contribs(
                        m, rid, value, open_circuit, points, text, pressed, elapsed, strength
                    )
                )

        self.add(
            Rule(
                ReadingFact(
                    quantity=quantity,
                    id=MATCH.rid,
                    value=MATCH.value,
                    open_circuit=MATCH.open_circuit,
                    points=MATCH.points,
                    text=MATCH.text,
                    pressed=MATCH.pressed,
                    elapsed=MATCH.elapsed,
                )
            ),
            action,
        )

    def error_codes(self) -> None:
        """A reported code -> for the causes of that code, against the causes of
        the same equipment's other codes."""
        t = self.t

        def action(self: KnowledgeEngine, code: str) -> None:
            for cause in t.code_causes.get(code, ()):
                _code_contrib(self, cause, code, math.log(ERROR_CODE_LR))
            for cause in t.other_code_causes(code):
                _code_contrib(self, cause, code, -math.log(ERROR_CODE_LR))

        self.add(Rule(ErrorFact(code=MATCH.code)), action)

    def context(self) -> None:
        """A curated context rule's phrase in the observation -> for its cause."""
        table = self.t.context

        def action(self: KnowledgeEngine, rule: str, text: str, negated: bool) -> None:
            r = table.get(rule)
            if r is None:
                return
            w = math.log(r.strength) * (-AGAINST_DAMPING if negated else 1.0)
            self.contribs.append(
                Contrib(
                    id=f"ctx:{r.id}",
                    cause=r.cause,
                    logw=w,
                    kind="context (denied)" if negated else "context",
                    observation=text,
                    matched=r.explanation,
                    path=r.source.path,
                    line=r.source.line_start,
                    reason="stated cue",
                    slot="context",
                )
            )

        self.add(Rule(ContextFact(rule=MATCH.rule, text=MATCH.text, negated=MATCH.negated)), action)

    def actions(self) -> None:
        """An action that fixed the fault speaks for the causes it fixes; one that
        changed nothing speaks against them (the manuals say which step fixes what)."""
        fixed_by = self.t.fixed_by

        def action(self: KnowledgeEngine, report: ActionReport, slot: int, outcome: str) -> None:
            lr = OUTCOME_LR.get(outcome)
            if lr is None:
                return
            for cause, how in fixed_by(report):
                self.contribs.append(
                    Contrib(
                        id=f"{cause.id}@action{slot}",
                        cause=cause.id,
                        logw=math.log(lr),
                        kind=f"action outcome ({outcome.replace('_', ' ')})",
                        observation=report.text,
                        matched=how,
                        path=cause.source.path,
                        line=cause.source.line_start,
                        reason="action outcome",
                        slot=f"action:{slot}",
                    )
                )

        self.add(
            Rule(ActionFact(report=MATCH.report, slot=MATCH.slot, outcome=MATCH.outcome)), action
        )

    def resolved(self) -> None:
        """A fault that went away by itself speaks for the causes the manuals call
        temporary or intermittent."""
        temporary = self.t.temporary

        def action(self: KnowledgeEngine, text: str) -> None:
            for cause in temporary:
                self.contribs.append(
                    Contrib(
                        id=f"{cause.id}@resolved",
                        cause=cause.id,
                        logw=math.log(SELF_RESOLVED_LR),
                        kind="went away by itself",
                        observation=text,
                        matched=f"{cause.title}: {cause.notes or cause.prior_basis}",
                        path=cause.source.path,
                        line=cause.source.line_start,
                        reason="action outcome",
                        slot="resolved",
                    )
                )

        self.add(Rule(ResolvedFact(text=MATCH.text)), action)

    def engine(self) -> KnowledgeEngine:
        attrs = {**self.attrs, "__strategy__": DepthStrategy}
        cls = type("PartitionEngine", (_Engine,), attrs)
        return cls()


class _Engine(KnowledgeEngine):  # type: ignore[misc]
    """experta's engine, finding its deffacts once: ``reset`` looks them up among
    all the engine's members (every rule) each time, and the rules never change."""

    def get_deffacts(self) -> list[Any]:
        found: list[Any] | None = self.__dict__.get("_deffacts")
        if found is None:
            found = self.__dict__["_deffacts"] = super().get_deffacts()
        return found


class Tables:
    """The partition's knowledge, indexed for the rules' joins."""

    def __init__(
        self,
        observables: Iterable[Observable],
        measurements: Iterable[Measurement],
        causes: Iterable[Cause],
        rules: Iterable[ContextRule],
        fixed_by: Callable[[ActionReport], list[tuple[Cause, str]]] | None = None,
    ) -> None:
        self.fixed_by = fixed_by or (lambda _r: [])
        # causes the manuals call temporary or intermittent (their frequency wording)
        self.temporary = [
            c
            for c in causes
            if c.prior_basis in ("temporary", "intermittent")
            or re.search(r"\btemporar|\bintermittent|\bresolves?\s+within", c.notes, re.I)
        ]
        self.by_text: dict[str, list[Observed]] = {}
        for o in observables:
            self.by_text.setdefault(o.text, []).append(Observed.of(o))
        self.by_quantity: dict[str, list[Measurement]] = {}
        for m in measurements:
            # torques in an observation are not diagnostic; durations only as elapsed time
            if m.quantity in READING_QUANTITIES and any(i.cause for i in m.implications):
                self.by_quantity.setdefault(m.quantity, []).append(m)
        self.code_causes: dict[str, list[Cause]] = {}
        self.equipment_of_code: dict[str, set[str]] = {}
        self.coded_causes_of: dict[str, list[Cause]] = {}  # equipment -> causes with codes
        for c in causes:
            for code in c.error_codes:
                self.code_causes.setdefault(code, []).append(c)
                self.equipment_of_code.setdefault(code, set()).add(c.equipment)
            if c.error_codes:
                self.coded_causes_of.setdefault(c.equipment, []).append(c)
        self.context = {r.id: r for r in rules}

    def other_code_causes(self, code: str) -> list[Cause]:
        """Causes of the same equipment that belong to other codes only."""
        out = []
        for eq in sorted(self.equipment_of_code.get(code, ())):
            out += [c for c in self.coded_causes_of.get(eq, ()) if code not in c.error_codes]
        return out


class Observed(NamedTuple):
    """An observable with what every contribution of it repeats, worked out once."""

    o: Observable
    weight: float  # log-likelihood ratio at similarity 1, signed by polarity
    kind_for: str
    kind_against: str
    reason_for: Reason

    @classmethod
    def of(cls, o: Observable) -> Observed:
        sign = 1.0 if o.polarity == "for" else -1.0
        # a manual's conditional conclusion is a cue; a report that says the
        # opposite of a symptom ("retracts fine") is a normal finding
        reason: Reason = "stated cue" if o.kind == "statement" else "symptom"
        return cls(o, sign * math.log(o.strength), o.kind, f"{o.kind} (denied)", reason)


def _observed(
    engine: KnowledgeEngine,
    ob: Observed,
    obs: int,
    slot: str,
    sim: float,
    agrees: bool,
    text: str,
) -> None:
    o = ob.o
    engine.contribs.append(
        Contrib(
            id=f"{o.id}@{obs}",
            cause=o.cause,
            logw=ob.weight * sim * (1.0 if agrees else -AGAINST_DAMPING),
            kind=ob.kind_for if agrees else ob.kind_against,
            observation=text,
            matched=o.text,
            path=o.path,
            line=o.line,
            reason=ob.reason_for if agrees else "normal finding",
            slot=slot,
            similarity=round(sim, 3),
        )
    )


def _code_contrib(engine: KnowledgeEngine, cause: Cause, code: str, w: float) -> None:
    engine.contribs.append(
        Contrib(
            id=f"{cause.id}@err:{code}",
            cause=cause.id,
            logw=w,
            kind="error code",
            observation=code,
            matched=", ".join(sorted(cause.error_codes)) or "-",
            path=cause.source.path,
            line=cause.source.line_start,
            reason="error code",
            slot=f"code:{code}",
        )
    )


def _reading_contribs(
    m: Measurement,
    rid: int,
    value: float | None,
    open_circuit: bool,
    points: tuple[str, ...],
    text: str,
    pressed: bool,
    elapsed: bool,
    strength: float,
) -> list[Contrib]:
    if not _points_ok(points, m.points):
        return []
    if m.quantity == "duration" and not elapsed:
        return []  # only "last heard 12 min ago" is a reading of elapsed time
    if pressed and m.state == "at rest":
        return []  # a reading with the button pressed says nothing about "at rest"
    where = (
        f"{'-'.join(m.points) or m.quantity} expected {_range_text(m)}"
        if m.low is not None
        else "; ".join(i.text for i in m.implications if i.text)
    )
    out = []
    for cause, hit in classify(m, value, open_circuit):
        if not cause:
            continue
        reason: Reason
        if hit:
            w = math.log(strength)
            kind, reason = "reading out of range", "reading"
        elif in_range(m, value, open_circuit):
            w = math.log(IN_RANGE_LR)
            kind, reason = "reading in range", "normal finding"
        else:
            continue
        out.append(
            Contrib(
                id=f"{m.id}:{cause}@r{rid}",
                cause=cause,
                logw=w,
                kind=kind,
                observation=text,
                matched=f"{m.text} ({where})",
                path=m.source.path,
                line=m.source.line_start,
                reason=reason,
                slot=f"reading:{rid}",
            )
        )
    return out


def _range_text(m: Measurement) -> str:
    if m.low is None:
        return "see manual"
    if m.high is None:
        return f">= {m.low:g} {m.unit}"
    if m.low == m.high:
        return f"~{m.low:g} {m.unit}"
    return f"{m.low:g}-{m.high:g} {m.unit}"


class PartitionEngine:
    """A built experta engine for one partition, reset per query."""

    def __init__(
        self,
        observables: Iterable[Observable],
        measurements: Iterable[Measurement],
        causes: Iterable[Cause],
        rules: Iterable[ContextRule],
        measurement_strength: float = 8.0,
        fixed_by: Callable[[ActionReport], list[tuple[Cause, str]]] | None = None,
    ) -> None:
        self.tables = Tables(observables, measurements, causes, rules, fixed_by)
        b = Builder(self.tables)
        b.observables()
        for quantity, ms in sorted(self.tables.by_quantity.items()):
            b.quantity(quantity, ms, measurement_strength)
        b.error_codes()
        b.context()
        b.actions()
        b.resolved()
        self.rule_count = len(b.attrs)
        self._engine = b.engine()

    def run(self, facts: list[Fact]) -> list[Contrib]:
        eng = self._engine
        eng.reset()
        eng.contribs = []
        for f in facts:
            eng.declare(f)
        eng.run()
        out: list[Contrib] = eng.contribs
        return out


def clause_fact(obs: int, text: str, matches: Iterable[tuple[str, float, bool]]) -> Fact:
    """``matches``: (KB text, similarity, agrees) per text the clause met."""
    return ClauseFact(obs=obs, text=text, matches=tuple(matches))


def reading_fact(
    rid: int,
    quantity: str,
    value: float | None,
    open_circuit: bool,
    points: tuple[str, ...],
    text: str,
    pressed: bool,
    elapsed: bool,
) -> Fact:
    return ReadingFact(
        id=rid,
        quantity=quantity,
        value=value,
        open_circuit=open_circuit,
        points=points,
        text=text,
        pressed=pressed,
        elapsed=elapsed,
    )


def error_fact(code: str) -> Fact:
    return ErrorFact(code=code)


def context_fact(rule: str, text: str, negated: bool) -> Fact:
    return ContextFact(rule=rule, text=text, negated=negated)


def resolved_fact(text: str) -> Fact:
    return ResolvedFact(text=text)


def action_fact(report: ActionReport, slot: int) -> Fact:
    return ActionFact(report=report, slot=slot, outcome=report.outcome or "")
