from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import evkb


def test_ingest_then_export_round_trips_json(tmp_path: Path) -> None:
    kb = tmp_path / "kb.json"
    r = evkb("ingest", "--kb", str(kb))
    assert r.returncode == 0, r.stderr
    assert "ingested manuals/chargepoint-ct4000-cable-retractor.md" in r.stderr
    out = evkb("kb", "export", "--kb", str(kb))
    data = json.loads(out.stdout)
    assert {m["id"] for m in data["manuals"]} == {
        "chargepoint-ct4000-cable-retractor",
        "chargepoint-ct4000-lte-module",
        "j1772-stuck-release-button",
        "station-error-codes",
    }
