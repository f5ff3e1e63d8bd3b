"""Diagnosis: observation -> facts -> partition engine -> ranked, explained causes.

Scoring is Bayesian with a single-fault assumption: each cause starts from its
prior weight (frequency wording in the manual, normalised over the partition),
each piece of evidence adds its log-likelihood ratio (a sum, so the order of
evidence never matters), and the posterior is normalised over the causes plus a
"leak" for faults the knowledge base does not know. Per cause and observation
clause only the strongest match counts, so one sentence matching a cause's
symptom row and its title is not counted twice.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from engine import outcomes, rules
from engine.codes import CodeIndex, Resolution
from engine.match import Matcher
from engine.observe import OCPP16_ERROR_CODES, ErrorCodeObs, Observation, observe
from engine.plan import CauseSteps, Plan, Planner
from engine.readings import bare_readings
from kb.schema import Cause, KnowledgeBase, Measurement
from kb.text import Lexicon, apply_lexicon, clauses, terms, words
from kb.text import lexicon_of as text_lexicon_of

LEAK = 0.15  # prior mass of "a cause the knowledge base does not know"
# How many closed work orders the manual's prior is worth (Dirichlet pseudo-count):
# with 20, three orders closed on a cause with a 10 % prior multiply its odds by 2.5.
HISTORY_WEIGHT = 20.0
# The most the repair history may multiply one cause's odds by, however many orders
# (a bound on what a few accounts can do to every technician's ranking).
HISTORY_MAX_ODDS = 4.0
ANSWER_SLOT = 10_000  # clause index of answered questions, apart from the text's clauses

# Repair history: closed work orders per (equipment, error code) -> {cause id: count}.
History = Mapping[tuple[str, str], Mapping[str, int]]
MAX_CAUSES = 8
# causes without evidence listed in Diagnosis.all_causes (by prior); the rest are
# still in the normaliser, and why_not computes any of them on demand
PRIOR_ONLY_LISTED = 40
MIN_CONFIDENCE = 0.02


@dataclass(frozen=True)
class EvidenceItem:
    kind: str
    observation: str
    matched: str
    weight: float  # log-likelihood ratio contributed
    path: str
    line: int

    @property
    def polarity(self) -> str:
        return "for" if self.weight >= 0 else "against"


@dataclass(frozen=True)
class RankedCause:
    cause: Cause
    confidence: float
    score: float  # posterior log-odds before normalisation
    evidence: tuple[EvidenceItem, ...]


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


class Partition:
    """Causes of one equipment (plus generic ones), with their built engine."""

    def __init__(
        self,
        kb: KnowledgeBase,
        key: str,
        causes: list[Cause],
        lexicon: Lexicon,
        links: Mapping[str, CauseSteps],
    ) -> None:
        self.key = key
        self.kb = kb
        self.causes = {c.id: c for c in causes}
        self.lexicon = lexicon
        self.links = links
        self.matcher = Matcher(kb, self.causes, lexicon, links)
        manuals = {c.manual for c in causes}
        measurements = [m for m in kb.measurements if m.manual in manuals]
        ctx = [r for r in kb.context_rules if r.cause in self.causes]
        self.context_rules = ctx
        self.measurements = measurements
        self._signatures: dict[str, outcomes.FixSignature] | None = None
        self.engine = rules.PartitionEngine(
            self.matcher.observables, measurements, causes, ctx, fixed_by=self.fixed_by
        )
        total = sum(c.prior for c in causes) or 1.0
        self.log_prior = {c.id: math.log(c.prior / total) for c in causes}
        self.max_log_prior = max(self.log_prior.values(), default=0.0)
        self.by_prior = sorted(self.log_prior, key=lambda cid: (-self.log_prior[cid], cid))

    def quantity_at(self, points: tuple[str, ...]) -> str | None:
        """What the manuals measure between these test points, when that is one
        quantity (resistance between PP and PE, voltage on CP)."""
        want = set(points)
        found = {
            m.quantity
            for m in self.measurements
            if m.points
            and (want <= set(m.points) or set(m.points) <= want)
            and m.quantity in rules.READING_QUANTITIES
        }
        return found.pop() if len(found) == 1 else None

    def signatures(self) -> dict[str, outcomes.FixSignature]:
        """How each cause is fixed (worked out on the first reported action)."""
        if self._signatures is None:
            vocab = outcomes.default_vocabulary()
            steps = {s.id: s for s in self.kb.steps}
            statements: dict[str, list[str]] = {}
            for e in self.kb.evidence:
                if e.cause in self.causes and e.kind == "statement":
                    statements.setdefault(e.cause, []).append(e.text)
            sigs = {}
            for cid, c in self.causes.items():
                fix_steps = [steps[s] for s in self.links[cid].fixes if s in steps]
                texts = [c.remedy, c.notes, *statements.get(cid, [])]
                own = terms(c.title, self.lexicon)
                for st in fix_steps:
                    # of a step that does several things, what it does about this cause
                    subs = [x for x in st.substeps if terms(x, self.lexicon) & own]
                    texts += [st.title, *(subs or st.substeps)]
                objects = frozenset(o for cl in clauses(c.title, self.lexicon) for o in cl.objects)
                if not objects:
                    objects = frozenset(
                        o for cl in clauses(c.component, self.lexicon) for o in cl.objects
                    )
                sigs[cid] = outcomes.signature(objects, [t for t in texts if t], vocab)
            self._signatures = sigs
        return self._signatures

    def fixed_by(self, report: outcomes.ActionReport) -> list[tuple[Cause, str]]:
        """The causes the reported action would have fixed, with how."""
        out = []
        for cid, sig in self.signatures().items():
            if outcomes.fixes(report, sig):
                fixes = ", ".join(sorted(sig.actions)) or "its part"
                how = f"{report.action} fixes this cause ({fixes})"
                out.append((self.causes[cid], how))
        return out


def lexicon_of(kb: KnowledgeBase) -> Lexicon:
    return text_lexicon_of(kb.lexicon)


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
        scoped = sorted({c for c in codes if c in self.scoped_codes})
        return f"|{','.join(scoped)}" if scoped else ""

    def partition(self, key: str) -> Partition:
        """The partition of a ``partition_key``; its ``key`` is the equipment alone."""
        part = self._partitions.get(key)
        if part is None:
            eq, _, listed = key.partition("|")
            codes = set(listed.split(",")) if listed else set()
            causes = [
                c
                for c in self.kb.causes
                if (eq == "*" or not c.equipment or c.equipment == eq)
                and (c.id not in self.code_scoped or codes & set(c.error_codes))
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
        obs = observe(text, self.lexicon, error, outcomes.default_vocabulary())
        obs = replace(obs, error_codes=self._with_aliases(obs.error_codes))
        key = self.partition_key(model, [c.code for c in obs.error_codes])
        part = self.partition(key)
        facts, seen = self._facts(obs, part, answered)
        contribs = part.engine.run(facts)
        contribs += self._history(part, [c.code for c in obs.error_codes], history)
        d = self._rank(obs, part, contribs)
        if not d.causes:
            return d
        conf = [(rc.cause.id, rc.confidence) for rc in d.all_causes]
        observed = seen | {ref for ref, _v in answers}
        plan = self.planner.plan(conf, text=text, generation=obs.generation, observed=observed)
        return replace(d, plan=plan)

    def _history(self, part: Partition, codes: list[str], history: History) -> list[rules.Contrib]:
        """Closed work orders as evidence: the Dirichlet posterior mean of a cause's
        frequency, (N0 p + k) / (N0 + n), relative to its prior p. Causes no order
        found keep their weight; only the share of the unknown-fault leak and of
        the others shrinks, so this is exactly a prior update, recomputed per query."""
        if part.key == "*" or not history:
            return []
        want = self.canonical_codes(codes)
        counts: dict[str, int] = {}
        for (eq, error), per in history.items():
            if eq != part.key:
                continue
            # an order counts when it reported the same fault (OCPP aliases resolved),
            # or for any code when the query names none
            if want and not (self.canonical_codes(re.split(r"[,\s]+", error)) & want):
                continue
            for cid, n in per.items():
                counts[cid] = counts.get(cid, 0) + n
        total = sum(counts.values())
        out = []
        for cid, k in sorted(counts.items()):
            if cid not in part.causes or k <= 0:
                continue
            p = math.exp(part.log_prior[cid]) * (1 - LEAK)
            w = math.log((HISTORY_WEIGHT * p + k) / (HISTORY_WEIGHT * p))
            capped = w > math.log(HISTORY_MAX_ODDS)
            w = min(w, math.log(HISTORY_MAX_ODDS))
            c = part.causes[cid]
            where = f"{part.key}, {' / '.join(codes) or 'any error code'}"
            bound = f"; weight capped at x{HISTORY_MAX_ODDS:g} odds" if capped else ""
            out.append(
                rules.Contrib(
                    f"history:{cid}",
                    cid,
                    w,
                    "repair history",
                    f"{k} of {total} counted closed work orders ({where}) found this cause{bound}",
                    c.title,
                    c.source.path,
                    c.source.line_start,
                )
            )
        return out

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

    # ------------------------------------------------------------ facts

    def _facts(
        self, obs: Observation, part: Partition, answered: Sequence[tuple[str, bool]] = ()
    ) -> tuple[list[object], set[str]]:
        """The observation as experta facts, and the KB texts it already covers
        (so the next question does not ask about them again)."""
        facts: list[object] = []
        seen: set[str] = set()
        for m in part.matcher.match(obs.clauses):
            seen.add(m.observable.text)
            facts.append(
                rules.match_fact(
                    m.observable.text, m.obs_index, round(m.similarity, 4), m.agrees, m.obs_text
                )
            )
        for i, (ref, yes) in enumerate(answered):
            asked = part.matcher.by_id.get(ref)
            if asked is None:
                continue
            seen.add(asked.text)
            reply = f"{'yes' if yes else 'no'}: {asked.text}"
            facts.append(rules.match_fact(asked.text, ANSWER_SLOT + i, 1.0, yes, reply))
        for i, r in enumerate(obs.readings):
            clause = _clause_around(obs.text, r.span)
            pressed = bool(re.search(r"\bpress(?:ed|ing)?\b", clause, re.I)) and not re.search(
                r"\b(?:not|n't|without|regardless|even when|unpressed|released)\b", clause, re.I
            )
            facts.append(
                rules.reading_fact(
                    i, r.quantity, r.value, r.open_circuit, r.points, r.text, pressed, False
                )
            )
        # "PP to PE 152": the unit is what the manuals measure between those points
        n_read = len(obs.readings)
        bares = bare_readings(obs.text, list(obs.readings))
        for k, b in enumerate(bares):
            quantity = part.quantity_at(b.points)
            if quantity is None:
                continue
            clause = _clause_around(obs.text, b.span)
            pressed = bool(re.search(r"\bpress(?:ed|ing)?\b", clause, re.I)) and not re.search(
                r"\b(?:not|n't|without|regardless|even when|unpressed|released)\b", clause, re.I
            )
            facts.append(
                rules.reading_fact(
                    n_read + k, quantity, b.value, False, b.points, b.text, pressed, False
                )
            )
        for j, seconds in enumerate(obs.elapsed_s, n_read + len(bares)):
            facts.append(
                rules.reading_fact(
                    j,
                    "duration",
                    seconds,
                    False,
                    (),
                    f"{seconds / 60:g} min since last contact",
                    False,
                    True,
                )
            )
        for code in obs.error_codes:
            facts.append(rules.error_fact(code.code))
        for n, report in enumerate(obs.actions):
            facts.append(rules.action_fact(report, n))
        if outcomes.default_vocabulary().resolved_itself(obs.text):
            facts.append(rules.resolved_fact(obs.text))
        norm = " " + " ".join(words(apply_lexicon(obs.text, self.lexicon))) + " "
        for rule in part.context_rules:
            for phrase in rule.phrases:
                p = " " + " ".join(words(apply_lexicon(phrase, self.lexicon))) + " "
                at = norm.find(p)
                if at >= 0:
                    before = norm[:at].split()[-3:]
                    negated = any(
                        w in ("no", "not", "n't", "never", "none", "without") for w in before
                    )
                    facts.append(rules.context_fact(rule.id, phrase, negated))
                    break
        return facts, seen

    # ------------------------------------------------------------ scoring

    def _rank(self, obs: Observation, part: Partition, contribs: list[rules.Contrib]) -> Diagnosis:
        # strongest contribution per (cause, observation clause / reading / code)
        best: dict[tuple[str, str], rules.Contrib] = {}
        for c in contribs:
            key = (c.cause, c.slot or c.id)
            if key not in best or abs(c.logw) > abs(best[key].logw):
                best[key] = c
        per_cause: dict[str, list[rules.Contrib]] = {}
        for (cause, _slot), c in best.items():
            per_cause.setdefault(cause, []).append(c)
        informative = any(c.kind != "error code" for c in best.values())
        # Only causes with evidence are scored one by one; the others keep their prior,
        # whose total mass is known (priors sum to 1 per partition), so the normaliser
        # and every confidence stay exact while a query costs O(evidence), not O(KB).
        scores = {
            cid: part.log_prior[cid] + sum(c.logw for c in cs)
            for cid, cs in per_cause.items()
            if cid in part.log_prior
        }
        leak = math.log(LEAK / (1 - LEAK))
        top = max([*scores.values(), leak, part.max_log_prior])
        rest = max(0.0, 1.0 - sum(math.exp(part.log_prior[cid]) for cid in scores))
        z = (
            sum(math.exp(s - top) for s in scores.values())
            + math.exp(leak - top)
            + rest * math.exp(-top)
        )
        log_z = top + math.log(z)
        prior_only: list[tuple[str, float]] = []
        for cid in part.by_prior:
            if len(prior_only) >= PRIOR_ONLY_LISTED:
                break
            if cid not in scores:
                prior_only.append((cid, part.log_prior[cid]))
        ranked = sorted(
            (
                self._ranked(part, cid, s, log_z, per_cause.get(cid, []))
                for cid, s in [*scores.items(), *prior_only]
            ),
            key=lambda rc: (-rc.confidence, rc.cause.id),
        )
        message = ""
        suggestions: tuple[str, ...] = ()
        if not best:
            message = (
                "No matching evidence: nothing in the observation matches a known "
                "symptom, reading or error code, so no cause is ranked."
            )
            suggestions = tuple(part.matcher.suggestions(obs.text))
            shown: tuple[RankedCause, ...] = ()
        else:
            if not informative:
                message = (
                    "Ranked on the error code alone: no symptom or reading matched, "
                    "so these are the code's causes by prior frequency."
                )
                suggestions = tuple(part.matcher.suggestions(obs.text))
            shown = tuple(
                rc
                for rc in ranked[:MAX_CAUSES]
                if rc.confidence >= MIN_CONFIDENCE and (rc.evidence or not informative)
            )
            if not shown and informative:
                # the evidence fits many causes (typically the same symptom on many
                # models) and none stands out: say so, and show the closest anyway
                shown = tuple(rc for rc in ranked if rc.evidence)[:MAX_CAUSES]
                fits = [c for c in per_cause if c in part.causes]
                models = {part.causes[c].equipment for c in fits}
                message = (
                    f"The observation fits {len(fits)} causes on {len(models)} models "
                    "about equally, so none stands out; give the model or the error code "
                    "to narrow it down. The closest are listed."
                )
        return Diagnosis(obs, part.key, shown, tuple(ranked), message, suggestions, log_z=log_z)

    @staticmethod
    def _ranked(
        part: Partition, cid: str, score: float, log_z: float, contribs: list[rules.Contrib]
    ) -> RankedCause:
        evidence = sorted(
            (
                EvidenceItem(c.kind, c.observation, c.matched, round(c.logw, 3), c.path, c.line)
                for c in contribs
            ),
            key=lambda e: -abs(e.weight),
        )
        return RankedCause(part.causes[cid], math.exp(score - log_z), score, tuple(evidence))

    def why_not(self, diagnosis: Diagnosis, query: str) -> dict[str, object]:
        """Explain what evidence a cause lacked or had against it."""
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
                found = self._ranked(part, cid, part.log_prior[cid], diagnosis.log_z, [])
                pool = sorted([*pool, found], key=lambda rc: (-rc.confidence, rc.cause.id))
        if found is None:
            titles = ", ".join(rc.cause.title for rc in pool[:12])
            return {
                "error": f"no cause matching {query!r} in partition {diagnosis.partition}; "
                f"known: {titles}"
            }
        rank = pool.index(found) + 1
        matched = {e.matched for e in found.evidence}
        missing = [
            {"text": o.text, "kind": o.kind, "source": f"{o.path}:{o.line}"}
            for o in part.matcher.observables
            if o.cause == found.cause.id and o.text not in matched
        ]
        for m in self.kb.measurements:
            for imp in m.implications:
                if imp.cause == found.cause.id:
                    missing.append(
                        {
                            "text": f"reading: {m.text} -> {imp.when}: {imp.text}",
                            "kind": "measurement",
                            "source": f"{m.source.path}:{m.source.line_start}",
                        }
                    )
        return {
            "cause": found.cause.title,
            "id": found.cause.id,
            "rank": rank,
            "confidence": round(found.confidence, 4),
            "prior": found.cause.prior_basis,
            "against": [e.__dict__ for e in found.evidence if e.weight < 0],
            "for": [e.__dict__ for e in found.evidence if e.weight >= 0],
            "not_observed": missing,
        }


def _reading_text(m: Measurement, value: str) -> str:
    """An answer to "Measure PP–PE ...: what do you read?" as observation text:
    the test points and, for a bare number, the measurement's unit."""
    v = value.strip()
    if re.fullmatch(r"[-+]?\d+(?:[.,]\d+)?", v) and m.unit:
        v = f"{v} {m.unit}"
    return f"{'-'.join(m.points) or m.quantity} {v}".strip()


def _norm_model(s: str) -> str:
    return re.sub(r"[^a-z0-9]", "", s.lower())


def _clause_around(text: str, span: tuple[int, int]) -> str:
    start = max(text.rfind(c, 0, span[0]) for c in ",;.") + 1
    ends = [i for i in (text.find(c, span[1]) for c in ",;.") if i >= 0]
    return text[start : min(ends) if ends else len(text)]
