"""General field vocabulary (kb/curated/*.yaml), loaded once per process and
validated on load (a record of the wrong shape fails with ``file:line: what was
expected``):

- ``lexicon.yaml``: synonyms technicians and manuals use (cord = cable);
- ``priors.yaml``: how much a frequency word ("rare", "often") weighs;
- ``roles.yaml``: the words that give a column, label or section its role;
- ``steps.yaml``: step kinds from their words, and minutes by kind.

Knowledge about one manual never lives here: it sits beside the manual
(ingest/sidecar.py)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from ingest.roles import Roles, load_roles
from ingest.steps_kind import StepVocabulary, load_vocabulary
from kb.curated import CURATED_DIR, load_yaml, records
from kb.schema import LexiconEntry, Source
from kb.text import Lexicon, lexicon_of

FILES = ("lexicon.yaml", "priors.yaml", "roles.yaml", "steps.yaml", "outcomes.yaml")


@dataclass(frozen=True)
class Curated:
    lexicon: Lexicon
    lexicon_entries: tuple[LexiconEntry, ...]
    priors: dict[str, float]
    roles: Roles
    steps: StepVocabulary


def _show(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _load(d: Path) -> Curated:
    lex_root = load_yaml(d / "lexicon.yaml", _show(d / "lexicon.yaml"))
    entries: list[LexiconEntry] = []
    for rec in records(lex_root, "lexicon"):
        canonical = rec.text("canonical")
        entries.append(
            LexiconEntry(
                canonical,
                rec.strings("phrases"),
                Source(rec.path, rec.line, rec.line),
                rec.text("object", required=False),
                rec.strings("for", required=False),
                bool(rec.get("required", bool, required=False)),
            )
        )
    lexicon = lexicon_of(entries)
    pri_root = load_yaml(d / "priors.yaml", _show(d / "priors.yaml"))
    priors: dict[str, float] = {}
    for rec in records(pri_root, "priors"):
        weight = rec.number("weight")
        assert weight is not None
        if weight <= 0:
            raise rec.node("weight").fail("expected a positive weight")
        for word in rec.strings("wording"):
            priors[word.lower()] = weight
    if "default" not in priors:
        raise pri_root.fail("expected a prior with wording 'default'")
    return Curated(lexicon, tuple(entries), priors, load_roles(d), load_vocabulary(d))


@functools.lru_cache(maxsize=8)
def _cached(directory: str, stamp: tuple[float, ...]) -> Curated:
    return _load(Path(directory))


def load(directory: Path | None = None) -> Curated:
    """The vocabulary, read again only when one of its files changed."""
    d = directory or CURATED_DIR
    stamp = tuple((d / f).stat().st_mtime_ns if (d / f).exists() else 0.0 for f in FILES)
    return _cached(str(d), stamp)
