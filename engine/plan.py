"""The minimal safe procedure over the step graph (kb/precedence.py).

Edges are preconditions: the lockout step before every step that works inside
the cabinet, every step before a restore step (which removes the lockout) and
every step before verification. A cause is *tested* by the steps whose lines hold
its evidence or its measurement (the manual says where to look) and *fixed* by the
step whose title its remedy or title names. The minimal procedure for a diagnosis
holds the tests of the likely causes, the fix of the most likely, their
prerequisites, restore and verification. It is ordered by stage, from the step
kinds set at ingest (remote before anyone is dispatched, then on site without
lockout, the lockout, the work it guards, restore, verification: ``STAGES``), and
within a stage by efficiency = P(step resolves or decides) / minutes
(decision-theoretic troubleshooting), always within the precedence constraints."""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from engine.questions import Question, Report, ask, candidates
from kb.curated import CURATED_DIR, load_yaml
from kb.precedence import STAGES, Precedence, ancestors, closing, descendants, order, stage
from kb.schema import Cause, KnowledgeBase, Part, Step, Tool
from kb.text import Lexicon, containment, terms

LIKELY_MASS = 0.8  # causes kept until this much of the probability is covered
MIN_LIKELY = 0.08
MAX_LIKELY = 3
FIX_THRESHOLD = 0.5


def visit_minutes(directory: Path | None = None) -> float:
    """What a visit to the station costs (kb/curated/steps.yaml ``visit``)."""
    path = (directory or CURATED_DIR) / "steps.yaml"
    return _visit(str(path), path.stat().st_mtime if path.exists() else 0.0)


@functools.lru_cache(maxsize=4)
def _visit(path: str, _mtime: float) -> float:
    root = load_yaml(Path(path))
    minutes = root.number("visit")
    assert minutes is not None
    if minutes < 0:
        raise root.node("visit").fail("expected minutes of zero or more")
    return minutes


PART_FLOOR = 1e-3


@dataclass(frozen=True)
class CauseSteps:
    tests: tuple[str, ...]
    fixes: tuple[str, ...]


def _within(step: Step, path: str, line: int) -> bool:
    return step.source.path == path and step.source.line_start <= line <= step.source.line_end


class CauseLinks(Mapping[str, CauseSteps]):
    """Which steps test and which fix each cause, worked out on first use (a query
    needs the links of its few likely causes, not of the whole knowledge base)."""

    def __init__(self, kb: KnowledgeBase, lexicon: Lexicon) -> None:
        self.lexicon = lexicon
        self.causes = {c.id: c for c in kb.causes}
        self.steps_by_manual: dict[str, list[Step]] = {}
        for s in kb.steps:
            self.steps_by_manual.setdefault(s.manual, []).append(s)
        self.evidence_by_cause: dict[str, list[tuple[str, int, str]]] = {}
        for e in kb.evidence:
            self.evidence_by_cause.setdefault(e.cause, []).append(
                (e.source.path, e.source.line_start, e.text)
            )
        for m in kb.measurements:
            for imp in m.implications:
                if imp.cause:
                    self.evidence_by_cause.setdefault(imp.cause, []).append(
                        (m.source.path, m.source.line_start, m.text)
                    )
        self._links: dict[str, CauseSteps] = {}

    def __getitem__(self, cid: str) -> CauseSteps:
        found = self._links.get(cid)
        if found is None:
            found = self._links[cid] = self._compute(self.causes[cid])
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self.causes)

    def __len__(self) -> int:
        return len(self.causes)

    def _compute(self, c: Cause) -> CauseSteps:
        steps = self.steps_by_manual.get(c.manual, [])
        places = [(c.source.path, c.source.line_start, ""), *self.evidence_by_cause.get(c.id, [])]
        tests = tuple(
            s.id for s in steps if not closing(s) and any(_within(s, p, ln) for p, ln, _t in places)
        )
        return CauseSteps(
            tuple(dict.fromkeys(c.tests + tests)), c.fixes or _fix(c, steps, places, self.lexicon)
        )


def cause_steps(kb: KnowledgeBase, lexicon: Lexicon) -> CauseLinks:
    """Which steps test and which fix each cause (computed lazily per cause)."""
    return CauseLinks(kb, lexicon)


def _fix(
    c: Cause, steps: list[Step], places: list[tuple[str, int, str]], lexicon: Lexicon
) -> tuple[str, ...]:
    """The step that fixes a cause: the one whose sub-step its remedy describes
    ("Cleared by remote or physical reboot"), else the one whose title the cause
    names ("Retractor spring broken" -> "Retractor Spring Replacement")."""
    work = [s for s in steps if not closing(s)]
    text = " ".join([_bare(c.title), c.remedy, *(t for _p, _l, t in places if t)])
    want = terms(text, lexicon)
    best: tuple[float, str] | None = None
    for s in work:
        score = containment(terms(_bare(s.title), lexicon), want)
        if score >= FIX_THRESHOLD and (best is None or score > best[0]):
            best = (score, s.id)
    if best is not None and best[0] >= 0.6:
        return (best[1],)
    if c.remedy:
        rem = terms(c.remedy, lexicon)
        for s in work:
            if any(containment(rem, terms(sub, lexicon)) >= 0.6 for sub in s.substeps):
                return (s.id,)
    return (best[1],) if best else ()


def _bare(title: str) -> str:
    return re.sub(r"\(.*?\)", "", title)


@dataclass(frozen=True)
class PlannedStep:
    step: Step
    reason: str  # "test", "fix", "prerequisite", "verification"
    causes: tuple[str, ...]
    efficiency: float


@dataclass(frozen=True)
class PartNeed:
    part: Part
    probability: float
    variant: str  # resolved variant, or "" when the choice is left open
    choices: tuple[str, ...]
    basis: str
    causes: tuple[str, ...] = ()  # causes whose fix uses the part


@dataclass(frozen=True)
class Plan:
    steps: tuple[PlannedStep, ...]
    minutes: float
    expected_minutes: float
    parts: tuple[PartNeed, ...]
    tools: tuple[Tool, ...]
    questions: tuple[Question, ...] = field(default=())


def likely(confidences: Sequence[tuple[str, float]]) -> list[tuple[str, float]]:
    """The causes worth acting on: best first until LIKELY_MASS is covered."""
    out: list[tuple[str, float]] = []
    mass = 0.0
    for cid, p in confidences:
        if len(out) >= MAX_LIKELY or (out and p < MIN_LIKELY) or mass >= LIKELY_MASS:
            break
        out.append((cid, p))
        mass += p
    return out


class Planner:
    """Built once per knowledge base. ``visit``: minutes a visit to the station
    costs (kb/curated/steps.yaml), what a remote step done first may save."""

    def __init__(self, kb: KnowledgeBase, lexicon: Lexicon, visit: float | None = None) -> None:
        self.kb = kb
        self.lexicon = lexicon
        self.visit = visit_minutes() if visit is None else visit
        self.graph = Precedence.of(kb)
        self.links = cause_steps(kb, lexicon)
        self.steps = {s.id: s for s in kb.steps}
        # each manual's verification and restore steps, in manual order
        self.closing: dict[str, list[Step]] = {}
        for s in kb.steps:
            if s.kind in ("verification", "restore"):
                self.closing.setdefault(s.manual, []).append(s)
        self.parts = {p.id: p for p in kb.parts}
        self.tools = {t.id: t for t in kb.tools}
        self.titles = {c.id: c.title for c in kb.causes}
        self.asks = candidates(kb, lexicon)

    def plan(
        self,
        confidences: Sequence[tuple[str, float]],
        *,
        text: str = "",
        generation: int | None = None,
        report: Report | None = None,
    ) -> Plan:
        """The minimal procedure for a belief over the causes (best first), its
        parts and tools, and the next questions given what ``report`` already says."""
        top = likely(confidences)
        if not top:
            return Plan((), 0.0, 0.0, (), ())
        p = dict(confidences)
        chosen: dict[str, tuple[str, set[str]]] = {}

        def want(sid: str, reason: str, cause: str) -> None:
            r, cs = chosen.get(sid, (reason, set()))
            if reason == "fix" or r != "fix":
                r = reason if r not in ("fix",) else r
            cs.add(cause)
            chosen[sid] = (r, cs)

        for cid, _p in top:
            for sid in self.links[cid].tests:
                want(sid, "test", cid)
        best = top[0][0]
        for sid in self.links[best].fixes:
            want(sid, "fix", best)
        # a second cause fixed by the same step as the first rides along
        for cid, _p in top[1:]:
            for sid in self.links[cid].fixes:
                if sid in chosen:
                    want(sid, "fix", cid)
        # before anyone is dispatched: a remote step whose chance of resolving or
        # deciding the fault, times what it may save (the visit and the work on
        # site), pays for its minutes
        on_site = {
            a
            for sid in chosen
            for a in (sid, *ancestors(self.graph, sid))
            if STAGES["remote"] < stage(self.steps[a]) < STAGES["restore"]
        }
        if on_site:
            saved = self.visit + sum(self.steps[s].minutes for s in on_site)
            for sid, about in self._remote(confidences).items():
                if sid in chosen or sum(p[c] for c, _r in about) * saved < self.steps[sid].minutes:
                    continue
                for cid, reason in about:
                    want(sid, reason, cid)
        # prerequisites and verification
        needed = set(chosen)
        for sid in list(chosen):
            for anc in ancestors(self.graph, sid):
                if not closing(self.steps[anc]) and anc not in chosen:
                    needed.add(anc)
                    chosen[anc] = ("prerequisite", set())
        # restore where a lockout was applied, verification of every manual worked from
        manuals = {self.steps[s].manual for s in needed}
        locked = {self.steps[s].manual for s in needed if self.steps[s].kind == "lockout"}
        for s in (s for m in sorted(manuals) for s in self.closing.get(m, ())):
            if s.kind == "verification" and needed:
                needed.add(s.id)
                chosen[s.id] = ("verification", set())
            elif s.kind == "restore" and s.manual in locked:
                needed.add(s.id)
                chosen[s.id] = ("restore", set())

        def efficiency(sid: str) -> float:
            _reason, causes = chosen[sid]
            step = self.steps[sid]
            prob = sum(p.get(c, 0.0) for c in causes)
            return prob / max(step.minutes, 1.0)

        # prerequisites inherit the best efficiency of what they unlock
        eff = {sid: efficiency(sid) for sid in needed}
        for sid in needed:
            if chosen[sid][0] == "prerequisite":
                eff[sid] = max(
                    (
                        eff[d]
                        for d in descendants(self.graph, sid, needed)
                        if chosen[d][0] != "prerequisite"
                    ),
                    default=0.0,
                )
        rank = {sid: (stage(self.steps[sid]), -eff[sid]) for sid in needed}
        planned = tuple(
            PlannedStep(self.steps[s], chosen[s][0], tuple(sorted(chosen[s][1])), eff[s])
            for s in order(self.graph, needed, lambda s: (*rank[s], s))
        )
        minutes = sum(ps.step.minutes for ps in planned)
        expected = expected_minutes(planned, p)
        parts = self.part_needs(planned, confidences, text, generation)
        tool_ids = dict.fromkeys(t for ps in planned for t in ps.step.tools)
        tools = tuple(self.tools[t] for t in tool_ids if t in self.tools)
        questions = ask(self.asks, confidences, report or Report(), self.titles, self.lexicon)
        return Plan(planned, minutes, expected, parts, tools, questions)

    def with_visit(self, visit: float) -> Planner:
        """The same planner assuming a visit costs ``visit`` minutes."""
        other = copy.copy(self)
        other.visit = visit
        return other

    def _remote(self, confidences: Sequence[tuple[str, float]]) -> dict[str, list[tuple[str, str]]]:
        """Remote steps and the causes (of those not too unlikely to count) each
        fixes or tests: step id -> [(cause id, "fix" | "test")]."""
        out: dict[str, list[tuple[str, str]]] = {}
        for cid, pc in confidences:
            if pc < PART_FLOOR:
                continue
            link = self.links[cid]
            for reason, sids in (("fix", link.fixes), ("test", link.tests)):
                for sid in sids:
                    if self.steps[sid].kind == "remote" and all(
                        c != cid for c, _r in out.get(sid, ())
                    ):
                        out.setdefault(sid, []).append((cid, reason))
        return out

    def part_needs(
        self,
        planned: Sequence[PlannedStep],
        confidences: Sequence[tuple[str, float]],
        text: str,
        generation: int | None,
    ) -> tuple[PartNeed, ...]:
        """Parts of the chosen fix steps; the probability a part is needed is the
        sum of the confidences of the causes whose fix uses it."""
        chosen = {ps.step.id for ps in planned}
        prob: dict[str, float] = {}
        why: dict[str, list[str]] = {}
        for cid, pc in confidences:
            if pc < PART_FLOOR:
                continue  # causes this unlikely do not move a part's probability
            for sid in self.links[cid].fixes:
                if sid in chosen:
                    for pid in self.steps[sid].parts:
                        prob[pid] = prob.get(pid, 0.0) + pc
                        if pc >= 0.01:
                            why.setdefault(pid, []).append(cid)
        out = []
        for pid, pr in sorted(prob.items(), key=lambda kv: -kv[1]):
            part = self.parts[pid]
            variant = resolve_variant(part, text, generation)
            out.append(
                PartNeed(
                    part,
                    min(pr, 1.0),
                    variant,
                    part.variants,
                    part.variant_basis,
                    tuple(why.get(pid, ())),
                )
            )
        return tuple(out)


def expected_minutes(planned: Sequence[PlannedStep], p: dict[str, float]) -> float:
    """Expected time when work stops as soon as the true cause is fixed: each step
    costs its minutes times the probability the fault is still there; verification
    is always done, restore whenever the lockout was applied."""
    remaining = 1.0
    locked = 0.0
    total = 0.0
    for ps in planned:
        if ps.reason == "verification":
            total += ps.step.minutes  # always verify
            continue
        if ps.reason == "restore":
            total += locked * ps.step.minutes
            continue
        if ps.step.kind == "lockout":
            locked = remaining
        total += remaining * ps.step.minutes
        if ps.reason == "fix":
            remaining = max(0.0, remaining - sum(p.get(c, 0.0) for c in ps.causes))
    return total


_GEN = re.compile(r"\bgen(?:eration)?\s*(\d)\b", re.I)
_LEN = re.compile(r"\b(\d+)\s*(?:-?\s*(?:foot|feet|ft)|')", re.I)


def resolve_variant(part: Part, text: str, generation: int | None) -> str:
    """Pick the variant the observation determines (generation, cable length)."""
    if not part.variants:
        return ""
    for v in part.variants:
        gm = _GEN.search(v)
        if gm and generation is not None and int(gm.group(1)) == generation:
            return v
        lm = re.match(r"(\d+)", v)
        if lm and not gm:
            for m in _LEN.finditer(text):
                if m.group(1) == lm.group(1):
                    return v
    return ""
