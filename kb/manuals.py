"""A manual regenerated from the knowledge base: the blocks of its outline in
order, fixed-format blocks rebuilt from their records, templates filled in with
what the records say now, prose as written (templates/manual.md.j2 lays them
out). Ingesting the result gives the same knowledge base."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Literal

from kb.errors import KBError
from kb.schema import KnowledgeBase, Manual, Part, Step, Tool

OPEN, CLOSE = "\u27e6", "\u27e7"
_PLACEHOLDER = re.compile(f"{OPEN}([^{CLOSE}#]+)#(\\w+){CLOSE}")

BlockKind = Literal[
    "heading", "raw", "front_matter", "meta", "triggers", "table", "step", "steplist"
]


@dataclass(frozen=True)
class ManualBlock:
    kind: BlockKind
    text: str = ""
    level: int = 0
    items: tuple[tuple[str, str], ...] = ()  # front matter (key, value); meta (label, value)
    title: str = ""
    document_type: str = ""
    code: str = ""
    conditions: tuple[str, ...] = ()
    header: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()
    number: str = ""
    substeps: tuple[str, ...] = field(default=())


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _yaml_scalar(value: str) -> str:
    return value if re.fullmatch(r"[\w .,/-]*", value) else json.dumps(value)


class _Texts:
    """Record texts by id and field, for filling templates."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.values: dict[tuple[str, str], str] = {}
        for ec in kb.error_codes:
            self.values[(ec.id, "code")] = ec.code
        for s in kb.symptoms:
            self.values[(s.id, "text")] = s.text
        for c in kb.causes:
            self.values[(c.id, "title")] = c.title
        for st in kb.steps:
            self.values[(st.id, "title")] = st.title
        for e in kb.evidence:
            self.values[(e.id, "text")] = e.text

    def fill(self, m: Manual, template: str) -> str:
        def one(match: re.Match[str]) -> str:
            key = (match.group(1), match.group(2))
            if key not in self.values:
                raise KBError(
                    f"{m.source.cite()}: the outline names {key[0]}#{key[1]}, "
                    "which the knowledge base does not hold"
                )
            return self.values[key]

        return _PLACEHOLDER.sub(one, template)


def manual_blocks(kb: KnowledgeBase, manual_id: str) -> list[ManualBlock]:
    """The blocks of one manual, structured ones rebuilt from the records."""
    m = kb.manual(manual_id)
    steps: dict[str, Step] = {s.id: s for s in kb.steps}
    errors = {e.id: e for e in kb.error_codes}
    texts = _Texts(kb)
    out: list[ManualBlock] = []
    for b in m.outline:
        if b.kind == "heading":
            out.append(ManualBlock("heading", b.text, b.level))
            continue
        if b.kind == "raw":
            out.append(ManualBlock("raw", b.text))
            continue
        if b.kind == "template":
            filled = texts.fill(m, b.text)
            out.append(
                ManualBlock("heading", filled, b.level) if b.level else ManualBlock("raw", filled)
            )
            continue
        kind, _, ref = b.text.partition(":")
        if kind == "meta" and m.front_matter:
            out.append(
                ManualBlock(
                    "front_matter",
                    items=tuple((k, _yaml_scalar(v)) for k, v in m.front_matter),
                )
            )
        elif kind == "meta":
            fields = [
                ("Component Category", m.component_category),
                ("Target Part", m.target_part),
                ("Expected Error Code", ", ".join(f"`{c}`" for c in m.error_codes)),
                ("Revision", m.revision),
                ("Date", m.date),
            ]
            out.append(
                ManualBlock(
                    "meta",
                    title=m.title,
                    document_type=m.document_type,
                    items=tuple((k, v) for k, v in fields if v),
                )
            )
        elif kind == "triggers":
            e = errors[ref]
            out.append(ManualBlock("triggers", code=e.code, conditions=e.conditions))
        elif kind in ("step", "steplist"):
            s = steps[ref]
            out.append(
                ManualBlock(
                    "step" if kind == "step" else "steplist",
                    number=s.number,
                    title=s.title,
                    substeps=s.substeps,
                )
            )
        elif ref == "tools":
            listed: list[Tool | Part] = [*kb.tools, *kb.parts]
            rows = tuple(
                (_cell(t.name), _cell(t.specification), _cell(t.purpose))
                for t in listed
                if t.manual == manual_id
            )
            out.append(ManualBlock("table", header=("Tool", "Specification", "Purpose"), rows=rows))
        else:
            raise KBError(f"{m.source.cite()}: unknown outline reference {b.text!r}")
    return out
