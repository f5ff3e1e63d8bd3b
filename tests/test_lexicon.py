"""Every phrase of the curated lexicon (kb/curated/lexicon.yaml) can match: a text
that contains it reads exactly as the same text with the phrase's canonical form
instead (the same clauses, terms, sense and components), so no phrase is split
apart by clause splitting, rewritten into something else by a longer or earlier
entry, or lost to an inflection of another. Checked on the phrase alone and inside
a few sentences, in capitals, with typographic apostrophes; a phrase that holds
only for some components ("loose" of a SIM) is checked in a clause about each of
them, and must not hold in a clause about another assembly."""

from __future__ import annotations

import pytest
from _pytest.mark.structures import ParameterSet

from engine.diagnose import lexicon_of
from ingest import curated
from kb.schema import KnowledgeBase, LexiconEntry
from kb.text import Lexicon, clauses

CURATED = curated.load()
ENTRIES = CURATED.lexicon_entries
LEXICON = CURATED.lexicon

FRAMES = ("{}", "noticed {} today", "NOTICED {}, THEN LEFT", "it was fine before. now {}.")


Reading = tuple[list[str], bool, bool, list[str]]


def reading(text: str, lexicon: Lexicon | None) -> list[Reading]:
    """What the matcher sees of a text: per clause its terms, sense and components."""
    return [
        (sorted(c.terms), c.fault, c.negated, sorted(c.objects)) for c in clauses(text, lexicon)
    ]


def frames_of(entry: LexiconEntry) -> list[str]:
    if not entry.scope:
        return list(FRAMES)
    return [f"the {o} is {{}}" for o in entry.scope] + [
        f"checked the {o}, it is {{}}" for o in entry.scope
    ]


def variants(phrase: str) -> list[str]:
    out = [phrase, phrase.upper(), phrase.title()]
    if "'" in phrase:
        out.append(phrase.replace("'", "\u2019"))
    return out


# (canonical, phrase) that cannot match today, and why (strict: once fixed, the
# entry must go)
CANNOT_MATCH = {
    ("modem", "4g module"): "kb/text.py split_identifiers reads '4G' as an identifier "
    "('4 G') before the lexicon is applied, so '4G module' as technicians write it "
    "never becomes 'modem'",
}


def _param(e: LexiconEntry, p: str) -> ParameterSet:
    reason = CANNOT_MATCH.get((e.canonical, p))
    marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
    return pytest.param(e, p, id=f"{e.canonical}<-{p}@{e.source.line_start}", marks=marks)


PHRASES = [_param(e, p) for e in ENTRIES for p in e.phrases]


def test_the_lexicon_has_phrases() -> None:
    assert len(PHRASES) > 100
    assert any(e.scope for e in ENTRIES) and any(e.object for e in ENTRIES)


def test_diagnosis_uses_the_curated_lexicon(seed_kb: KnowledgeBase) -> None:
    assert lexicon_of(seed_kb) == LEXICON


@pytest.mark.parametrize(("entry", "phrase"), PHRASES)
def test_phrase_reads_as_its_canonical_form(entry: LexiconEntry, phrase: str) -> None:
    wrong = []
    for frame in frames_of(entry):
        want = reading(frame.format(entry.canonical), LEXICON)
        for variant in variants(phrase):
            text = frame.format(variant)
            got = reading(text, LEXICON)
            if got != want:
                wrong.append(f"{text!r} reads {got}, {entry.canonical!r} reads {want}")
    assert not wrong, "\n".join(wrong)


def test_canonical_forms_read_as_themselves() -> None:
    """No entry rewrites another's canonical form: "hang" stays "hang"."""
    wrong = {
        e.canonical: (reading(e.canonical, LEXICON), reading(e.canonical, None))
        for e in ENTRIES
        if [r[:3] for r in reading(e.canonical, LEXICON)]
        != [r[:3] for r in reading(e.canonical, None)]
    }
    assert not wrong, wrong


SCOPED = [
    pytest.param(e, p, id=f"{e.canonical}<-{p}@{e.source.line_start}")
    for e in ENTRIES
    if e.scope
    for p in e.phrases
]


@pytest.mark.parametrize(("entry", "phrase"), SCOPED)
def test_scoped_phrase_keeps_its_meaning_elsewhere(entry: LexiconEntry, phrase: str) -> None:
    """A synonym that holds for a SIM does not hold for the cable: "the cable is loose"
    is not "the cable is not seated"."""
    assemblies = {LEXICON.assembly.get(o, o) for o in entry.scope}
    others = sorted(
        o
        for o, assembly in LEXICON.assemblies
        if assembly not in assemblies and assembly != "whole" and o not in entry.scope
    )
    assert others, "no component of another assembly to compare with"
    for o in others:
        got = reading(f"the {o} is {phrase}", LEXICON)
        scoped = reading(f"the {o} is {entry.canonical}", LEXICON)
        if got == scoped:
            pytest.fail(f"{phrase!r} reads as {entry.canonical!r} about the {o}")


@pytest.mark.parametrize(
    ("text", "many"),
    [
        ("4 chargers went offline at once", True),
        ("5 CT4000s across town are down", True),
        ("the others are fine", True),
        ("the lot 4 charger is offline", False),
        ("bay 2 unit will not start", False),
        ("one CT4000 is down", False),
        ("the whole row of chargers is down", True),
        ("whole station dark, no screen", False),
    ],
)
def test_more_than_one_station(text: str, many: bool) -> None:
    """A count of stations (or of a model, in the plural) is about the other
    stations too; a number that names one ("lot 4", "bay 2") is not."""
    said = {o for c in clauses(text, LEXICON) for o in c.objects}
    assert ("other stations" in said) is many, said
