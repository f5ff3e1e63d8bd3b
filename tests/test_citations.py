"""Every record cites the lines it came from: ``source.line_start..line_end`` of
``source.path`` exist and hold the record's text.

Checked for the export of the seed manuals and of the third-party corpus
(../shared/corpus/**/*.md, when present). Both sides are normalised (markdown
``*``, backticks, table pipes, list and quote markers stripped, whitespace
collapsed, case folded). The record's main text must occur in the cited lines,
or, where the text is legitimately tidied (a leading "the" dropped, a title with a
parenthetical), each of its words of four letters or more must:

============  =====================================================
manuals       title
error_codes   code
symptoms      text
causes        title
evidence      text
measurements  one number of its range or implication values (in the unit the
              manual writes: 600 s may be "10 minutes", 2740 ohm "2.74 kΩ")
steps         title, and every sub-step
tools, parts  name
safety        work (``text`` when the work is a scope label the extractor
              assigns, listed in tests/fixtures/citations.yaml)
============  =====================================================

Records whose citation is known to be wrong are listed in
tests/fixtures/citations.yaml with the reason; they are expected to fail (strict:
once fixed, the entry must go).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import pytest
import yaml

from kb.schema import RECORD_TYPES
from tests.conftest import FIXTURES, ROOT, SHARED, export_with_cli
from tests.markdown_text import file_lines, holds, normalise

CONFIG: dict[str, Any] = yaml.safe_load((FIXTURES / "citations.yaml").read_text(encoding="utf-8"))
SCOPE_LABELS = {normalise(s) for s in CONFIG["safety_scope_labels"]}
KNOWN: dict[str, str] = {k["id"]: k["reason"] for k in CONFIG.get("known_issues") or []}
CORPUS = SHARED / "corpus"

Record = dict[str, Any]

MAIN_TEXT = {
    "manuals": "title",
    "error_codes": "code",
    "symptoms": "text",
    "causes": "title",
    "evidence": "text",
    "steps": "title",
    "tools": "name",
    "parts": "name",
    "safety": "work",
    "serial_formats": "template",
}
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")


@pytest.fixture(scope="session")
def corpus_export(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if not CORPUS.is_dir() or not any(CORPUS.rglob("*.md")):
        pytest.skip(f"no Markdown corpus at {CORPUS}")
    kb_file = tmp_path_factory.mktemp("corpus") / "kb.json"
    data = json.loads(export_with_cli([str(CORPUS)], kb_file))
    assert isinstance(data, dict)
    return data


def cited_lines(record: Record) -> str | None:
    """The raw text of the record's cited lines, None if they do not exist."""
    src = record["source"]
    lines = file_lines(src["path"])
    if not 1 <= src["line_start"] <= src["line_end"] <= len(lines):
        return None
    return "\n".join(lines[src["line_start"] - 1 : src["line_end"]])


def number_candidates(value: float, unit: str) -> list[float]:
    """``value`` (canonical unit) as a manual may write it (the sign is written
    apart from the digits: "-12 V", "−12 V")."""
    value = abs(value)
    if unit == "s":
        return [value, value / 60, value / 3600, value / 86400, value / 31557600, value * 1000]
    if unit == "m":
        return [value, value * 100, value * 1000, value / 0.0254, value / 0.3048]
    if unit == "F":
        return [value * 1e6, value * 1e9, value * 1e12]
    return [value, value / 1000, value * 1000, value / 1e6]


def holds_number(cited: str, record: Record) -> str | None:
    values = [record["low"], record["high"]] + [i["value"] for i in record["implications"]]
    values = [v for v in values if v is not None]
    if record["low"] is not None and record["high"] is not None:
        values.append((record["low"] + record["high"]) / 2)  # "+9 V ±1" is 8-10 V
    if not values and record["quantity"] == "version":
        # a firmware version bound ("4.5.3 or later") is cited by its text
        return holds(cited, record["text"].split(":")[-1]) if record["text"] else "empty"
    if not values:
        return "the measurement has no number (range or implication value) to cite"
    # "2,74" may be a decimal comma, "1,800" a thousands separator: try both
    written = [float(n.replace(",", sep)) for n in _NUMBER.findall(cited) for sep in (".", "")]
    # resistor codes: "1k5" is 1.5 k, "6k8" 6.8 k
    written += [float(f"{a}.{b}") for a, b in re.findall(r"(\d+)[kKM](\d+)", cited)]
    for v in values:
        for c in number_candidates(float(v), record["unit"]):
            if any(math.isclose(c, w, rel_tol=1e-9, abs_tol=1e-9) for w in written):
                return None
    return f"none of {values} {record['unit']} is written in the cited lines"


def problems(kind: str, record: Record) -> list[str]:
    cited = cited_lines(record)
    if cited is None:
        return [f"the cited lines do not exist ({len(file_lines(record['source']['path']))} lines)"]
    if kind == "measurements":
        found = holds_number(cited, record)
        return [found] if found else []
    field = MAIN_TEXT[kind]
    text = str(record[field])
    if kind == "safety" and normalise(text) in SCOPE_LABELS:
        text = record["text"]
    out = [holds(cited, text)]
    if kind == "steps":
        out += [holds(cited, sub) for sub in record["substeps"]]
    return [p for p in out if p]


def report(kind: str, record: Record, found: list[str]) -> str:
    src = record["source"]
    return f"{kind} {record['id']} @ {src['path']}:{src['line_start']}-{src['line_end']}: " + (
        "; ".join(found)
    )


def check_all(export: dict[str, Any], kind: str) -> None:
    records = export[kind]
    bad = []
    for r in records:
        if r["id"] in KNOWN:
            continue
        found = problems(kind, r)
        if found:
            bad.append(report(kind, r, found))
    assert not bad, (
        f"{len(bad)} of {len(records)} {kind} records cite lines that do not hold them:\n"
        + "\n".join(bad)
    )


@pytest.mark.parametrize("kind", list(RECORD_TYPES))
def test_seed_records_cite_their_text(seed_export: dict[str, Any], kind: str) -> None:
    check_all(seed_export, kind)


@pytest.mark.parametrize("kind", list(RECORD_TYPES))
def test_corpus_records_cite_their_text(corpus_export: dict[str, Any], kind: str) -> None:
    check_all(corpus_export, kind)


def test_seed_export_cites_every_manual(seed_export: dict[str, Any]) -> None:
    cited = {r["source"]["path"] for kind in RECORD_TYPES for r in seed_export[kind]}
    assert cited == {f"manuals/{p.name}" for p in (ROOT / "manuals").glob("*.md")}


@pytest.mark.parametrize(
    "record_id",
    [
        pytest.param(i, marks=pytest.mark.xfail(reason=r, strict=True), id=i)
        for i, r in KNOWN.items()
    ],
)
def test_known_citation_issue(
    request: pytest.FixtureRequest, seed_export: dict[str, Any], record_id: str
) -> None:
    exports = [seed_export]
    if not record_id.startswith(tuple(m["id"] + "/" for m in seed_export["manuals"])):
        exports.append(request.getfixturevalue("corpus_export"))
    for export in exports:
        for kind in RECORD_TYPES:
            for r in export[kind]:
                if r["id"] == record_id:
                    found = problems(kind, r)
                    assert not found, report(kind, r, found)
                    return
    pytest.fail(f"no record {record_id!r} in the exports: remove it from citations.yaml")
