"""Match observation clauses against the knowledge base's observable texts.

Every evidence text (symptom rows, notes, trigger conditions, causal statements)
and every cause title is split into clauses with a *sense* (fault asserted or
normal behaviour). An observation clause that covers a KB clause speaks *for*
the cause when the senses agree and *against* it when they differ ("retracts
fine" against "won't retract"). Coverage is IDF-weighted, so rare, specific
words ("latch", "chalking") count more than common ones ("cable"). Observation
words outside the KB vocabulary are mapped to the closest KB word when the
spelling is close (rapidfuzz), so typos still land.
"""

from __future__ import annotations

import functools
import heapq
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from rapidfuzz import fuzz, process

from kb.schema import KnowledgeBase
from kb.text import Clause, Lexicon, clauses, stem, words

# words that say only *that* something is wrong: a match on them alone is none
GENERIC_FAULT_STEMS = frozenset(
    stem(w) for w in ("fail", "failed", "failure", "error", "fault", "faulty", "problem", "issue")
)

# how something happened, not what: "it started right up" states that it started
_MANNER = frozenset(
    stem(w) for w in ("right", "straight", "immediately", "instantly", "quickly", "away", "finally")
)
CONTEXT_AGREEMENT = 0.3
NARRATIVE_CLAUSES = 3
NARRATIVE_WORDS = 15  # a table row ("No power: the display and lights are dark") is none
STEP_STRENGTH = 2.0  # a step's text looked at (what it checks or mends)
STEP_SIMILARITY = 0.5  # and only when the report says nearly the same
MIN_SIMILARITY = 0.34
COMMON_SHARE = 0.12
COMMON_MIN = 3  # in a small knowledge base no word is common
TITLE_STRENGTH = 4.0
# a report of what raises a code, shared by all the code's causes: weaker than the
# code itself (a report of "offline" may have other reasons)
CODE_CONDITION_STRENGTH = 2.0
MAX_TEXTS_PER_CLAUSE = 40
# a clause about one assembly meeting a text about another ("the antenna hangs
# off the door" / "the cable hangs loose"): what little they share is coincidence
OBJECT_MISMATCH = 0.2
REPAIR_CACHE = 50_000  # misspelt words remembered per partition
WHOLE = "whole"  # lexicon assembly of the station and the vehicle: no assembly at all
# a clause in quotes: the words a display or the vehicle shows
_QUOTED = re.compile(r"""^\s*["'\u201c\u2018`].{3,}["'\u201d\u2019`]\s*$""")


@dataclass(frozen=True)
class Observable:
    """One thing the KB says can be observed for a cause."""

    id: str  # evidence id, or "<cause id>#title"
    cause: str
    kind: str
    text: str
    strength: float
    polarity: str
    clauses: tuple[Clause, ...]
    path: str
    line: int
    context: frozenset[str] = frozenset()  # assemblies of its cause, for clauses naming none


@dataclass(frozen=True)
class MatchResult:
    observable: Observable
    obs_index: int  # which observation clause
    obs_text: str
    similarity: float
    agrees: bool  # senses agree -> evidence for (if the KB evidence is "for")
    kb_clause: int = 0  # which clause of the KB text it met


class Matcher:
    """Built once per knowledge-base partition; ``match`` is called per query."""

    def __init__(
        self,
        kb: KnowledgeBase,
        cause_ids: Iterable[str],
        lexicon: Lexicon,
        links: Mapping[str, Any] | None = None,
    ) -> None:
        wanted = set(cause_ids)
        self.lexicon = lexicon
        items: list[Observable] = []
        for e in kb.evidence:
            if e.cause in wanted:
                items.append(
                    Observable(
                        e.id,
                        e.cause,
                        e.kind,
                        e.text,
                        e.strength,
                        e.polarity,
                        tuple(clauses(e.text, lexicon)),
                        e.source.path,
                        e.source.line_start,
                    )
                )
        items += self._code_conditions(kb, wanted)
        for c in kb.causes:
            if c.id in wanted:
                items.append(
                    Observable(
                        f"{c.id}#title",
                        c.id,
                        "title",
                        c.title,
                        TITLE_STRENGTH,
                        "for",
                        tuple(clauses(c.title, lexicon)),
                        c.source.path,
                        c.source.line_start,
                    )
                )
        if links is not None:
            items += self._step_observables(kb, wanted, links)
        self.observables = tuple(items)
        self.by_id = {o.id: o for o in items}
        # what each cause is about: the assemblies its title and component name
        context: dict[str, set[str]] = {}
        for c in kb.causes:
            if c.id in wanted:
                found = self.assemblies(
                    o for cl in clauses(f"{c.title} {c.component}", lexicon) for o in cl.objects
                )
                context[c.id] = set(found)
        self.text_context: dict[str, frozenset[str]] = {}
        for o in items:
            have = self.text_context.get(o.text, frozenset())
            self.text_context[o.text] = have | frozenset(context.get(o.cause, ()))
        # observables sharing a text (a symptom row and a condition, or the same
        # symptom in several manuals) match alike: index each text once
        self.by_text: dict[str, list[Observable]] = {}
        for o in items:
            self.by_text.setdefault(o.text, []).append(o)
        firsts = [group[0] for group in self.by_text.values()]
        df: dict[str, int] = {}
        n = 0
        for o in items:
            for cl in o.clauses:
                n += 1
                for t in cl.terms:
                    df[t] = df.get(t, 0) + 1
        self.idf = {t: math.log(1 + n / d) for t, d in df.items()}
        # terms in more than COMMON_SHARE of the clauses ("cable") cannot carry a match alone
        self.common = frozenset(t for t, d in df.items() if d > max(COMMON_SHARE * n, COMMON_MIN))
        self.unknown_weight = 0.5 * (sum(self.idf.values()) / len(self.idf)) if self.idf else 1.0
        self.vocab = tuple(sorted(self.idf))
        # every KB clause numbered once (k): its text's first observable and clause
        # index, and what matching needs of it, worked out here rather than per query
        # and candidate: its terms, their weight, the components it must be about,
        # the assemblies it (or its cause) is about, and the similarity it must reach
        self._firsts = firsts
        self._at: list[tuple[int, int]] = []
        self._terms: list[frozenset[str]] = []
        self._clause_weight: list[float] = []
        self._needs: list[frozenset[str]] = []
        self._theirs: list[frozenset[str]] = []
        self._floor: list[float] = []
        self._floor2: list[float] = []  # squared, for the bound
        self._key: list[str] = []  # the observable id results are kept under
        self.index: dict[str, list[int]] = {}  # inverted index: term -> clauses
        none: frozenset[str] = frozenset()
        for i, o in enumerate(firsts):
            # in a text that asserts something ("the handle is plugged in, but
            # charging does not initiate"), a clause that asserts nothing is context
            # (a narrative of several clauses; a short text keeps every clause)
            cued = (
                any(cl.cued for cl in o.clauses)
                and len(o.clauses) >= NARRATIVE_CLAUSES
                and len(o.text.split()) >= NARRATIVE_WORDS
            )
            context_of = self.text_context.get(o.text, none)
            floor = STEP_SIMILARITY if o.kind == "step" else MIN_SIMILARITY
            for j, cl in enumerate(o.clauses):
                k = len(self._at)
                self._at.append((i, j))
                self._terms.append(cl.terms)
                self._clause_weight.append(self.weight(cl.terms) or 1.0)
                self._needs.append(cl.objects & lexicon.required or none)
                self._theirs.append(self.assemblies(cl.objects) or context_of)
                self._floor.append(floor)
                self._floor2.append(floor * floor)
                self._key.append(o.id)
                if cued and not cl.cued and not _QUOTED.match(cl.text):
                    continue  # (a message it quotes is what is seen: kept)
                for t in cl.terms:
                    self.index.setdefault(t, []).append(k)
        self._repaired: dict[str, str] = {}
        self._subjects: dict[tuple[str, int], frozenset[str]] = {}

    def _code_conditions(self, kb: KnowledgeBase, wanted: set[str]) -> list[Observable]:
        """What raises an error code ("the station has been unable to communicate
        for more than 10 minutes"), when the manual gives it for the code rather than
        for one cause: a report of that state speaks for every cause of the code, as
        the code itself would (a condition naming its cause is that cause's evidence
        already)."""
        of_code: dict[str, list[str]] = {}
        codes_of: dict[str, tuple[str, ...]] = {}
        title_terms: dict[str, frozenset[str]] = {}
        for c in kb.causes:
            if c.id in wanted:
                codes_of[c.id] = c.error_codes
                title_terms[c.id] = frozenset(
                    t for cl in clauses(c.title, self.lexicon) for t in cl.terms
                )
                for code in c.error_codes:
                    of_code.setdefault(code, []).append(c.id)
        # the conditions the manual gives for one cause, per code of that cause
        attributed: dict[str, list[str]] = {}
        for e in kb.evidence:
            if e.kind == "condition" and e.cause in codes_of:
                for code in codes_of[e.cause]:
                    attributed.setdefault(code, []).append(e.text)
        out: list[Observable] = []
        for ec in kb.error_codes:
            causes = of_code.get(ec.code, [])
            for n, text in enumerate(ec.conditions):
                own = attributed.get(ec.code, ())
                if not causes or any(a in text or text in a for a in own):
                    continue  # "... (cable jammed or sensor failure)" is that cause's
                cls = tuple(clauses(text, self.lexicon))
                said = frozenset(t for cl in cls for t in cl.terms)
                if any(len(said & title_terms[c]) * 2 >= len(title_terms[c]) > 0 for c in causes):
                    continue  # "..., pointing at the cable gland seal": about one cause
                for cid in causes:
                    out.append(
                        Observable(
                            f"{cid}#code:{ec.id}:{n}",
                            cid,
                            "condition",
                            text,
                            CODE_CONDITION_STRENGTH,
                            "for",
                            cls,
                            ec.source.path,
                            ec.source.line_start,
                        )
                    )
        return out

    def _step_observables(
        self, kb: KnowledgeBase, wanted: set[str], links: Mapping[str, Any]
    ) -> list[Observable]:
        """What the steps that test or fix a cause look at ("Re-insert the SIM tray
        firmly", "Re-torque any finger-loose SMA connections"): a report about that
        part in that state is weak evidence about the cause. Only the sub-steps that
        share words with the cause (a step may handle several)."""
        steps = {s.id: s for s in kb.steps}
        out: list[Observable] = []
        for c in kb.causes:
            if c.id not in wanted:
                continue
            title = clauses(c.title, self.lexicon)
            own = {t for cl in title for t in cl.terms}
            parts = {o for cl in title for o in cl.objects if cl.own_objects}
            if not own or not parts:
                continue  # only a cause named by its part can be looked at in a step
            link = links[c.id]
            for sid in dict.fromkeys([*link.tests, *link.fixes]):
                st = steps.get(sid)
                if st is None or st.kind in ("verification", "lockout"):
                    continue
                for k, text in enumerate(st.substeps):
                    for line_text in text.split("\n"):
                        cls = tuple(clauses(line_text.strip("- "), self.lexicon))
                        # the same part as the cause, and something said about its state
                        if not any(cl.objects & parts and cl.own_objects for cl in cls):
                            continue
                        if not any(cl.cued for cl in cls):
                            continue
                        out.append(
                            Observable(
                                f"{c.id}#step:{sid}:{k}:{len(out)}",
                                c.id,
                                "step",
                                line_text.strip("- "),
                                STEP_STRENGTH,
                                "for",
                                cls,
                                st.source.path,
                                st.source.line_start,
                            )
                        )
        return out

    def assemblies(self, objects: Iterable[str]) -> frozenset[str]:
        """The assemblies components belong to (the whole station or car is none)."""
        asm = self.lexicon.assembly
        return frozenset(asm[o] for o in objects if o in asm and asm[o] != WHOLE)

    def _states_denied(self, said: Clause, o: Observable, j: int) -> bool:
        """A neutral report clause that only names a thing and what clause ``j`` of
        ``o`` denies of it ("cord retracts" against "won't retract"; not "retracter
        gave up", which says more)."""
        kb = o.clauses[j]
        if not kb.denied:
            return False
        # what the report shares with the rest of the KB text ("sessions" of "sessions
        # fail to start", "the session stays in preparing and never starts") says
        # nothing more either (worked out once per KB clause)
        subject = self._subjects.get((o.id, j))
        if subject is None:
            subject = frozenset(t for c in o.clauses for t in c.terms) - kb.denied
            self._subjects[(o.id, j)] = subject
        rest = said.terms - self._thing_stems - _MANNER - subject
        return bool(rest) and rest <= kb.denied

    @functools.cached_property
    def _thing_stems(self) -> frozenset[str]:
        """Stems of the words that name components ("cable", "station", "wi fi")."""
        return frozenset(stem(w) for o in self.lexicon.objects for w in words(o))

    @functools.cached_property
    def _object_stems(self) -> dict[str, str]:
        """stem -> component, for components named in one word (typos repaired)."""
        return {stem(o): o for o in self.lexicon.objects if " " not in o}

    def clause_assemblies(self, clause: Clause, terms: frozenset[str]) -> frozenset[str]:
        named = set(clause.objects) | {
            self._object_stems[t] for t in terms if t in self._object_stems
        }
        return self.assemblies(named)

    def repair(self, terms: frozenset[str]) -> frozenset[str]:
        """Map unknown (misspelt) terms to the closest KB term."""
        out = set()
        for t in terms:
            if t in self.idf or len(t) < 5 or not self.vocab:
                out.add(t)
                continue
            fixed = self._repaired.get(t)
            if fixed is None:
                best = process.extractOne(t, self.vocab, scorer=fuzz.ratio, score_cutoff=84)
                fixed = best[0] if best else t
                if len(self._repaired) < REPAIR_CACHE:
                    self._repaired[t] = fixed
            out.add(fixed)
        return frozenset(out)

    def weight(self, terms: Iterable[str]) -> float:
        return sum(self.idf.get(t, 0.0) for t in terms)

    def match(self, obs_clauses: Iterable[Clause], *, prune: bool = True) -> list[MatchResult]:
        """One result per matched KB *text* and observation clause (its observable is
        the first with that text; ``by_text`` has the others). ``prune=False``
        scores every candidate (the same results, slower: tests compare the two)."""
        results: list[MatchResult] = []
        for k, oc in enumerate(obs_clauses):
            terms = self.repair(oc.terms)
            known = frozenset(t for t in terms if t in self.idf)
            if not known:
                continue
            # words the KB does not know still say the clause is about something else
            w_obs = self.weight(known) + self.unknown_weight * len(terms - known)
            about = self.clause_assemblies(oc, terms)
            best: dict[str, tuple[float, int]] = {}  # observable id -> (sim, clause)
            # sharing "cable" or "failed" alone says nothing: a candidate shares a
            # term that is not common and one that is not a generic fault word. The
            # shared weight is summed along the postings of the rarer terms (the
            # common words' postings, the longest, are never walked)
            shared_w: dict[int, float] = {}
            specific: set[int] = set()
            for t in known - self.common:
                w = self.idf[t]
                postings = self.index.get(t, ())
                for c in postings:
                    shared_w[c] = shared_w.get(c, 0.0) + w
                if t not in GENERIC_FAULT_STEMS:
                    specific.update(postings)
            common = known & self.common
            common_specific = common - GENERIC_FAULT_STEMS
            common_w = sum(self.idf[t] for t in common)
            w_obs = w_obs or 1.0
            cw, floor2 = self._clause_weight, self._floor2
            # best first by an upper bound of the similarity (every common word
            # shared, no object mismatch): once the bound falls below the closest
            # texts already found, no later candidate can join them
            bound: list[tuple[float, int]] = []
            for c, w in shared_w.items():
                w += common_w
                ub = min(1.0, w / cw[c]) * (0.35 + 0.65 * min(1.0, w / w_obs))
                if ub >= floor2[c]:
                    bound.append((-ub, c))
            bound.sort()
            kth = 0.0
            for n, (neg_ub, c) in enumerate(bound):
                if n % 32 == 31 and len(best) >= MAX_TEXTS_PER_CLAUSE:
                    kth = heapq.nlargest(MAX_TEXTS_PER_CLAUSE, (v[0] for v in best.values()))[-1]
                if prune and math.sqrt(-neg_ub) < kth:
                    break
                kc_terms = self._terms[c]
                if c not in specific and not (common_specific & kc_terms):
                    continue
                w_shared = shared_w[c] + sum(self.idf[t] for t in common if t in kc_terms)
                cov_kb = w_shared / cw[c]
                cov_obs = w_shared / w_obs
                sim = math.sqrt(cov_kb * (0.35 + 0.65 * cov_obs))
                need = self._needs[c]
                if need and not (need & oc.objects):
                    sim *= OBJECT_MISMATCH  # about the other stations; the report is not
                if about:
                    theirs = self._theirs[c]
                    if theirs and not (theirs & about):
                        sim *= OBJECT_MISMATCH
                key = self._key[c]
                if sim >= self._floor[c] and sim > best.get(key, (0.0, 0))[0]:
                    best[key] = (sim, self._at[c][1])
            kept = sorted(best.items(), key=lambda kv: -kv[1][0])
            if len(kept) > MAX_TEXTS_PER_CLAUSE:
                # only the closest texts per clause: weak matches far down the list
                # cannot lift a cause into the ranking, and each costs a fact
                floor = kept[MAX_TEXTS_PER_CLAUSE - 1][1][0]
                kept = [kv for kv in kept if kv[1][0] >= floor][: 2 * MAX_TEXTS_PER_CLAUSE]
            for key, (sim, j) in kept:
                o = self.by_id[key]
                kc = o.clauses[j]
                # a neutral report ("flipped the breaker") never denies anything
                agrees = kc.fault == oc.fault or not oc.cued
                if agrees and not oc.cued and kc.fault and self._states_denied(oc, o, j):
                    agrees = False  # "cord retracts" states what "won't retract" denies
                if agrees and not kc.fault and o.kind == "step":
                    continue  # "retracts fine" and a step's "should retract smoothly"
                results.append(MatchResult(o, k, oc.text, sim, agrees, j))
        return self._context(results)

    @staticmethod
    def _context(results: list[MatchResult]) -> list[MatchResult]:
        """ "retracts fine" meets the normal half of "Cable retracts fine but sessions
        fail to start": consistent with it, but evidence for it only when the report
        also meets its fault half."""
        fault_met = {
            r.observable.text
            for r in results
            if r.agrees and r.observable.clauses[r.kb_clause].fault
        }
        out = []
        for r in results:
            cls = r.observable.clauses
            normal_half = not cls[r.kb_clause].fault and any(c.fault and c.cued for c in cls)
            if r.agrees and normal_half and r.observable.text not in fault_met:
                r = replace(r, similarity=r.similarity * CONTEXT_AGREEMENT)
            out.append(r)
        return out

    def suggestions(self, text: str, limit: int = 3) -> list[str]:
        """Closest known symptom texts, for an observation that matched nothing."""
        symptoms = [o.text for o in self.observables if o.kind in ("symptom", "title")]
        if not symptoms or not text.strip():
            return symptoms[:limit]
        found = process.extract(text, symptoms, scorer=fuzz.token_set_ratio, limit=limit)
        return [s for s, _score, _i in found]
