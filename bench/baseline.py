"""The diagnose baseline: a plain-Python inverted index over the same KB texts.

Each cause's texts (title, notes, remedy, evidence texts, the measurements that
imply it) are lower-cased and split into words; the index maps a word to the ids
of the causes whose texts hold it. A query scores each cause by how many of the
query's distinct words it shares, plus a bonus when the reported error code is
one of the cause's codes, and ranks by score (ties by id). No stemming, no
synonyms, no negation: the cheapest thing that could answer the same question.
"""

from __future__ import annotations

import re
from collections import Counter

from kb.schema import KnowledgeBase

_WORD = re.compile(r"[a-z0-9]+")
_CODE = re.compile(r"\b[A-Z][A-Z0-9]{1,5}-ERR-[A-Z0-9]+(?:-[A-Z0-9]+)*\b")
# a short stop list of its own: the baseline shares nothing of evkb's text processing
STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "of",
        "to",
        "in",
        "on",
        "at",
        "for",
        "from",
        "by",
        "with",
        "is",
        "are",
        "was",
        "were",
        "be",
        "it",
        "its",
        "this",
        "that",
        "as",
        "into",
        "not",
        "no",
        "but",
        "if",
        "when",
        "then",
        "so",
        "up",
        "out",
        "my",
        "our",
        "their",
        "i",
        "we",
        "they",
    ]
)
CODE_BONUS = 3


def tokens(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in STOP}


class InvertedIndex:
    def __init__(self, kb: KnowledgeBase) -> None:
        texts: dict[str, list[str]] = {}
        for c in kb.causes:
            texts.setdefault(c.id, []).extend([c.title, c.notes, c.remedy])
        for e in kb.evidence:
            texts.setdefault(e.cause, []).append(e.text)
        for m in kb.measurements:
            for imp in m.implications:
                if imp.cause:
                    texts.setdefault(imp.cause, []).extend([m.text, imp.text])
        self.index: dict[str, set[str]] = {}
        for cid, parts in texts.items():
            for t in tokens(" ".join(parts)):
                self.index.setdefault(t, set()).add(cid)
        self.codes: dict[str, set[str]] = {}
        for c in kb.causes:
            for code in c.error_codes:
                self.codes.setdefault(code, set()).add(c.id)

    def query(self, text: str, error: str | None = None, limit: int = 8) -> list[str]:
        scores: Counter[str] = Counter()
        for t in tokens(text):
            for cid in self.index.get(t, ()):
                scores[cid] += 1
        codes = set(_CODE.findall(text.upper()))
        if error:
            codes.add(error.strip().upper())
        for code in codes:
            for cid in self.codes.get(code, ()):
                scores[cid] += CODE_BONUS
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
        return [cid for cid, _ in ranked[:limit]]
