"""Next questions a person can answer: what to look at, read in the portal or
measure that best separates the remaining causes, for the minutes it takes.

A question is made only from a knowledge-base element that can be observed on site
or in the portal: a symptom as the manual lists it, a statement the manual makes
inside a step that checks something (remote, inspection, measurement), or a reading
with its test points, unit and expected range. Never from a trigger condition of an
error code (what the station's sensor detects), never from a sentence about how a
fault works or what an action would do (kb/curated/questions.yaml), and never one
the report already answers or contradicts: the report's clauses, and the clauses of
the knowledge-base texts it matched, are compared with the question's by what they
are about and their sense ("cable hangs loose" matched "Cable hangs loose, won't
retract", which denies "Cable retracts fine ...").

``candidates`` is built once per knowledge base; ``ask`` is a small pure function
per query: value of information p(S)(1 - p(S)) over the remaining causes per minute,
best first."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from engine.match import GENERIC_FAULT_STEMS, MatchResult, Observable
from engine.observe import Observation
from engine.readings import bare_readings
from engine.shown import MAX_CAUSES, MIN_CONFIDENCE
from kb.curated import CURATED_DIR, load_yaml
from kb.schema import Evidence, KnowledgeBase, Measurement, Step, StepKind
from kb.text import Clause, Lexicon, clauses, containment, terms
from kb.units import POINT_PATTERN, canonical_points

QuestionKind = Literal["observe", "measure"]

# a question separates causes the diagnosis shows (the same cut as the report's)
TOP_CAUSES = MAX_CAUSES
MIN_CAUSE = MIN_CONFIDENCE
MIN_VALUE = 0.05  # p(S)(1 - p(S)): a "yes" with about a 5 % chance or more
OBSERVE_MINUTES = 2.0
MEASURE_MINUTES = 5.0
STEP_MINUTES_CAP = 10.0
SAME_THING = 0.5  # share of a question clause's words a stated clause must cover

# where the technician finds it, by the kind of step whose lines hold it
PLACES: dict[StepKind, str] = {
    "remote": "In the portal",
    "inspection": "At the station",
    "measurement": "At the station",
}


@dataclass(frozen=True)
class Candidate:
    """Something a person can be asked, with the causes a "yes" (or an out-of-range
    reading) speaks for."""

    kind: QuestionKind
    ref: str  # evidence or measurement id (what an answer is about)
    text: str  # the question as asked
    about: str  # the knowledge-base text it asks about
    causes: frozenset[str]
    clauses: tuple[Clause, ...]  # what it asks about, for comparing with the report
    minutes: float
    source: str  # path:line
    unit: str = ""  # measure: the unit to answer in
    example: str = ""  # measure: an answer in that unit
    points: tuple[str, ...] = ()
    quantity: str = ""


@dataclass(frozen=True)
class Report:
    """What the technician has said so far, as questions need it."""

    stated: tuple[Clause, ...] = ()  # in their words, and as the KB texts they matched say
    texts: frozenset[str] = frozenset()  # KB texts the report already speaks to
    refs: frozenset[str] = frozenset()  # questions already answered (their refs)
    read: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (quantity, points) of readings
    own: tuple[Clause, ...] = ()  # in their words only


@dataclass(frozen=True)
class Question:
    text: str
    separates: tuple[str, ...]
    value: float
    minutes: float
    source: str
    kind: QuestionKind = "observe"  # "observe" (answer yes/no) or "measure" (a reading)
    ref: str = ""  # the evidence or measurement id the answer is about
    purpose: str = ""  # "to tell A from B"
    unit: str = ""
    example: str = ""


# ------------------------------------------------------------------ vocabulary


@dataclass(frozen=True)
class Aspect:
    """One observable state of a component, by the word stems that describe it
    (kb/curated/questions.yaml ``aspects``)."""

    name: str
    stems: frozenset[str]
    any_object: bool = False  # the state of the session, whatever part is named


@dataclass(frozen=True)
class QuestionVocabulary:
    not_observable: re.Pattern[str] | None
    # quantities a person reads without test points (a phone's signal bars)
    read_without_points: frozenset[str] = frozenset()
    aspects: tuple[Aspect, ...] = ()


def _pattern(words: Iterable[str]) -> re.Pattern[str] | None:
    alts = sorted({w.strip().lower() for w in words if w.strip()}, key=len, reverse=True)
    if not alts:
        return None
    body = "|".join(re.escape(a).replace(r"\ ", r"\s+") for a in alts)
    return re.compile(rf"(?<![\w-])(?:{body})(?![\w-])", re.I)


@functools.lru_cache(maxsize=4)
def _cached(path: str, _mtime: float) -> QuestionVocabulary:
    root = load_yaml(Path(path))
    words: list[str] = []
    node = root.get("not_observable", list)
    for item in node:
        if not isinstance(item.value, str) or not item.value.strip():
            raise item.fail("expected a word or phrase")
        words.append(item.value)
    direct = frozenset(q.lower() for q in root.strings("read_without_points", required=False))
    aspects: list[Aspect] = []
    for item in root.get("aspects", list, required=False) or ():
        name = item.text("name").strip()
        stems = terms(" ".join(item.strings("words")), None)
        if not name or not stems:
            raise item.fail("expected a name and the words that describe the state")
        anywhere = item.get("any_object", bool, required=False)
        aspects.append(Aspect(name, stems, bool(anywhere)))
    return QuestionVocabulary(_pattern(words), direct, tuple(aspects))


def load_vocabulary(directory: Path | None = None) -> QuestionVocabulary:
    path = (directory or CURATED_DIR) / "questions.yaml"
    return _cached(str(path), path.stat().st_mtime if path.exists() else 0.0)


# ------------------------------------------------------------------ phrasing

_INFINITIVE = re.compile(
    r"^(?P<subj>(?:the|a|an)\s+[\w-]+(?:\s+[\w-]+)?)\s+to\s+(?P<rest>\w.*)$", re.I
)


def as_question(text: str, place: str = "") -> str:
    """A manual's observable text as a short question.

    >>> as_question("Cable jacket cracked or cut")
    'Cable jacket cracked or cut?'
    >>> as_question("the connector to fall out mid-session", "At the station")
    'At the station: does the connector fall out mid-session?'
    >>> as_question("any other stations in the area are reporting issues.", "In the portal")
    'In the portal: any other stations in the area are reporting issues?'
    """
    t = " ".join(text.split()).rstrip(" .;:!?")
    m = _INFINITIVE.match(t)
    if m:
        t = f"does {m.group('subj')} {m.group('rest')}"
    if place:
        return f"{place}: {t[:1].lower()}{t[1:]}?"
    return f"{t[:1].upper()}{t[1:]}?"


def _num(x: float) -> str:
    return f"{round(x, 3):g}"


def expected_range(m: Measurement) -> str:
    """
    >>> from kb.schema import Source
    >>> src = Source("m.md", 1, 1)
    >>> mk = lambda lo, hi, u: Measurement("m/x", "m", "voltage", (), u, lo, hi, "", "", (), src)
    >>> expected_range(mk(11.5, 12.5, "V")), expected_range(mk(2, None, "bar"))
    ('11.5–12.5 V', 'at least 2 bar')
    >>> expected_range(mk(None, 1800, "s")), expected_range(mk(150, 150, "ohm"))
    ('at most 1800 s', 'about 150 ohm')
    """
    lo, hi, u = m.low, m.high, m.unit
    if lo is not None and hi is not None:
        return f"about {_num(lo)} {u}" if lo == hi else f"{_num(lo)}–{_num(hi)} {u}"
    if lo is not None:
        return f"at least {_num(lo)} {u}"
    if hi is not None:
        return f"at most {_num(hi)} {u}"
    return ""


def example_reading(m: Measurement, siblings: Sequence[Measurement] = ()) -> str:
    """An answer in the measurement's unit: a value in its normal range (or in the
    range the manual gives for the same points and state), else a value it names."""
    for x in (m, *siblings):
        if x.unit != m.unit:
            continue
        if x.low is not None and x.high is not None:
            return f"{_num((x.low + x.high) / 2)} {m.unit}"
        if x.low is not None or x.high is not None:
            v = x.low if x.low is not None else x.high
            assert v is not None
            return f"{_num(v)} {m.unit}"
    for imp in m.implications:
        if imp.value is not None:
            return f"{_num(imp.value)} {m.unit}"
    return ""


def _condition(m: Measurement) -> str:
    """The state the reading is taken in ("standby"); a condition that only repeats
    the opening words of the manual's sentence names no state."""
    c = " ".join(m.condition.split())
    if not c or " ".join(m.text.split()).lower().startswith(c.lower()):
        return ""
    return c


def measure_text(m: Measurement, place: str = "") -> str:
    """
    >>> from kb.schema import Source
    >>> m = Measurement("m/x", "m", "voltage", ("CP", "PE"), "V", 11.5, 12.5, "standby",
    ...                 "CP to PE in standby", (), Source("m.md", 1, 1))
    >>> measure_text(m)
    'Voltage CP–PE (standby): what do you read, in V? Normal: 11.5–12.5 V.'
    """
    what = m.quantity[:1].upper() + m.quantity[1:]
    if m.points:
        what += " " + "–".join(m.points)
    cond = _condition(m)
    if cond:
        what += f" ({cond})"
    if place and not m.points:
        what = f"{place}: {what[:1].lower()}{what[1:]}"
    rng = expected_range(m)
    normal = f" Normal: {rng}." if rng else ""
    return f"{what}: what do you read, in {m.unit}?{normal}"


def purpose(
    yes: Iterable[str], belief: Sequence[tuple[str, float]], titles: Mapping[str, str]
) -> str:
    """ "to tell A from B": the likeliest cause the answer speaks for, from the
    likeliest it does not."""
    want = set(yes)
    a = [c for c, _p in belief if c in want]
    b = [c for c, _p in belief if c not in want]
    if not a:
        return ""
    first = _short(titles.get(a[0], a[0]))
    if len(a) > 1:
        first += f" or {_short(titles.get(a[1], a[1]))}"
    if not b:
        return f"to confirm {first}"
    return f"to tell {first} from {_short(titles.get(b[0], b[0]))}"


def _short(title: str) -> str:
    return re.sub(r"\s*\([^)]*\)", "", title).strip() or title


# ------------------------------------------------------------------ candidates


def _step_at(steps: Sequence[Step], path: str, line: int) -> Step | None:
    for s in steps:
        if s.source.path == path and s.source.line_start <= line <= s.source.line_end:
            return s
    return None


def _minutes(step: Step | None, default: float) -> float:
    return min(step.minutes, STEP_MINUTES_CAP) if step is not None else default


def triggers(kb: KnowledgeBase) -> frozenset[str]:
    """Trigger conditions of every error code, normalised (never asked)."""
    return frozenset(_norm(c) for ec in kb.error_codes for c in ec.conditions)


def codes(kb: KnowledgeBase) -> frozenset[str]:
    """Every error code the knowledge base knows, normalised: what a station
    reports (given with the report or not), never a question."""
    found = {ec.code for ec in kb.error_codes} | {a.code for a in kb.code_aliases}
    found |= {c for m in kb.manuals for c in m.error_codes}
    found |= {c for cause in kb.causes for c in cause.error_codes}
    return frozenset(_norm(c) for c in found)


def _norm(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def observable(
    e: Evidence,
    step: Step | None,
    vocab: QuestionVocabulary,
    trig: frozenset[str],
    known_codes: frozenset[str] = frozenset(),
) -> bool:
    """Whether a person can be asked about this evidence: a symptom, or a statement
    inside a step that checks something; never a trigger condition or an error code,
    never a sentence about how a fault works or what an action would do."""
    n = _norm(e.text)
    if e.kind == "condition" or n in known_codes or any(n and (n in t or t in n) for t in trig):
        return False
    if vocab.not_observable is not None and vocab.not_observable.search(e.text):
        return False
    if e.kind == "symptom":
        return True
    return e.kind == "statement" and step is not None and step.kind in PLACES


def candidates(
    kb: KnowledgeBase, lexicon: Lexicon, vocab: QuestionVocabulary | None = None
) -> tuple[Candidate, ...]:
    """Everything the knowledge base lets one ask, once per knowledge base."""
    vocab = vocab or load_vocabulary()
    trig = triggers(kb)
    known_codes = codes(kb)
    by_path: dict[str, list[Step]] = {}
    for s in kb.steps:
        by_path.setdefault(s.source.path, []).append(s)
    out: dict[str, Candidate] = {}
    for e in kb.evidence:
        if e.polarity != "for":
            continue
        step = _step_at(by_path.get(e.source.path, ()), e.source.path, e.source.line_start)
        if not observable(e, step, vocab, trig, known_codes):
            continue
        place = PLACES.get(step.kind, "") if step is not None else ""
        text = as_question(e.text, place)
        prev = out.get(text)
        causes = (prev.causes if prev else frozenset()) | {e.cause}
        out[text] = Candidate(
            "observe",
            prev.ref if prev else e.id,
            text,
            e.text,
            causes,
            tuple(clauses(e.text, lexicon)),
            prev.minutes if prev else _minutes(step, OBSERVE_MINUTES),
            prev.source if prev else e.source.cite(),
            points=named_points(e.text),
        )
    same_place: dict[tuple[str, tuple[str, ...], str], list[Measurement]] = {}
    for m in kb.measurements:
        same_place.setdefault((m.manual, m.points, m.unit), []).append(m)
    for m in kb.measurements:
        causes = frozenset(i.cause for i in m.implications if i.cause)
        if not causes or not m.unit:
            continue
        if not m.points and not _condition(m) and m.quantity not in vocab.read_without_points:
            continue  # "duration: what do you read?" says not what to read
        siblings = [
            x for x in same_place[(m.manual, m.points, m.unit)] if x.id != m.id and m.points
        ]
        example = example_reading(m, siblings)
        if not example:
            continue  # nothing says what a reading would look like
        step = _step_at(by_path.get(m.source.path, ()), m.source.path, m.source.line_start)
        place = PLACES.get(step.kind, "") if step is not None else ""
        text = measure_text(m, place)
        out.setdefault(
            text,
            Candidate(
                "measure",
                m.id,
                text,
                m.text,
                causes,
                (),
                _minutes(step, MEASURE_MINUTES),
                m.source.cite(),
                m.unit,
                example,
                m.points,
                m.quantity,
            ),
        )
    return tuple(out.values())


# ------------------------------------------------------------------ the report


def told(
    obs: Observation,
    matched: Iterable[MatchResult],
    replies: Iterable[tuple[Observable, bool]] = (),
    refs: Iterable[str] = (),
    lexicon: Lexicon | None = None,
) -> Report:
    """What the report says: its own clauses; a KB text it agrees with on a fault
    clause, whole ("cable hangs loose" says "won't retract" too); the clause it
    met otherwise, with the sense the report gives it; and the answers given."""
    stated: list[Clause] = list(obs.clauses)
    texts: set[str] = set()
    for r in matched:
        o = r.observable
        texts.add(o.text)
        kc = o.clauses[r.kb_clause] if r.kb_clause < len(o.clauses) else None
        if kc is None:
            continue
        if r.agrees and kc.fault:
            stated.extend(o.clauses)
        else:
            stated.append(_with_sense(kc, kc.fault == r.agrees))
    for o, yes in replies:
        texts.add(o.text)
        stated.extend(o.clauses if yes else (_with_sense(c, not c.fault) for c in o.clauses))
    read = [(r.quantity, r.points) for r in obs.readings]
    read += [("", b.points) for b in bare_readings(obs.text, list(obs.readings))]
    # its own clauses again, the normal findings about test points kept ("pins clean")
    own = tuple(clauses(obs.text, lexicon)) if lexicon is not None else obs.clauses
    return Report(tuple(stated), frozenset(texts), frozenset(refs), tuple(read), own)


_REFERENCE = frozenset({"PE", "N"})  # what a reading is taken against, not what it is of
_POINT_NAMES = re.compile(rf"\b{POINT_PATTERN}\b", re.I)


def named_points(text: str) -> tuple[str, ...]:
    """The test points a text names ("proximity pilot resistance" -> PP), but the
    references (earth, neutral) a reading is taken against.

    >>> named_points("Proximity pilot resistance at the connector is out of range")
    ('PP',)
    >>> named_points("the vehicle does not wake")
    ()
    """
    found = canonical_points(_POINT_NAMES.findall(text))
    return tuple(p for p in found if p not in _REFERENCE)


def _with_sense(c: Clause, fault: bool) -> Clause:
    from dataclasses import replace

    return replace(c, fault=fault)


def _about(c: Clause, lexicon: Lexicon | None) -> frozenset[str]:
    """What a clause says about its components: its words but the components'
    names and words that only say something is wrong."""
    names = terms(" ".join(c.objects), lexicon) if c.objects else frozenset()
    return c.terms - names - GENERIC_FAULT_STEMS


def answered_by(
    cand: Candidate, report: Report, lexicon: Lexicon | None, aspects: Sequence[Aspect] = ()
) -> bool:
    """Whether the report already answers the question, either way: a stated clause
    about the same thing (most of a question clause's words, same components)."""
    if cand.ref in report.refs or cand.about in report.texts:
        return True
    if cand.kind == "observe" and cand.points:
        # "proximity pilot resistance is out of range?" after "prox to ground 0.48k":
        # a reading at the points it names says whether it is
        for _quantity, points in report.read:
            of = set(points) - _REFERENCE
            if of and of <= set(cand.points):
                return True
    if cand.kind == "measure":
        for quantity, points in report.read:
            if cand.points and set(points) == set(cand.points):
                return True
            if not cand.points and quantity == cand.quantity:
                return True
        return False
    for qc in cand.clauses:
        want = _about(qc, lexicon)
        if not want:
            continue
        for sc in report.stated:
            if _same_part(qc, sc) and containment(want, _about(sc, lexicon)) >= SAME_THING:
                return True
        # the report describes the same state of the same part in its own words,
        # whichever way ("hard to pull out" answers "hangs loose?", "retracts fine?")
        for a in aspects:
            if a.stems & qc.terms and any(
                a.stems & sc.terms and (a.any_object or _same_part(qc, sc)) for sc in report.own
            ):
                return True
        # "cord looks ok", "reel fine": nothing wrong with the part at all
        if qc.fault and qc.objects and any(_all_well(sc, qc, lexicon) for sc in report.own):
            return True
    return False


def _all_well(said: Clause, question: Clause, lexicon: Lexicon | None) -> bool:
    """A normal finding that names only the part, and the question's part."""
    if said.fault or said.negated or not (said.objects & question.objects):
        return False
    return not (said.terms - terms(" ".join(said.objects), lexicon) - _REFLEXIVE)


_REFLEXIVE = frozenset({"itself", "themselv"})  # "cord itself looks ok"


def _same_part(a: Clause, b: Clause) -> bool:
    """Whether two clauses may be about the same part: one names none, or only the
    whole station ("pull it out of the unit"), or they name one in common."""
    if not (a.objects - _WHOLE and b.objects - _WHOLE):
        return True
    return bool(a.objects & b.objects)


_WHOLE = frozenset({"station"})


# ------------------------------------------------------------------ asking


def ask(
    cands: Sequence[Candidate],
    belief: Sequence[tuple[str, float]],
    report: Report,
    titles: Mapping[str, str],
    lexicon: Lexicon | None = None,
    limit: int = 3,
) -> tuple[Question, ...]:
    """The best question (value of information per minute), then alternatives."""
    top = [(c, p) for c, p in belief[:TOP_CAUSES] if p >= MIN_CAUSE]
    if len(top) < 2:
        return ()
    aspects = load_vocabulary().aspects
    mass = sum(p for _c, p in top)
    pc = {c: p / mass for c, p in top}
    norm = sorted(pc.items(), key=lambda cp: (-cp[1], cp[0]))
    scored: list[Question] = []
    for cand in cands:
        yes = cand.causes & pc.keys()
        if not yes:
            continue
        ps = sum(pc[c] for c in yes)
        value = ps * (1 - ps)
        if value <= MIN_VALUE or answered_by(cand, report, lexicon, aspects):
            continue
        scored.append(
            Question(
                cand.text,
                tuple(sorted(yes)),
                value,
                cand.minutes,
                cand.source,
                cand.kind,
                cand.ref,
                purpose(yes, norm, titles),
                cand.unit,
                cand.example,
            )
        )
    scored.sort(key=lambda q: (-q.value / max(q.minutes, 1.0), q.text))
    return tuple(scored[:limit])
