"""Manual metadata: title, equipment, document type, the ``**Key:** value`` lines,
and YAML front matter (blog posts)."""

from __future__ import annotations

import re

import yaml

from ingest.state import IngestState
from kb.schema import Manual

_KEY_LINE = re.compile(r"^\*\*([^*:]+):\*\*\s*(.*)$")
_LOOSE_H1 = re.compile(r"^#(?![#\s])(.+?)\s*#*\s*$")
_DOC_TYPE = re.compile(r"^document type\s*:\s*(.+)$", re.I)
CODE = re.compile(r"\b[A-Z][A-Z0-9]{1,5}-ERR-[A-Z0-9]+(?:-[A-Z0-9]+)*\b")

_FIELDS = {
    "component category": "component_category",
    "category": "component_category",
    "target part": "target_part",
    "part": "target_part",
    "expected error code": "error_codes",
    "error code": "error_codes",
    "error codes": "error_codes",
    "revision": "revision",
    "rev": "revision",
    "date": "date",
    "equipment": "equipment",
    "model": "equipment",
}


def equipment_of(title: str) -> str:
    """'ChargePoint CT4000 Series Level 2 Charger' -> 'ChargePoint CT4000'."""
    words = title.split()
    for i, w in enumerate(words):
        if re.search(r"\d", w) and re.search(r"[A-Za-z]", w):
            return " ".join(words[: i + 1])
    return ""


def run(state: IngestState) -> None:
    doc = state.doc
    fields: dict[str, str] = {}
    title = ""
    start, end = 1, 1
    front: list[tuple[str, str]] = []
    if doc.front_matter:
        try:
            data = yaml.safe_load(doc.front_matter)
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            line = (mark.line + 2) if mark else 1
            state.fail(line, "expected valid YAML front matter")
        except Exception as e:
            # PyYAML's constructors raise plain ValueError, KeyError, IndexError, ... for
            # values that parse but cannot be built ("date: 2025-13-45", "!!bool maybe",
            # "!!int 0x") and RecursionError for deep nesting; none carries a position,
            # so the error names the front matter's first line
            state.fail(1, f"expected valid YAML front matter ({type(e).__name__}: {e})")
        if not isinstance(data, dict):
            state.fail(1, "expected front matter to be a YAML mapping")
        for k, v in data.items():
            value = ", ".join(str(x) for x in v) if isinstance(v, list) else str(v)
            front.append((str(k), value))
        title = str(data.get("title", ""))
        if "date" in data:
            fields["date"] = str(data["date"])
        end = doc.front_matter.count("\n") + 3
    for sec in doc.sections:
        if sec.level == 1 and not title:
            title = sec.title
            start = end = sec.line
            state.meta_headings.add(sec.line)
        m = _DOC_TYPE.match(sec.title)
        if m and sec.level >= 2:
            fields["document_type"] = m.group(1).strip()
            end = max(end, sec.line)
            state.meta_headings.add(sec.line)
        if sec.level > 2 or (sec.level == 2 and not m):
            break
        for block in sec.blocks:
            if block.kind != "paragraph":
                continue
            for ln in block.lines:
                km = _KEY_LINE.match(ln.raw)
                if not km:
                    continue
                key = _FIELDS.get(km.group(1).strip().lower())
                if key is None:
                    continue
                fields[key] = re.sub(r"[`*]", "", km.group(2)).strip()
                end = max(end, ln.number)
                state.consumed[block.line_start] = "meta"
    if not title:
        # no level-1 heading: a first line written '#Title' (no space, so not a
        # CommonMark heading) still names the document
        first = next((i for i, raw in enumerate(doc.source_lines, 1) if raw.strip()), 0)
        hm = _LOOSE_H1.match(doc.source_lines[first - 1]) if first else None
        if hm and not front:
            title = hm.group(1)
            start = end = first
    if not title:
        title = state.manual_id.replace("-", " ")
    codes = tuple(CODE.findall(fields.get("error_codes", "")))
    if not codes and fields.get("error_codes"):
        codes = tuple(c.strip() for c in fields["error_codes"].split(",") if c.strip())
    state.manual = Manual(
        id=state.manual_id,
        title=title,
        # a blog post's title names a topic, not a model: generic unless stated
        equipment=fields.get("equipment") or ("" if front else equipment_of(title)),
        document_type=fields.get("document_type", "blog post" if front else ""),
        component_category=fields.get("component_category", ""),
        target_part=fields.get("target_part", ""),
        error_codes=codes,
        revision=fields.get("revision", ""),
        date=fields.get("date", ""),
        front_matter=tuple(front),
        source=state.source(start, end),
    )
    state.add("manuals", state.manual)
