from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "evkb.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_ingest_then_export_round_trips_json(tmp_path: Path) -> None:
    kb = tmp_path / "kb.json"
    r = run("ingest", "--kb", str(kb))
    assert r.returncode == 0, r.stderr
    assert "ingested manuals/chargepoint-ct4000-cable-retractor.md" in r.stderr
    out = run("kb", "export", "--kb", str(kb))
    data = json.loads(out.stdout)
    assert {m["id"] for m in data["manuals"]} == {
        "chargepoint-ct4000-cable-retractor",
        "chargepoint-ct4000-lte-module",
        "j1772-stuck-release-button",
    }
