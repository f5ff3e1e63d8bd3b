"""Shared state of the ingest rule chain (one per manual), in the manner of
markdown-it's ``StateBlock``: every extractor reads the document tree and
appends records; ``fail()`` is the one way to report a broken manual."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn

from ingest.roles import Roles, default_roles
from ingest.tree import Document
from kb.errors import ManualError
from kb.schema import Cause, Manual, Source, slug
from kb.text import Lexicon, terms

if TYPE_CHECKING:
    from ingest.steps_kind import StepVocabulary


@dataclass
class Sentence:
    text: str
    line_start: int
    line_end: int
    section: str


@dataclass(frozen=True)
class Span:
    """Lines a record's text was read from, for the outline's templates."""

    line_start: int
    line_end: int
    record: str
    field: str
    text: str


@dataclass
class IngestState:
    doc: Document
    manual_id: str
    lexicon: Lexicon
    priors: dict[str, float]
    roles: Roles = field(default_factory=default_roles)
    vocab: StepVocabulary | None = None
    manual: Manual | None = None
    records: dict[str, list[Any]] = field(default_factory=dict)
    sentences: list[Sentence] = field(default_factory=list)
    # block first line -> the record reference it was compiled into (for the outline)
    consumed: dict[int, str] = field(default_factory=dict)
    meta_headings: set[int] = field(default_factory=set)
    # texts of records and their lines, for the outline (a block holding them becomes
    # a template the manual is regenerated from)
    spans: list[Span] = field(default_factory=list)
    # lines whose knowledge a fault extractor has taken (the sentence rules skip them)
    claimed: set[int] = field(default_factory=set)
    # gathered while faults are emitted, written into the causes by faults.finish
    cause_codes: dict[str, list[str]] = field(default_factory=dict)
    cause_steps: dict[str, tuple[list[str], list[str]]] = field(default_factory=dict)
    # the troubleshooting content that could not be structured: (line, what)
    warnings: list[tuple[int, str]] = field(default_factory=list)
    # kind -> (its bucket, the ids in it), so adding a record is not a scan of them all
    _ids: dict[str, tuple[list[Any], set[str]]] = field(default_factory=dict, repr=False)
    _terms: dict[str, frozenset[str]] = field(default_factory=dict, repr=False)

    @property
    def path(self) -> str:
        return self.doc.path

    def fail(self, line: int, message: str) -> NoReturn:
        raise ManualError(self.path, line, message)

    def source(self, start: int, end: int | None = None) -> Source:
        end = start if end is None else end
        # trim trailing blank lines that markdown-it includes in a block's map
        while end > start and not self.doc.source_lines[end - 1].strip():
            end -= 1
        return Source(self.path, start, end)

    def add(self, kind: str, record: Any) -> None:
        ids = self._index(kind)
        if record.id in ids:
            return
        self.records[kind].append(record)
        ids.add(record.id)

    def has(self, kind: str, record_id: str) -> bool:
        """A record of this kind and id is there already."""
        return record_id in self._index(kind)

    def _index(self, kind: str) -> set[str]:
        """The ids in a bucket. Extractors may also append to a bucket or set it anew
        (records are replaced only by one of the same id); the index is then read
        again from the bucket."""
        bucket = self.get(kind)
        known = self._ids.get(kind)
        if known is None or known[0] is not bucket or len(known[1]) != len(bucket):
            known = (bucket, {r.id for r in bucket})
            self._ids[kind] = known
        return known[1]

    def get(self, kind: str) -> list[Any]:
        return self.records.setdefault(kind, [])

    def replace(self, kind: str, record: Any) -> None:
        bucket = self.get(kind)
        for i, r in enumerate(bucket):
            if r.id == record.id:
                bucket[i] = record
                return
        bucket.append(record)

    def terms(self, text: str) -> frozenset[str]:
        """``kb.text.terms`` of a text with this manual's lexicon, read once per text
        (cause titles are compared with every phrase that may name a cause)."""
        found = self._terms.get(text)
        if found is None:
            found = self._terms[text] = terms(text, self.lexicon)
        return found

    def claim(self, start: int, end: int) -> None:
        self.claimed.update(range(start, end + 1))

    def is_claimed(self, start: int, end: int) -> bool:
        return any(n in self.claimed for n in range(start, end + 1))

    def warn(self, line: int, message: str) -> None:
        self.warnings.append((line, message))

    def rid(self, kind: str, text: str) -> str:
        return f"{self.manual_id}/{kind}/{slug(text)}"

    # ------------------------------------------------------------ causes

    @property
    def equipment(self) -> str:
        return self.manual.equipment if self.manual else ""

    @property
    def error_codes(self) -> tuple[str, ...]:
        return self.manual.error_codes if self.manual else ()

    def new_cause(
        self,
        title: str,
        source: Source,
        *,
        notes: str = "",
        remedy: str = "",
        prior_basis: str = "",
    ) -> Cause:
        weight = self.priors.get(prior_basis.lower(), self.priors["default"])
        component = self.manual.component_category if self.manual else ""
        cause = Cause(
            id=self.rid("cause", re.sub(r"\s*\([^)]*\)", "", title) or title),
            manual=self.manual_id,
            title=title,
            component=component,
            equipment=self.equipment,
            error_codes=self.error_codes,
            prior=weight,
            prior_basis=prior_basis or "default",
            notes=notes,
            remedy=remedy,
            source=source,
        )
        self.add("causes", cause)
        return cause
