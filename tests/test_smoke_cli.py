"""`evkb ingest` then `evkb kb export`, as a user runs them: one progress line per
manual, and the export is the knowledge base that was compiled, whole: read back
into records and exported again it is the same JSON, and it equals what compiling
the manuals in process gives."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ingest.pipeline import compile_paths
from kb.schema import kb_from_json, kb_to_json
from tests.conftest import ROOT, evkb


def test_ingest_then_export_round_trips_json(tmp_path: Path) -> None:
    kb = tmp_path / "kb.json"
    r = evkb("ingest", "--kb", str(kb))
    assert r.returncode == 0, r.stderr
    manuals = sorted((ROOT / "manuals").glob("*.md"))
    for m in manuals:
        assert f"ingested manuals/{m.name}" in r.stderr, r.stderr
    out = evkb("kb", "export", "--kb", str(kb))
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert len(data["manuals"]) == len(manuals)
    assert sorted(m["source"]["path"] for m in data["manuals"]) == [
        f"manuals/{m.name}" for m in manuals
    ]
    # nothing lost or changed on the way through the file and back out
    assert kb_to_json(kb_from_json(data)) == data
    old = os.getcwd()
    os.chdir(ROOT)
    try:
        compiled = compile_paths([ROOT / "manuals"])
    finally:
        os.chdir(old)
    assert json.loads(json.dumps(kb_to_json(compiled))) == data
    # and exporting the same file again prints the same
    assert evkb("kb", "export", "--kb", str(kb)).stdout == out.stdout
