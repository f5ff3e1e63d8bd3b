"""Nothing depends on a manual's file name: every manual renamed (with the
knowledge file beside it) gives the same knowledge base apart from ids and paths,
and the same diagnosis for every evaluation case."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from engine.diagnose import Diagnoser
from ingest.pipeline import compile_paths
from ingest.sidecar import SUFFIX
from kb.schema import KnowledgeBase, kb_to_json
from tests.conftest import FIXTURES, ROOT, SHARED
from tests.test_diagnosis_cases import load_cases

CASE_FILES = [
    SHARED / "eval" / "dev_cases.yaml",
    FIXTURES / "paraphrases.yaml",
    FIXTURES / "holdout.yaml",
]


def _renamed(tmp: Path) -> dict[str, str]:
    """manuals/ copied to ``tmp`` under other names; returns new id -> old id."""
    mapping: dict[str, str] = {}
    for n, md in enumerate(sorted((ROOT / "manuals").glob("*.md"))):
        new = f"renamed-manual-{chr(ord('a') + n)}"
        mapping[new] = md.stem
        shutil.copy(md, tmp / f"{new}.md")
        side = md.with_name(md.stem + SUFFIX)
        if side.exists():
            shutil.copy(side, tmp / f"{new}{SUFFIX}")
    return mapping


def _plain(kb: KnowledgeBase, mapping: dict[str, str]) -> Any:
    """The export with the renamed ids put back and file paths dropped."""
    text = json.dumps(kb_to_json(kb, curated=True), sort_keys=True, ensure_ascii=False)
    for new, old in mapping.items():
        text = re.sub(rf"\b{re.escape(new)}\b", old, text)
    data = json.loads(text)

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in ("path", "defined_at")}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return strip(data)


@pytest.fixture(scope="module")
def both(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[KnowledgeBase, KnowledgeBase, dict[str, str]]:
    tmp = tmp_path_factory.mktemp("renamed")
    mapping = _renamed(tmp)
    return compile_paths([ROOT / "manuals"]), compile_paths([tmp]), mapping


def test_renamed_manuals_give_the_same_knowledge(
    both: tuple[KnowledgeBase, KnowledgeBase, dict[str, str]],
) -> None:
    original, renamed, mapping = both
    assert {m.id for m in renamed.manuals} == set(mapping)
    a, b = _plain(original, {}), _plain(renamed, mapping)
    for kind in a:
        assert a[kind] == b[kind], kind


@pytest.mark.parametrize("cases", CASE_FILES, ids=lambda p: p.name)
def test_renamed_manuals_give_the_same_diagnoses(
    both: tuple[KnowledgeBase, KnowledgeBase, dict[str, str]], cases: Path
) -> None:
    data = load_cases(cases)
    if not data:
        pytest.skip(f"{cases} not present")
    original, renamed, _mapping = both
    d1, d2 = Diagnoser(original), Diagnoser(renamed)
    for case in data:
        r1 = d1.diagnose(case["text"], error=case.get("error"))
        r2 = d2.diagnose(case["text"], error=case.get("error"))
        first = [(rc.cause.title, round(rc.confidence, 6)) for rc in r1.causes]
        second = [(rc.cause.title, round(rc.confidence, 6)) for rc in r2.causes]
        assert first == second, case["id"]


def test_curated_vocabulary_and_code_name_no_manual() -> None:
    """kb/curated holds general field vocabulary, and Python code and templates hold
    no knowledge of particular documents: no manual's id (file name) appears there."""
    from kb.curated import CURATED_DIR

    ids = {p.stem for p in (ROOT / "manuals").glob("*.md")}
    corpus = SHARED / "corpus"
    if corpus.is_dir():
        # names made of several words ("ccs32clara-user-manual"), not a plain word
        # such as "troubleshooting" or "FAQ"
        ids |= {p.stem for p in corpus.rglob("*.md") if "-" in p.stem or "_" in p.stem}
    places = [*CURATED_DIR.glob("*.yaml"), *(ROOT / "templates").rglob("*.j2")]
    for pkg in ("kb", "ingest", "engine", "evkb"):
        places += list((ROOT / pkg).rglob("*.py"))
    found = [
        f"{p.relative_to(ROOT)} names {i}"
        for p in places
        for i in sorted(ids)
        if i.lower() in p.read_text(encoding="utf-8").lower()
    ]
    assert not found, found
