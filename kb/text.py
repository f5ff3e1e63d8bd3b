"""Text normalisation shared by ingest (cause linking) and the engine (matching).

A text becomes clauses; a clause becomes a set of normalised terms plus a
*sense*: whether it asserts a fault ("won't retract", "jacket cracked") or
normal behaviour ("retracts fine", "jacket is intact", "no visible damage").
The curated lexicon maps field vocabulary to canonical terms before stemming.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property, lru_cache

import snowballstemmer

_STEM = snowballstemmer.stemmer("english")

STOPWORDS = frozenset(
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
        "been",
        "being",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "there",
        "here",
        "as",
        "into",
        "onto",
        "than",
        "then",
        "so",
        "if",
        "when",
        "while",
        "after",
        "before",
        "up",
        "down",
        "out",
        "over",
        "under",
        "again",
        "very",
        "too",
        "just",
        "also",
        "only",
        "about",
        "any",
        "some",
        "each",
        "every",
        "i",
        "we",
        "you",
        "he",
        "she",
        "they",
        "me",
        "us",
        "him",
        "her",
        "them",
        "my",
        "our",
        "your",
        "their",
        "his",
        "has",
        "have",
        "had",
        "do",
        "does",
        "did",
        "done",
        "can",
        "could",
        "may",
        "might",
        "will",
        "would",
        "shall",
        "should",
        "must",
        "am",
        "which",
        "who",
        "whom",
        "what",
        "where",
        "why",
        "how",
        "all",
        "both",
        "more",
        "most",
        "such",
        "own",
        "same",
        "gen",
        "port",
        "get",
        "gets",
        "got",
        "getting",
        "seems",
        "seem",
        "seemed",
        "look",
        "looks",
        "looked",
        "appear",
        "appears",
        "appeared",
        "still",
        "even",
        "now",
        "already",
        "yet",
        "ever",
    ]
)

# negation cues flip the sense of a clause
NEGATIONS = frozenset(
    [
        "not",
        "no",
        "never",
        "without",
        "cannot",
        "cant",
        "wont",
        "dont",
        "doesnt",
        "didnt",
        "isnt",
        "arent",
        "wasnt",
        "werent",
        "nothing",
        "none",
        "neither",
        "nor",
        "unable",
        "n't",
    ]
)

# cues that a clause reports normal behaviour
NORMAL_CUES = frozenset(
    [
        "fine",
        "ok",
        "okay",
        "normal",
        "normally",
        "intact",
        "good",
        "properly",
        "smoothly",
        "correct",
        "correctly",
        "healthy",
        "undamaged",
        "clean",
    ]
)

# success words: "a reboot cleared it" reports resolution; "reboot didn't help" a
# persisting fault. Unlike NORMAL_CUES they stay terms of the clause.
SUCCESS = frozenset(
    [
        "cleared",
        "clear",
        "clears",
        "help",
        "helps",
        "helped",
        "work",
        "works",
        "worked",
        "resolve",
        "resolves",
        "resolved",
        "fix",
        "fixes",
        "fixed",
        "solve",
        "solves",
        "solved",
    ]
)

# determiners after a negation make it deny a thing ("not the carrier")
_DENY_NEXT = frozenset(["the", "a", "an", "this", "that", "my", "our", "its", "any"])

# fault words: a clause containing one asserts a fault unless negated
FAULT_WORDS = frozenset(
    [
        "fail",
        "fails",
        "failed",
        "failing",
        "failure",
        "broken",
        "break",
        "breaks",
        "broke",
        "cracked",
        "crack",
        "cracks",
        "cut",
        "cuts",
        "damage",
        "damaged",
        "burn",
        "burned",
        "burnt",
        "burning",
        "bent",
        "loose",
        "stuck",
        "jam",
        "jammed",
        "hard",
        "difficult",
        "offline",
        "error",
        "errors",
        "fault",
        "faulty",
        "dead",
        "lost",
        "lose",
        "drop",
        "drops",
        "dropped",
        "hang",
        "hung",
        "hangs",
        "snag",
        "snagged",
        "worn",
        "torn",
        "frayed",
        "melted",
        "corroded",
        "corrosion",
        "tarnished",
        "kinked",
        "kink",
        "chalking",
        "outage",
        "exceeded",
        "disconnected",
        "missing",
        "noisy",
        "tight",
        "violently",
        "snap",
        "snaps",
        "problem",
        "problems",
        "prob",
        "probs",
        "issue",
        "issues",
        "trouble",
    ]
)

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_CLAUSE_SPLIT = re.compile(
    r"[;,.!?:()\u2014\u2013]|\s-\s|\bbut\b|\bhowever\b|\balthough\b|\bthough\b|\bwhereas\b"
    r"|\byet\b|\band\b|\bwhile\b|\bplus\b|\balso\b",
)


CLAUSE_CACHE_SIZE = 200_000


@dataclass(frozen=True)
class Lexicon:
    """phrase -> canonical replacement, applied longest phrase first."""

    pairs: tuple[tuple[str, str], ...]

    @staticmethod
    def build(entries: Iterable[tuple[str, Iterable[str]]]) -> Lexicon:
        pairs: list[tuple[str, str]] = []
        for canonical, phrases in entries:
            for p in phrases:
                pairs.append((p.lower(), canonical.lower()))
        pairs.sort(key=lambda kv: -len(kv[0]))
        return Lexicon(tuple(pairs))

    @cached_property
    def pattern(self) -> re.Pattern[str] | None:
        return _lexicon_pattern(self.pairs)

    @cached_property
    def table(self) -> dict[str, str]:
        return dict(self.pairs)

    @cached_property
    def clause_cache(self) -> dict[str, list[Clause]]:
        """Clauses of texts already split with this lexicon (KB texts recur in every
        partition and question); bounded, see ``clauses``."""
        return {}


@lru_cache(maxsize=8)
def _lexicon_pattern(pairs: tuple[tuple[str, str], ...]) -> re.Pattern[str] | None:
    if not pairs:
        return None
    alts = "|".join(re.escape(p) for p, _ in pairs)
    return re.compile(rf"(?<![a-z0-9])(?:{alts})(?![a-z0-9])")


def apply_lexicon(text: str, lexicon: Lexicon | None) -> str:
    text = text.lower().replace("\u2019", "'")
    if lexicon is None or not lexicon.pairs:
        return text
    pat = lexicon.pattern
    assert pat is not None
    table = lexicon.table
    return pat.sub(lambda m: " " + table[m.group(0)] + " ", text)


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    return str(_STEM.stemWord(word))


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower().replace("\u2019", "'"))


@dataclass(frozen=True)
class Clause:
    text: str
    terms: frozenset[str]
    fault: bool  # True: asserts a fault / abnormal state; False: asserts normal behaviour
    negated: bool
    cued: bool = True  # False: no fault word, negation or normal cue (a neutral report)


def _contract(w: str) -> str:
    if w.endswith("n't"):
        return "n't"
    return w.replace("'", "")


def _is_fault(tok: str) -> bool:
    return tok in FAULT_WORDS or stem(tok) in _FAULT_STEMS


def clause_of(text: str, lexicon: Lexicon | None) -> Clause:
    """Terms and sense of one clause. A negation scopes the next three words
    (NegEx style): "no visible damage" and "not cracked" assert normal state,
    "won't retract" and "does not start" assert a fault."""
    norm = apply_lexicon(text, lexicon)
    toks = [_contract(w) for w in words(norm)]
    negs = [i for i, t in enumerate(toks) if t in NEGATIONS]
    faults = [i for i, t in enumerate(toks) if _is_fault(t)]
    normal = any(t in NORMAL_CUES or t in SUCCESS for t in toks)
    negated_fault = any(0 < f - n <= 3 for n in negs for f in faults)
    denial = any(i + 1 < len(toks) and toks[i + 1] in _DENY_NEXT for i in negs)
    if negated_fault or (denial and not faults):
        fault = False
    elif faults:
        fault = True
    elif normal and not negs:
        fault = False
    else:
        fault = True  # a reported fact, or a negated function ("won't retract")
    terms = frozenset(
        stem(t)
        for t in toks
        if t not in STOPWORDS and t not in NEGATIONS and t not in NORMAL_CUES and not t.isdigit()
    )
    return Clause(text.strip(), terms, fault, bool(negs), bool(faults or negs or normal))


_FAULT_STEMS = frozenset(stem(w) for w in FAULT_WORDS)


def clauses(text: str, lexicon: Lexicon | None) -> list[Clause]:
    cache = lexicon.clause_cache if lexicon is not None else None
    if cache is not None:
        hit = cache.get(text)
        if hit is not None:
            return list(hit)
    out: list[Clause] = []
    # lexicon first so multi-word phrases spanning punctuation-free text survive
    for part in _CLAUSE_SPLIT.split(text.lower()):
        if part and part.strip():
            c = clause_of(part, lexicon)
            if c.terms:
                out.append(c)
    if cache is not None:
        if len(cache) >= CLAUSE_CACHE_SIZE:
            cache.clear()
        cache[text] = out
        return list(out)
    return out


def terms(text: str, lexicon: Lexicon | None) -> frozenset[str]:
    out: set[str] = set()
    for c in clauses(text, lexicon):
        out |= c.terms
    return frozenset(out)


def containment(phrase: frozenset[str], target: frozenset[str]) -> float:
    """Share of ``phrase``'s terms found in ``target``."""
    if not phrase:
        return 0.0
    return len(phrase & target) / len(phrase)
