"""Ingest on documents nobody here wrote (../shared/corpus): every Markdown file
compiles, every record cites lines of its document, and the fault -> cause
knowledge the documents state (tests/fixtures/corpus/knowledge.yaml) is extracted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from ingest.pipeline import check_unique_ids, compile_paths
from kb.errors import ManualError
from kb.schema import RECORD_TYPES, KnowledgeBase

SHARED = Path(__file__).resolve().parents[2] / "shared"
CORPUS = SHARED / "corpus"
EXPECTED = Path(__file__).resolve().parent / "fixtures" / "corpus" / "knowledge.yaml"

if not CORPUS.is_dir():
    pytest.skip(f"no third-party corpus at {CORPUS}", allow_module_level=True)

DOCUMENTS = sorted(CORPUS.rglob("*.md"))


def _compile(path: Path) -> KnowledgeBase:
    """Compile one document; a ManualError is a clean refusal, but these are real
    documents, so it fails the test (any other exception is a crash)."""
    try:
        return compile_paths([path])
    except ManualError as e:
        pytest.fail(f"a real document was refused: {e}")


def _expected() -> list[Any]:
    data = yaml.safe_load(EXPECTED.read_text(encoding="utf-8"))
    return [
        pytest.param(doc["path"], want, id=f"{doc['path']}:{want['cause']}:{want['line']}")
        for doc in data["documents"]
        for want in doc["causes"]
    ]


def test_corpus_has_markdown() -> None:
    assert DOCUMENTS, f"no *.md under {CORPUS}"


@pytest.mark.parametrize("doc", DOCUMENTS, ids=lambda p: str(p.relative_to(CORPUS)))
def test_document_ingests_and_cites_its_own_lines(doc: Path) -> None:
    kb = _compile(doc)
    assert [m.id for m in kb.manuals] == [doc.stem]
    n_lines = len(doc.read_text(encoding="utf-8").splitlines())
    for name in RECORD_TYPES:
        for r in getattr(kb, name):
            src = r.source
            assert Path(src.path).resolve() == doc.resolve(), f"{name} {r.id} cites {src.path}"
            assert 1 <= src.line_start <= src.line_end <= n_lines, f"{name} {r.id}: {src}"


def test_whole_corpus_compiles_into_one_kb() -> None:
    kb = compile_paths([CORPUS])
    check_unique_ids(kb)
    assert len(kb.manuals) == len(DOCUMENTS)


@pytest.mark.parametrize(("path", "want"), _expected())
def test_stated_cause_is_extracted_with_evidence(path: str, want: dict[str, Any]) -> None:
    doc = CORPUS / path
    if not doc.is_file():
        pytest.skip(f"{doc} not in this corpus")
    kb = _compile(doc)
    titles = [c.title for c in kb.causes]
    causes = [c for c in kb.causes if want["cause"].lower() in c.title.lower()]
    assert causes, f"no cause titled like {want['cause']!r} in {titles}"
    found = [
        (c, e)
        for c in causes
        for e in kb.evidence
        if e.cause == c.id
        and want["evidence"].lower() in e.text.lower()
        and e.source.line_start <= want["line"] <= e.source.line_end
    ]
    evidence = [(e.cause, e.text, e.source.line_start, e.source.line_end) for e in kb.evidence]
    assert found, f"no evidence like {want['evidence']!r} at line {want['line']}: {evidence}"
    if "remedy" in want:
        remedies = [c.remedy for c, _e in found]
        assert any(want["remedy"].lower() in r.lower() for r in remedies), remedies
