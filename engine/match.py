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

import math
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from kb.schema import KnowledgeBase
from kb.text import Clause, Lexicon, clauses

MIN_SIMILARITY = 0.34
COMMON_SHARE = 0.12
TITLE_STRENGTH = 4.0
MAX_TEXTS_PER_CLAUSE = 40


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


@dataclass(frozen=True)
class MatchResult:
    observable: Observable
    obs_index: int  # which observation clause
    obs_text: str
    similarity: float
    agrees: bool  # senses agree -> evidence for (if the KB evidence is "for")


class Matcher:
    """Built once per knowledge-base partition; ``match`` is called per query."""

    def __init__(self, kb: KnowledgeBase, cause_ids: Iterable[str], lexicon: Lexicon) -> None:
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
        self.observables = tuple(items)
        self.by_id = {o.id: o for o in items}
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
        self.common = frozenset(t for t, d in df.items() if d > COMMON_SHARE * n)
        self.unknown_weight = 0.5 * (sum(self.idf.values()) / len(self.idf)) if self.idf else 1.0
        self.vocab = tuple(sorted(self.idf))
        # inverted index: term -> (text's first observable, clause index)
        self._firsts = firsts
        self.index: dict[str, list[tuple[int, int]]] = {}
        for i, o in enumerate(firsts):
            for j, cl in enumerate(o.clauses):
                for t in cl.terms:
                    self.index.setdefault(t, []).append((i, j))

    def repair(self, terms: frozenset[str]) -> frozenset[str]:
        """Map unknown (misspelt) terms to the closest KB term."""
        out = set()
        for t in terms:
            if t in self.idf or len(t) < 5 or not self.vocab:
                out.add(t)
                continue
            best = process.extractOne(t, self.vocab, scorer=fuzz.ratio, score_cutoff=84)
            out.add(best[0] if best else t)
        return frozenset(out)

    def weight(self, terms: Iterable[str]) -> float:
        return sum(self.idf.get(t, 0.0) for t in terms)

    def match(self, obs_clauses: Iterable[Clause]) -> list[MatchResult]:
        """One result per matched KB *text* and observation clause (its observable is
        the first with that text; ``by_text`` has the others)."""
        results: list[MatchResult] = []
        for k, oc in enumerate(obs_clauses):
            terms = self.repair(oc.terms)
            known = frozenset(t for t in terms if t in self.idf)
            if not known:
                continue
            # words the KB does not know still say the clause is about something else
            w_obs = self.weight(known) + self.unknown_weight * len(terms - known)
            best: dict[str, tuple[float, int]] = {}  # observable id -> (sim, clause)
            candidates = {ij for t in known for ij in self.index.get(t, ())}
            for i, j in candidates:
                kc = self._firsts[i].clauses[j]
                shared = known & kc.terms
                if shared <= self.common:
                    continue
                cov_kb = self.weight(shared) / (self.weight(kc.terms) or 1.0)
                cov_obs = self.weight(shared) / (w_obs or 1.0)
                sim = math.sqrt(cov_kb * (0.35 + 0.65 * cov_obs))
                key = self._firsts[i].id
                if sim >= MIN_SIMILARITY and sim > best.get(key, (0.0, 0))[0]:
                    best[key] = (sim, j)
            kept = sorted(best.items(), key=lambda kv: -kv[1][0])
            if len(kept) > MAX_TEXTS_PER_CLAUSE:
                # only the closest texts per clause: weak matches far down the list
                # cannot lift a cause into the ranking, and each costs a fact
                floor = kept[MAX_TEXTS_PER_CLAUSE - 1][1][0]
                kept = [kv for kv in kept if kv[1][0] >= floor][: 2 * MAX_TEXTS_PER_CLAUSE]
            for key, (sim, j) in kept:
                o = self.by_id[key]
                # a neutral report ("flipped the breaker") never denies anything
                agrees = o.clauses[j].fault == oc.fault or not oc.cued
                results.append(MatchResult(o, k, oc.text, sim, agrees))
        return results

    def suggestions(self, text: str, limit: int = 3) -> list[str]:
        """Closest known symptom texts, for an observation that matched nothing."""
        symptoms = [o.text for o in self.observables if o.kind in ("symptom", "title")]
        if not symptoms or not text.strip():
            return symptoms[:limit]
        found = process.extract(text, symptoms, scorer=fuzz.token_set_ratio, limit=limit)
        return [s for s, _score, _i in found]
