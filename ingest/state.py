"""Shared state of the ingest rule chain (one per manual), in the manner of
markdown-it's ``StateBlock``: every extractor reads the document tree and
appends records; ``fail()`` is the one way to report a broken manual."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, NoReturn

from ingest.tree import Document
from kb.errors import ManualError
from kb.schema import Cause, Manual, Source, slug
from kb.text import Lexicon


@dataclass
class Sentence:
    text: str
    line_start: int
    line_end: int
    section: str


@dataclass
class IngestState:
    doc: Document
    manual_id: str
    lexicon: Lexicon
    priors: dict[str, float]
    manual: Manual | None = None
    records: dict[str, list[Any]] = field(default_factory=dict)
    sentences: list[Sentence] = field(default_factory=list)
    # block first line -> the record reference it was compiled into (for the outline)
    consumed: dict[int, str] = field(default_factory=dict)
    meta_headings: set[int] = field(default_factory=set)

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
        bucket = self.records.setdefault(kind, [])
        if any(r.id == record.id for r in bucket):
            return
        bucket.append(record)

    def get(self, kind: str) -> list[Any]:
        return self.records.setdefault(kind, [])

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
