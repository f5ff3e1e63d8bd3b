"""An observation as experta facts for one partition (a pure function): matched
symptom clauses, answered questions, meter readings (with units from the test
points when the report gives none), elapsed times, error codes, actions already
tried, a fault that went away by itself, and the manuals' context cues."""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from engine import outcomes, rules
from engine.match import MatchResult, Observable
from engine.observe import Observation
from engine.partition import Partition
from engine.readings import bare_readings
from kb.text import Clause, Lexicon, apply_lexicon, words

ANSWER_SLOT = 10_000  # clause index of answered questions, apart from the text's clauses

_PRESSED = re.compile(r"\bpress(?:ed|ing)?\b", re.I)
_NOT_PRESSED = re.compile(r"\b(?:not|n't|without|regardless|even when|unpressed|released)\b", re.I)
_NEGATORS = frozenset({"no", "not", "n't", "never", "none", "without"})


@dataclass(frozen=True)
class ObservationFacts:
    facts: tuple[object, ...]
    seen: frozenset[str]  # knowledge-base texts the report already covers
    matched: tuple[MatchResult, ...] = ()  # how the report's clauses met them
    replies: tuple[tuple[Observable, bool], ...] = ()  # answered questions: yes / no


def clause_around(text: str, span: tuple[int, int]) -> str:
    """The clause of ``text`` holding ``span``.

    >>> clause_around("cable hangs, PP-PE 482 ohm, button pressed", (13, 26))
    ' PP-PE 482 ohm'
    """
    start = max(text.rfind(c, 0, span[0]) for c in ",;.") + 1
    ends = [i for i in (text.find(c, span[1]) for c in ",;.") if i >= 0]
    return text[start : min(ends) if ends else len(text)]


def _pressed(clause: str) -> bool:
    """A reading taken with the button pressed ("482 ohm pressed", not "even when
    not pressed")."""
    return bool(_PRESSED.search(clause)) and not _NOT_PRESSED.search(clause)


def observation_facts(
    obs: Observation,
    part: Partition,
    lexicon: Lexicon,
    answered: Sequence[tuple[str, bool]] = (),
) -> ObservationFacts:
    facts: list[object] = []
    seen: set[str] = set()
    matched = part.matcher.match(obs.clauses)
    matched = [*matched, *_across_clauses(obs.text, obs.clauses, matched, part)]
    replies: list[tuple[Observable, bool]] = []
    per_clause: dict[int, tuple[str, list[tuple[str, float, bool]]]] = {}
    for m in matched:
        seen.add(m.observable.text)
        _text, met = per_clause.setdefault(m.obs_index, (m.obs_text, []))
        met.append((m.observable.text, round(m.similarity, 4), m.agrees))
    for k, (text, met) in sorted(per_clause.items()):
        facts.append(rules.clause_fact(k, text, met))
    for i, (ref, yes) in enumerate(answered):
        asked = part.matcher.by_id.get(ref)
        if asked is None:
            continue
        seen.add(asked.text)
        replies.append((asked, yes))
        reply = f"{'yes' if yes else 'no'}: {asked.text}"
        facts.append(rules.clause_fact(ANSWER_SLOT + i, reply, [(asked.text, 1.0, yes)]))
    for i, r in enumerate(obs.readings):
        pressed = _pressed(clause_around(obs.text, r.span))
        facts.append(
            rules.reading_fact(
                i,
                r.quantity,
                r.value,
                r.open_circuit,
                r.points or ((r.place,) if r.place else ()),
                r.text,
                pressed,
                False,
            )
        )
    # "PP to PE 152": the unit is what the manuals measure between those points
    n_read = len(obs.readings)
    bares = bare_readings(obs.text, list(obs.readings))
    for k, b in enumerate(bares):
        quantity = part.quantity_at(b.points)
        if quantity is None:
            continue
        pressed = _pressed(clause_around(obs.text, b.span))
        facts.append(
            rules.reading_fact(
                n_read + k, quantity, b.value, False, b.points, b.text, pressed, False
            )
        )
    for j, seconds in enumerate(obs.elapsed_s, n_read + len(bares)):
        text = f"{seconds / 60:g} min since last contact"
        facts.append(rules.reading_fact(j, "duration", seconds, False, (), text, False, True))
    for code in obs.error_codes:
        facts.append(rules.error_fact(code.code))
    for n, report in enumerate(obs.actions):
        facts.append(rules.action_fact(report, n))
    if outcomes.default_vocabulary().resolved_itself(obs.text):
        facts.append(rules.resolved_fact(obs.text))
    facts += _context(obs.text, part, lexicon)
    return ObservationFacts(tuple(facts), frozenset(seen), tuple(matched), tuple(replies))


PAIR_SLOT = 500  # slots of two neighbouring clauses read together


def _spanning(text: str, first: str, second: str) -> str:
    """The report's own words from one clause to the next (what the explanation
    quotes), or the two clauses when the report does not hold them in order.

    >>> _spanning("retracts fine but sessions fail", "retracts fine", "sessions fail")
    'retracts fine but sessions fail'
    """
    low = text.lower()
    a = low.find(first.lower())
    b = low.find(second.lower(), a + len(first)) if a >= 0 else -1
    return text[a : b + len(second)] if a >= 0 and b >= 0 else f"{first}, {second}"


def _across_clauses(
    text: str, said: Sequence[Clause], matched: Sequence[MatchResult], part: Partition
) -> list[MatchResult]:
    """Two neighbouring clauses read as one ("the mqtt plugin of my meter" + "the app
    says outdated all the time"): the texts the pair meets that neither clause met
    alone, so nothing counts twice."""
    if len(said) < 2:
        return []
    met: dict[int, set[str]] = {}
    for m in matched:
        met.setdefault(m.obs_index, set()).add(m.observable.text)
    pairs = [
        replace(
            a,
            text=_spanning(text, a.text, b.text),
            terms=a.terms | b.terms,
            objects=a.objects | b.objects,
            denied=a.denied | b.denied,
            fault=a.fault or b.fault,
            negated=a.negated or b.negated,
            cued=a.cued or b.cued,
        )
        for a, b in itertools.pairwise(said)
    ]
    out = []
    for m in part.matcher.match(pairs):
        i = m.obs_index
        if m.observable.text in met.get(i, set()) | met.get(i + 1, set()):
            continue
        if m.observable.kind == "step":
            continue  # a sub-step is looked at clause by clause (and cites its step)
        out.append(replace(m, obs_index=PAIR_SLOT + i))
    return out


def _context(text: str, part: Partition, lexicon: Lexicon) -> list[object]:
    """The partition's context cues whose phrase the report holds (and whether it
    denies it: "no other stations offline")."""
    out: list[object] = []
    norm = " " + " ".join(words(apply_lexicon(text, lexicon))) + " "
    for rule in part.context_rules:
        for phrase in rule.phrases:
            p = " " + " ".join(words(apply_lexicon(phrase, lexicon))) + " "
            at = norm.find(p)
            if at >= 0:
                negated = any(w in _NEGATORS for w in norm[:at].split()[-3:])
                out.append(rules.context_fact(rule.id, phrase, negated))
                break
    return out
