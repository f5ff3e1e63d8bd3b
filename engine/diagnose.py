"""Diagnosis: observation -> facts -> partition engine -> contributions -> ranked,
explained causes -> the procedure. Each stage is a small function over typed records:

- ``engine.observe.observe``: free text (plus an error code) -> an Observation;
- ``engine.facts.observation_facts``: the observation as facts for one partition;
- ``engine.rules``: the partition's experta engine turns facts into contributions;
- ``engine.history.history_contribs``: closed work orders as a prior update;
- ``engine.score.rank``: contributions -> ranked causes (order-independent);
- ``engine.plan.Planner``: ranked causes -> the minimal safe procedure.

The Diagnoser holds a knowledge base, builds each partition once and runs the
stages per query.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from engine import outcomes
from engine.codes import CodeIndex, Resolution
from engine.facts import observation_facts
from engine.history import History, history_contribs
from engine.observe import OCPP16_ERROR_CODES, ErrorCodeObs, canonical_code, observe
from engine.partition import Partition
from engine.plan import Planner
from engine.questions import told
from engine.records import Diagnosis, EvidenceItem, RankedCause
from engine.score import order, rank, ranked_cause
from kb.curated import CURATED_DIR, load_yaml
from kb.errors import KBError
from kb.schema import KnowledgeBase, Measurement
from kb.text import Lexicon
from kb.text import lexicon_of as text_lexicon_of

__all__ = [
    "Diagnoser",
    "Diagnosis",
    "EvidenceItem",
    "History",
    "Partition",
    "RankedCause",
    "UnknownCause",
    "WhyNot",
]


class UnknownCause(KBError):
    """``why_not`` was asked about a cause the partition does not hold."""


def lexicon_of(kb: KnowledgeBase) -> Lexicon:
    return text_lexicon_of(kb.lexicon)


@dataclass(frozen=True)
class Unobserved:
    """Something the manuals say would show a cause, which the report did not mention."""

    text: str
    kind: str
    source: str  # path:line


@dataclass(frozen=True)
class WhyNot:
    """Why a cause ranks where it does."""

    cause: str
    id: str
    rank: int
    confidence: float
    prior: str
    evidence: tuple[EvidenceItem, ...]
    not_observed: tuple[Unobserved, ...]

    @property
    def against(self) -> tuple[EvidenceItem, ...]:
        return tuple(e for e in self.evidence if e.weight < 0)

    @property
    def supporting(self) -> tuple[EvidenceItem, ...]:
        return tuple(e for e in self.evidence if e.weight >= 0)


def catalogue_share(directory: Path | None = None) -> float:
    """The share of its prior a code catalogue's cause keeps in a report that names
    none of its codes (kb/curated/priors.yaml ``catalogue_without_code``)."""
    path = (directory or CURATED_DIR) / "priors.yaml"
    return _share(str(path), path.stat().st_mtime if path.exists() else 0.0)


@functools.lru_cache(maxsize=4)
def _share(path: str, _mtime: float) -> float:
    root = load_yaml(Path(path))
    share = root.number("catalogue_without_code", required=False)
    if share is None:
        return 1.0
    if not 0 < share <= 1:
        raise root.node("catalogue_without_code").fail("expected a share above 0, at most 1")
    return share


class Diagnoser:
    """Holds one knowledge base and its partition engines (built lazily, once)."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.lexicon = lexicon_of(kb)
        self._partitions: dict[str, Partition] = {}
        # experta engines are stateful: one query at a time per knowledge base
        self._lock = threading.Lock()
        self.measurements = {m.id: m for m in kb.measurements}
        self.planner = Planner(kb, self.lexicon)
        self.code_equipment: dict[str, set[str]] = {}
        for ec in kb.error_codes:
            self.code_equipment.setdefault(ec.code, set()).add(ec.equipment)
        for c in kb.causes:
            for code in c.error_codes:
                self.code_equipment.setdefault(code, set()).add(c.equipment)
        self.code_index = CodeIndex(
            [*self.code_equipment, *(a.code for a in kb.code_aliases), *OCPP16_ERROR_CODES]
        )
        # Causes of a code catalogue (no equipment, documented for error codes) join a
        # partition only when the query names one of their codes: otherwise their prior
        # mass would dilute every model's causes. In a knowledge base without any
        # equipment there is nothing to dilute, and every cause stays reachable by text.
        self.code_scoped: set[str] = set()
        if any(c.equipment for c in kb.causes):
            self.code_scoped = {c.id for c in kb.causes if not c.equipment and c.error_codes}
        self.scoped_codes = {
            code for c in kb.causes if c.id in self.code_scoped for code in c.error_codes
        }

    def resolve_code(self, code: str) -> Resolution:
        """A given error code as the knowledge base spells it, or the closest known."""
        return self.code_index.resolve(code)

    def equipment_names(self) -> list[str]:
        return sorted({c.equipment for c in self.kb.causes if c.equipment})

    def partition_key(self, model: str | None, codes: Iterable[str]) -> str:
        """The equipment a query is about ("*": any), followed by ``|CODES`` when it
        names codes of a code catalogue (whose causes join only then)."""
        codes = list(codes)
        suffix = self.scope_suffix(codes)
        if model:
            want = _norm_model(model)
            for eq in self.equipment_names():
                if want and (want in _norm_model(eq) or _norm_model(eq) in want):
                    return eq + suffix
            return "*" + suffix
        for code in codes:
            # a code no equipment claims (a catalogue's) does not choose the equipment
            eqs = self.code_equipment.get(code, set()) - {""}
            if len(eqs) == 1:
                return next(iter(eqs)) + suffix
        if any(self.code_equipment.get(c) == {""} for c in codes):
            return suffix  # only codes no equipment claims: the generic causes
        return "*" + suffix

    def scope_suffix(self, codes: Iterable[str]) -> str:
        """``|CODES`` for the catalogue codes a query names; ``|*`` when it names no
        code at all (the catalogue's causes then join in words, at a share of their
        prior); nothing when it names only codes of the equipment."""
        codes = list(codes)
        scoped = sorted({c for c in codes if c in self.scoped_codes})
        if scoped:
            return f"|{','.join(scoped)}"
        return "|*" if not codes and self.code_scoped else ""

    def partition(self, key: str) -> Partition:
        """The partition of a ``partition_key``; its ``key`` is the equipment alone."""
        part = self._partitions.get(key)
        if part is None:
            eq, _, listed = key.partition("|")
            in_words = listed == "*"
            codes = set(listed.split(",")) if listed and not in_words else set()
            causes = [
                c
                for c in self.kb.causes
                if (eq == "*" or not c.equipment or c.equipment == eq)
                and (c.id not in self.code_scoped or in_words or codes & set(c.error_codes))
            ]
            if in_words:
                # no code named: the catalogue's causes are reachable in words, at a
                # share of their prior (kb/curated/priors.yaml)
                share = catalogue_share()
                causes = [
                    replace(c, prior=c.prior * share) if c.id in self.code_scoped else c
                    for c in causes
                ]
            part = Partition(self.kb, eq, causes, self.lexicon, self.planner.links)
            self._partitions[key] = part
        return part

    def diagnose(
        self,
        text: str,
        error: str | None = None,
        model: str | None = None,
        *,
        answers: Sequence[tuple[str, str]] = (),
        history: History | None = None,
    ) -> Diagnosis:
        """Rank the causes of an observation.

        ``answers`` are replies to earlier questions: ``(evidence id, "yes"|"no")``
        for "Do you observe ...?" and ``(measurement id, reading)`` for "Measure ...".
        ``history`` is the repair history of closed work orders; the causes that
        closed orders of this equipment and error code found get their prior raised.
        """
        answered: list[tuple[str, bool]] = []
        extra: list[str] = []
        for ref, value in answers:
            m = self.measurements.get(ref)
            if m is not None:
                extra.append(_reading_text(m, value))
            elif value.strip().lower() in ("yes", "y", "true", "1", "no", "n", "false", "0"):
                answered.append((ref, value.strip().lower() in ("yes", "y", "true", "1")))
        warnings: list[str] = []
        if error and error.strip():
            res = self.resolve_code(error)
            if res.code is None:
                # an unknown code is read as text (it may be a message the manuals quote)
                near = ", ".join(res.closest) or "none"
                warnings.append(f"unknown error code {error.strip()!r}; closest known: {near}")
                extra.insert(0, error.strip())
                error = None
            else:
                error = res.code
        full = ". ".join(t for t in [text.strip().rstrip("."), *extra] if t)
        with self._lock:
            d = self._diagnose(full, error, model, answered, history or {}, answers)
        return replace(d, warnings=tuple(warnings)) if warnings else d

    def _diagnose(
        self,
        text: str,
        error: str | None,
        model: str | None,
        answered: list[tuple[str, bool]],
        history: History,
        answers: Sequence[tuple[str, str]],
    ) -> Diagnosis:
        obs = observe(
            text, self.lexicon, error, outcomes.default_vocabulary(), self.kb.serial_formats
        )
        # a known code written in the report in a code's shape ("/Alarms/BatteryLinkLost
        # = 2") is named as --error names one
        have = {c.code for c in obs.error_codes}
        named = [canonical_code(c) for c in self.code_index.named_in(text)]
        named = [c for c in named if c.code not in have]
        obs = replace(obs, error_codes=self._with_aliases((*obs.error_codes, *named)))
        codes = [c.code for c in obs.error_codes]
        part = self.partition(self.partition_key(model, codes))
        facts = observation_facts(obs, part, self.lexicon, answered)
        contribs = part.engine.run(list(facts.facts))
        contribs += history_contribs(part, codes, history, self.canonical_codes)
        d = rank(obs, part, contribs)
        if not d.causes:
            return d
        conf = [(rc.cause.id, rc.confidence) for rc in d.all_causes]
        refs = (ref for ref, _v in answers)
        report = told(obs, facts.matched, facts.replies, refs, self.lexicon)
        plan = self.planner.plan(conf, text=text, generation=obs.generation, report=report)
        return replace(d, plan=plan)

    def canonical_codes(self, codes: Iterable[str]) -> set[str]:
        """Error codes with OCPP codes replaced by the station codes they stand for."""
        means = {a.code: a.means for a in self.kb.code_aliases}
        return {means.get(c, c) for c in codes if c}

    def _with_aliases(self, codes: tuple[ErrorCodeObs, ...]) -> tuple[ErrorCodeObs, ...]:
        """An OCPP code that means a station code (curated) brings that code along."""
        out = list(codes)
        for c in codes:
            for a in self.kb.code_aliases:
                if a.code == c.code and all(o.code != a.means for o in out):
                    out.append(ErrorCodeObs(a.means, "station"))
        return tuple(out)

    def why_not(self, diagnosis: Diagnosis, query: str) -> WhyNot:
        """What evidence a cause (id or words of its title) had for and against it,
        and what the manuals say would show it that the report did not mention.
        Raises UnknownCause when the partition holds no such cause."""
        q = query.lower()
        pool = list(diagnosis.all_causes)
        codes = [c.code for c in diagnosis.observation.error_codes]
        part = self.partition(diagnosis.partition + self.scope_suffix(codes))
        found = next((rc for rc in pool if rc.cause.id == query), None) or next(
            (rc for rc in pool if q in rc.cause.title.lower()), None
        )
        if found is None:  # a cause with no evidence and a low prior: not listed
            cid = next(
                (c.id for c in part.causes.values() if c.id == query or q in c.title.lower()),
                None,
            )
            if cid is not None:
                found = ranked_cause(part, cid, part.log_prior[cid], diagnosis.log_z, [])
                pool = sorted([*pool, found], key=order)
        if found is None:
            titles = ", ".join(rc.cause.title for rc in pool[:12])
            raise UnknownCause(
                f"no cause matching {query!r} in partition {diagnosis.partition}; known: {titles}"
            )
        matched = {e.matched for e in found.evidence}
        missing = [
            Unobserved(o.text, o.kind, f"{o.path}:{o.line}")
            for o in part.matcher.observables
            if o.cause == found.cause.id and o.text not in matched
        ]
        for m in self.kb.measurements:
            for imp in m.implications:
                if imp.cause == found.cause.id:
                    missing.append(
                        Unobserved(
                            f"reading: {m.text} -> {imp.when}: {imp.text}",
                            "measurement",
                            f"{m.source.path}:{m.source.line_start}",
                        )
                    )
        return WhyNot(
            cause=found.cause.title,
            id=found.cause.id,
            rank=pool.index(found) + 1,
            confidence=round(found.confidence, 4),
            prior=found.cause.prior_basis,
            evidence=found.evidence,
            not_observed=tuple(missing),
        )


def _reading_text(m: Measurement, value: str) -> str:
    """An answer to "Measure PP–PE ...: what do you read?" as observation text:
    the test points and, for a bare number, the measurement's unit."""
    v = value.strip()
    if re.fullmatch(r"[-+]?\d+(?:[.,]\d+)?", v) and m.unit:
        v = f"{v} {m.unit}"
    return f"{'-'.join(m.points) or m.quantity} {v}".strip()


def _norm_model(s: str) -> str:
    return re.sub(r"[^a-z0-9]", "", s.lower())
