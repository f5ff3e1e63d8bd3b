"""Text normalisation shared by ingest (cause linking) and the engine (matching).

A text becomes clauses; a clause becomes a set of normalised terms plus a
*sense*: whether it asserts a fault ("won't retract", "jacket cracked") or
normal behaviour ("retracts fine", "jacket is intact", "no visible damage").
The curated lexicon maps field vocabulary to canonical terms before stemming.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING

import snowballstemmer

from kb.phrases import alternation

if TYPE_CHECKING:
    from kb.schema import LexiconEntry

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

# states that are normal by themselves ("connections all tight", "great signal",
# "plenty of data") but stay terms of the clause: after a degree word they state
# a fault ("spring adjusted too tight")
NORMAL_STATES = frozenset(
    [
        "tight",
        "secure",
        "secured",
        "firm",
        "great",
        "strong",
        "excellent",
        "perfect",
        "plenty",
    ]
)

# a degree word makes the next word a fault: "too tight", "too hot", "overly stiff"
DEGREE = frozenset(["too", "overly", "excessively"])

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
_FAIL_TO = frozenset(["fail", "fails", "failed", "failing"])
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
        # abnormal states named by one word ("no overheating" is a normal finding)
        "overheating",
        "overheat",
        "overheats",
        "overheated",
        "tripped",
        "trips",
        "tripping",
        "shorted",
        "welded",
        "leaking",
        "leakage",
        "blown",
    ]
)

_WORD = re.compile(r"[a-z0-9]+(?:&[a-z0-9]+)*(?:'[a-z]+)?")
_CLAUSE_SPLIT = re.compile(
    r"[;!?\u2014\u2013]|[,.:](?![0-9/])|\s-\s|\bbut\b|\bhowever\b|\balthough\b|\bthough\b|\bwhereas\b"
    r"|\byet\b|\band\b|\bwhile\b|\bplus\b",
)


CLAUSE_CACHE_SIZE = 200_000


@dataclass(frozen=True)
class Lexicon:
    """phrase -> canonical replacement, applied longest phrase first; ``objects``
    are the canonical names of components (kb/curated/lexicon.yaml)."""

    pairs: tuple[tuple[str, str], ...]
    # component (canonical name) -> the assembly it belongs to
    assemblies: tuple[tuple[str, str], ...] = ()
    # synonyms that hold only for some components: (component, phrase, canonical)
    scoped: tuple[tuple[str, str, str], ...] = ()
    # components a text must share with a report to meet it (the other stations)
    required: frozenset[str] = frozenset()

    @staticmethod
    def build(
        entries: Iterable[tuple[str, Iterable[str]]],
        objects: Mapping[str, str] | None = None,
        scoped: Iterable[tuple[str, Iterable[str], Iterable[str]]] = (),
        required: Iterable[str] = (),
    ) -> Lexicon:
        pairs: list[tuple[str, str]] = []
        for canonical, phrases in entries:
            for p in phrases:
                pairs.append((p.lower(), canonical.lower()))
        pairs.sort(key=lambda kv: -len(kv[0]))
        found = tuple(sorted((k.lower(), v.lower()) for k, v in (objects or {}).items()))
        within = tuple(
            sorted(
                (o.lower(), p.lower(), canonical.lower())
                for canonical, phrases, scope in scoped
                for p in phrases
                for o in scope
            )
        )
        return Lexicon(tuple(pairs), found, within, frozenset(r.lower() for r in required))

    @cached_property
    def single(self) -> dict[str, str]:
        """stem of a one-word phrase -> its canonical, so inflections meet it too
        ("melt" and "melting" as "melted")."""
        out: dict[str, str] = {}
        for p, c in self.pairs:
            if " " not in p and "-" not in p and p.isalpha():
                out.setdefault(stem(p), c)
        return out

    def within(self, objects: frozenset[str]) -> Lexicon | None:
        """The lexicon with the synonyms that hold for these components added."""
        extra = [(p, c) for o, p, c in self.scoped if o in objects]
        if not extra:
            return None
        return _scoped(self, tuple(sorted(extra)))

    @cached_property
    def objects(self) -> frozenset[str]:
        return frozenset(k for k, _v in self.assemblies)

    @cached_property
    def assembly(self) -> dict[str, str]:
        return dict(self.assemblies)

    @cached_property
    def pattern(self) -> re.Pattern[str] | None:
        return _lexicon_pattern(self.pairs)

    @cached_property
    def table(self) -> dict[str, str]:
        return dict(self.pairs)

    @cached_property
    def canonicals(self) -> frozenset[str]:
        return frozenset(self.table.values())

    @cached_property
    def object_pattern(self) -> re.Pattern[str] | None:
        """Canonical component names as they stand after the lexicon is applied."""
        if not self.objects:
            return None
        alts = "|".join(re.escape(o) for o in sorted(self.objects, key=len, reverse=True))
        return re.compile(rf"(?<![a-z0-9-])(?:{alts})(?![a-z0-9-])")

    @cached_property
    def clause_cache(self) -> dict[str, list[Clause]]:
        """Clauses of texts already split with this lexicon (KB texts recur in every
        partition and question); bounded, see ``clauses``."""
        return {}


@lru_cache(maxsize=64)
def _scoped(base: Lexicon, extra: tuple[tuple[str, str], ...]) -> Lexicon:
    pairs = sorted([*extra, *base.pairs], key=lambda kv: -len(kv[0]))
    return Lexicon(tuple(pairs), base.assemblies, (), base.required)


@lru_cache(maxsize=8)
def _lexicon_pattern(pairs: tuple[tuple[str, str], ...]) -> re.Pattern[str] | None:
    if not pairs:
        return None
    # the longest phrase first, written as a trie (kb/phrases.py)
    alts = alternation(p for p, _ in pairs)
    return re.compile(rf"(?<![a-z0-9])(?:{alts})(?![a-z0-9])")


# "14 units", "all the stations", "others", "5 XR200s" (a model in the plural), "the
# whole row of chargers" (but not "the whole station"): more
# than the one station reported on
# (a number that names one: "lot 4 charger", "bay 2 unit", "#3 station")
_NAMING = r"(?<!lot )(?<!bay )(?<!stall )(?<!port )(?<!site )(?<!spot )(?<!no )(?<!nr )(?<!#)"
_MANY = re.compile(
    r"\b"
    + _NAMING
    + r"(?:\d+|two|three|four|five|six|several|many|multiple|all(?:\s+the)?|every|other|"
    r"neighbou?ring|nearby)\s+(?:\S+\s+){0,2}?stations?\b|\bothers\b|"
    # "the whole row of stations", not "the whole station"
    r"\b(?:whole|entire)\s+(?:\S+\s+){1,2}?stations?\b|"
    r"\b"
    + _NAMING
    + r"(?:[2-9]|\d{2,}|two|three|four|five|six|several|many|multiple|all(?:\s+the)?)\s+"
    r"[a-z]+-?\d+[a-z0-9-]*s\b"
)


def lexicon_of(entries: Iterable[LexiconEntry]) -> Lexicon:
    """The matching lexicon of curated entries: synonyms, components, and the
    synonyms that hold only for some components."""
    items = list(entries)
    return Lexicon.build(
        ((e.canonical, e.phrases) for e in items if not e.scope),
        {e.canonical: e.object for e in items if e.object},
        ((e.canonical, e.phrases, e.scope) for e in items if e.scope),
        (e.canonical for e in items if e.required),
    )


def apply_lexicon(text: str, lexicon: Lexicon | None) -> str:
    text = text.lower().replace("\u2019", "'")
    if lexicon is None or not lexicon.pairs:
        return text
    pat = lexicon.pattern
    assert pat is not None
    table = lexicon.table
    text = pat.sub(lambda m: " " + table[m.group(0)] + " ", text)
    if "station" in lexicon.objects:
        text = _MANY.sub(" other stations ", text)
    return text


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
    # the components the clause is about (canonical names), its own or, when it
    # names none, those of the clause before it in the same sentence
    objects: frozenset[str] = frozenset()
    own_objects: bool = True  # False: the objects were carried over
    # the terms a negation scopes ("won't retract": retract), NegEx style
    denied: frozenset[str] = frozenset()


def _contract(w: str) -> str:
    if w.endswith("n't"):
        return "n't"
    return w.replace("'", "")


def _is_fault(tok: str) -> bool:
    return tok in FAULT_WORDS or stem(tok) in _FAULT_STEMS


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|_")


def split_identifiers(text: str) -> str:
    """'BmsConnectionLost' and 'CONNLEVEL_5' read as words: 'Bms Connection Lost'."""
    return _CAMEL.sub(" ", text)


_INFLECTIONS = frozenset(["", "s", "es", "ed", "d", "ing", "e", "er", "ers", "y", "ies", "ied"])


def _inflects(word: str, st: str) -> bool:
    """``word`` is an inflection of its stem ("sags", "sagging", "melted"), not
    another word with the same stem ("resistance" is not a form of "resists").

    >>> _inflects("sagging", "sag"), _inflects("resistance", "resist")
    (True, False)
    """
    if not word.startswith(st):
        return True  # the stemmer rewrote the ending ("dangling" -> "dangl"): trust it
    rest = word[len(st) :]
    if rest and st and rest[0] == st[-1]:
        rest = rest[1:]  # a doubled consonant: "sag" -> "sagging"
    return rest in _INFLECTIONS


def clause_of(text: str, lexicon: Lexicon | None) -> Clause:
    """Terms and sense of one clause. A negation scopes the next three words
    (NegEx style): "no visible damage" and "not cracked" assert normal state,
    "won't retract" and "does not start" assert a fault."""
    norm = apply_lexicon(split_identifiers(text), lexicon)
    toks = [_contract(w) for w in words(norm)]
    if lexicon is not None and lexicon.single:
        # an inflection of a one-word synonym is that synonym ("melt" as "melted")
        canon = lexicon.canonicals
        out: list[str] = []
        for t in toks:
            st = stem(t)
            c = lexicon.single.get(st) if t not in canon and _inflects(t, st) else None
            out.extend(words(c) if c else [t])
        toks = out
    negs = [i for i, t in enumerate(toks) if t in NEGATIONS]
    faults = [i for i, t in enumerate(toks) if _is_fault(t) or (i > 0 and toks[i - 1] in DEGREE)]
    normal = any(t in NORMAL_CUES or t in SUCCESS or t in NORMAL_STATES for t in toks)
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
    objects: frozenset[str] = frozenset()
    if lexicon is not None and lexicon.object_pattern is not None:
        objects = frozenset(m.group(0) for m in lexicon.object_pattern.finditer(norm))
    denied = frozenset(
        stem(toks[j])
        for n in negs
        for j in range(n + 1, min(n + 4, len(toks)))
        if toks[j] not in STOPWORDS and toks[j] not in NEGATIONS
    ) | frozenset(
        # "sessions fail to start" denies that they start
        stem(toks[i + 2])
        for i, t in enumerate(toks[:-2])
        if t in _FAIL_TO and toks[i + 1] == "to"
    )
    return Clause(
        text.strip(),
        terms,
        fault,
        bool(negs),
        bool(faults or negs or normal),
        objects,
        denied=denied & terms,
    )


_FAULT_STEMS = frozenset(stem(w) for w in FAULT_WORDS)
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\n+")
_PAREN = re.compile(r"\(([^()]*)\)")
_BETWEEN = re.compile(r"\bbetween\s+(?:[\w+\-/.']+\s+){1,5}?and\b")


def _split_points(text: str, lexicon: Lexicon | None) -> list[str]:
    """The clauses of one sentence: split at punctuation and conjunctions, but never
    inside a lexicon phrase ("turned it off and on", "reel in and out")."""
    low = text.lower()
    protected: list[tuple[int, int]] = []
    if lexicon is not None and lexicon.pattern is not None:
        protected = [m.span() for m in lexicon.pattern.finditer(low.replace("\u2019", "'"))]
    # "between the master and the slave" names two ends of one thing
    protected += [m.span() for m in _BETWEEN.finditer(low)]
    parts: list[str] = []
    start = 0
    for m in _CLAUSE_SPLIT.finditer(low):
        if any(a < m.end() and m.start() < b for a, b in protected):
            continue
        if m.group(0) in (",", "and") and _only_parts(text[start : m.start()], lexicon):
            continue  # "SIM and antenna look fine": both are what looks fine
        parts.append(text[start : m.start()])
        start = m.end()
    parts.append(text[start:])
    return parts


_DETERMINER = re.compile(r"\b(?:the|a|an|its|my|our|both)\b")


def _only_parts(text: str, lexicon: Lexicon | None) -> bool:
    """A clause that only names components ("the SIM", "cord"): the subject of what
    the next clause says of them."""
    if lexicon is None or lexicon.object_pattern is None or not text.strip():
        return False
    norm = _DETERMINER.sub(" ", apply_lexicon(text, lexicon))
    rest = lexicon.object_pattern.sub(" ", norm)
    return bool(lexicon.object_pattern.search(norm)) and not rest.strip(" \t\n/&,")


def clauses(text: str, lexicon: Lexicon | None) -> list[Clause]:
    cache = lexicon.clause_cache if lexicon is not None else None
    if cache is not None:
        hit = cache.get(text)
        if hit is not None:
            return list(hit)
    out: list[Clause] = []
    for whole in _SENTENCE_END.split(text):
        # a parenthesis is a clause of its own, and the words around it one clause:
        # "White (R+G+B) solid" is "White solid" and "R+G+B"
        # (not a plural's "(s)": "the Slave TWC(s)")
        inner = [p for p in _PAREN.findall(whole) if len(p.strip()) > 2]
        sentence = _PAREN.sub(" ", whole)
        carried: frozenset[str] = frozenset()
        for part in [*_split_points(sentence, lexicon), *inner]:
            if not part or not part.strip():
                continue
            c = clause_of(part, lexicon)
            if not c.terms:
                continue
            if c.objects:
                carried = c.objects
            elif carried:
                c = replace(c, objects=carried, own_objects=False)
            scoped = lexicon.within(c.objects) if lexicon is not None and c.objects else None
            if scoped is not None:
                # "the SIM tray is loose": loose as a SIM is loose (not seated)
                d = clause_of(part, scoped)
                c = replace(d, objects=c.objects, own_objects=c.own_objects)
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
