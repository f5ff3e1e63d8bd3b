"""The matcher scores candidates best first by an upper bound of their similarity
and stops once the bound falls below the closest texts found: what it returns is
exactly what scoring every candidate returns, on the seed manuals and on a
synthetic knowledge base large enough for the cut to keep only the closest texts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bench.generate import generate
from engine.diagnose import Diagnoser
from engine.match import MAX_TEXTS_PER_CLAUSE, MatchResult
from engine.observe import observe
from ingest.pipeline import compile_paths
from kb.schema import KnowledgeBase
from tests.test_diagnosis_cases import DEV, load_cases


def _key(results: list[MatchResult]) -> list[tuple[str, int, str, float, bool, int]]:
    return sorted(
        (r.observable.text, r.obs_index, r.obs_text, r.similarity, r.agrees, r.kb_clause)
        for r in results
    )


def _compare(kb: KnowledgeBase, texts: list[str]) -> int:
    """Pruned and exhaustive matching agree for every text; returns the most texts
    one clause matched (to show the cut was reached)."""
    d = Diagnoser(kb)
    part = d.partition(d.partition_key(None, ()))
    most = 0
    for text in texts:
        clauses = observe(text, d.lexicon).clauses
        pruned = part.matcher.match(clauses)
        full = part.matcher.match(clauses, prune=False)
        assert _key(pruned) == _key(full), text
        per_clause: dict[int, int] = {}
        for r in full:
            per_clause[r.obs_index] = per_clause.get(r.obs_index, 0) + 1
        most = max([most, *per_clause.values()])
    return most


def test_pruned_matching_equals_exhaustive_on_the_seed_manuals(seed_kb: KnowledgeBase) -> None:
    if not DEV.exists():
        pytest.skip(f"{DEV} not found (the shared evaluation set)")
    texts = [c["text"] for c in load_cases(DEV)]
    assert _compare(seed_kb, texts) > 0


def test_pruned_matching_equals_exhaustive_where_the_cut_applies(tmp_path: Path) -> None:
    corpus = generate(tmp_path, 600, seed=11)
    kb = compile_paths([corpus.manual_dir])
    texts = [p.text for p in corpus.probes if p.kind == "text-only"][:60]
    assert _compare(kb, texts) >= MAX_TEXTS_PER_CLAUSE


@pytest.mark.parametrize("report", ["it started right up", "the session started straight away"])
def test_a_report_that_it_started_is_no_symptom_of_texts_where_it_fails_to_start(
    seed_kb: KnowledgeBase, report: str
) -> None:
    """ "Sessions fail to start" and "never starts" deny that it starts: a report that
    it started (right up, straight away) contradicts them: no evidence for their causes,
    while a report that it never starts does meet them."""
    d = Diagnoser(seed_kb)

    def supporting(text: str) -> list[tuple[str, float]]:
        return [
            (rc.cause.title, e.weight)
            for rc in d.diagnose(text).all_causes
            for e in rc.evidence
            if re.search(r"fail to start|never starts", e.matched) and e.weight > 0
        ]

    assert supporting("the session never starts")  # the texts are there to meet
    assert supporting(report) == []
