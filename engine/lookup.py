"""Knowledge-base queries for dispatchers and the web UI: symptoms by words
(suggestions as a technician types), causes by error code, causes by part."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from engine.plan import Planner
from kb.schema import Cause, ErrorCode, KnowledgeBase, Part, Source
from kb.text import STOPWORDS, Lexicon, apply_lexicon, stem, words


@dataclass(frozen=True)
class SymptomHit:
    text: str
    causes: tuple[str, ...]  # cause ids
    equipment: str
    score: float
    source: Source


@dataclass(frozen=True)
class CodeInfo:
    code: str
    means: tuple[str, ...]  # station codes an OCPP code stands for (curated aliases)
    error_codes: tuple[ErrorCode, ...]
    causes: tuple[Cause, ...]  # by prior, most frequent first


@dataclass(frozen=True)
class PartInfo:
    part: Part
    causes: tuple[Cause, ...]  # causes whose fix uses the part
    steps: tuple[str, ...]  # the fix steps that use it


class Lookup:
    """Indexes built once per knowledge base."""

    def __init__(self, kb: KnowledgeBase, planner: Planner, lexicon: Lexicon) -> None:
        self.kb = kb
        self.lexicon = lexicon
        self.causes = {c.id: c for c in kb.causes}
        # observable texts: symptom rows, conditions and statements, with their causes
        texts: dict[str, tuple[set[str], Source, str]] = {}
        for e in kb.evidence:
            if e.polarity != "for" or e.kind not in ("symptom", "condition", "statement"):
                continue
            cause = self.causes.get(e.cause)
            if cause is None:
                continue
            entry = texts.setdefault(e.text, (set(), e.source, cause.equipment))
            entry[0].add(e.cause)
        self._texts = [
            (text, tuple(sorted(cs)), eq, src, frozenset(_stems(text)))
            for text, (cs, src, eq) in texts.items()
        ]
        self._vocab = sorted({w for *_x, ws in self._texts for w in ws})
        self._planner = planner

    def symptoms(self, query: str, limit: int = 8) -> list[SymptomHit]:
        """Known symptoms that share words with ``query``; the last word may be
        incomplete (prefix), so suggestions follow the typing."""
        toks = _stems(apply_lexicon(query.lower(), self.lexicon))
        if not toks:
            return []
        last_raw = words(query.lower())[-1] if words(query.lower()) else ""
        complete = query[-1:].isspace() or query[-1:] in ",.;"
        prefix = "" if complete else stem(last_raw)
        want = set(toks)
        if prefix:
            want.discard(prefix)
            want |= {w for w in self._vocab if w.startswith(prefix)} or {prefix}
        hits = []
        for text, causes, eq, src, ws in self._texts:
            shared = ws & want
            if not shared:
                continue
            # share of the query's words found, plus a little for short, specific texts
            covered = sum(
                1 for t in toks if t in ws or (t == prefix and any(w.startswith(t) for w in ws))
            )
            score = covered / len(toks) + 0.1 * len(shared) / len(ws)
            hits.append(SymptomHit(text, causes, eq, round(score, 4), src))
        hits.sort(key=lambda h: (-h.score, len(h.text), h.text))
        return hits[:limit]

    def code(self, code: str) -> CodeInfo | None:
        want = code.strip().upper()
        means = tuple(a.means for a in self.kb.code_aliases if a.code.upper() == want)
        codes = {want, *(m.upper() for m in means)}
        ecs = tuple(e for e in self.kb.error_codes if e.code.upper() in codes)
        causes = tuple(
            sorted(
                (c for c in self.kb.causes if any(x.upper() in codes for x in c.error_codes)),
                key=lambda c: (-c.prior, c.id),
            )
        )
        if not ecs and not causes:
            return None
        known = next((e.code for e in ecs), code.strip())
        return CodeInfo(known if not means else code.strip(), means, ecs, causes)

    def parts(self, query: str = "") -> list[PartInfo]:
        """Parts (by id or words of the name) and the causes whose fix uses them."""
        q = query.strip().lower()
        out = []
        for p in self.kb.parts:
            if q and q != p.id.lower() and not all(w in p.name.lower() for w in q.split()):
                continue
            steps = tuple(s.id for s in self.kb.steps if p.id in s.parts)
            causes = tuple(
                self.causes[cid]
                for cid, link in self._planner.links.items()
                if cid in self.causes and any(s in link.fixes for s in steps)
            )
            out.append(PartInfo(p, causes, steps))
        return out


def _stems(text: str) -> list[str]:
    return [stem(w) for w in words(text.lower()) if w not in STOPWORDS and re.search(r"\w", w)]


def by_prior(causes: Sequence[Cause]) -> list[Cause]:
    return sorted(causes, key=lambda c: (-c.prior, c.id))
