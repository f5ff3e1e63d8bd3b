"""`evkb manual render` round trip, for every manual: render the knowledge base to
DIR, ingest DIR into a second knowledge base, export both: they are equal apart
from `source` (line numbers). Also: the source manuals are never overwritten."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, evkb


def strip_source(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: strip_source(v) for k, v in value.items() if k != "source"}
    if isinstance(value, list):
        return [strip_source(v) for v in value]
    return value


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("render")
    first, second, out = tmp / "first.json", tmp / "second.json", tmp / "manuals"
    assert evkb("ingest", "-q", "--kb", str(first)).returncode == 0
    r = evkb("manual", "render", "--out", str(out), "--kb", str(first))
    assert r.returncode == 0, r.stderr
    # every manual, and the knowledge kept beside it
    assert sorted(p.name for p in out.iterdir()) == sorted(
        p.name for p in (ROOT / "manuals").iterdir() if p.suffix in (".md", ".yaml")
    )
    r = evkb("ingest", "-q", str(out), "--kb", str(second))
    assert r.returncode == 0, r.stderr
    a = json.loads(evkb("kb", "export", "--kb", str(first)).stdout)
    b = json.loads(evkb("kb", "export", "--kb", str(second)).stdout)
    return a, b


@pytest.mark.parametrize("manual", sorted(p.stem for p in (ROOT / "manuals").glob("*.md")))
def test_round_trip_per_manual(exports: tuple[dict[str, Any], dict[str, Any]], manual: str) -> None:
    a, b = exports
    for kind in a:
        mine = [
            strip_source(r)
            for r in a[kind]
            if r.get("manual", r["id"]) == manual or r["id"].startswith(manual + "/")
        ]
        theirs = [
            strip_source(r)
            for r in b[kind]
            if r.get("manual", r["id"]) == manual or r["id"].startswith(manual + "/")
        ]
        assert mine == theirs, kind


def test_whole_export_equal_apart_from_source(
    exports: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    a, b = exports
    assert strip_source(a) == strip_source(b)


def test_render_refuses_to_overwrite_sources(tmp_path: Path) -> None:
    kb = tmp_path / "kb.json"
    assert evkb("ingest", "-q", "--kb", str(kb)).returncode == 0
    before = {p: p.read_bytes() for p in (ROOT / "manuals").glob("*.md")}
    r = evkb("manual", "render", "--out", str(ROOT / "manuals"), "--kb", str(kb))
    assert r.returncode == 1 and "refusing to overwrite" in r.stderr
    assert before == {p: p.read_bytes() for p in (ROOT / "manuals").glob("*.md")}


CORPUS = ROOT.parent / "shared" / "corpus"


@pytest.mark.skipif(not CORPUS.exists(), reason="no third-party corpus beside the project")
def test_round_trip_on_documents_nobody_here_wrote(tmp_path: Path) -> None:
    first, second, out = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "out"
    assert evkb("ingest", "-q", str(CORPUS), "--kb", str(first)).returncode == 0
    assert evkb("manual", "render", "--out", str(out), "--kb", str(first)).returncode == 0
    assert evkb("ingest", "-q", str(out), "--kb", str(second)).returncode == 0
    a = json.loads(evkb("kb", "export", "--kb", str(first)).stdout)
    b = json.loads(evkb("kb", "export", "--kb", str(second)).stdout)
    for kind in a:  # compare by id: only source paths and lines may differ
        assert sorted(map(json.dumps, strip_source(a[kind]))) == sorted(
            map(json.dumps, strip_source(b[kind]))
        ), kind
