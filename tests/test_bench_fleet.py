"""The fleet benchmark (bench/fleet.py) at a small size: every station stays
connected, every fault opens exactly one work order with a diagnosis, and repeats
(through the other process when there are two) are noted on it. No speed is
asserted; the figures are in bench/README.md."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench import fleet

SMALL: dict[str, Any] = {"stations": 30, "faults": 6, "every": 1.0, "hold": 2.0}


def _no_fault_lost_or_duplicated(r: dict[str, Any]) -> None:
    assert (r["held"], r["booted"]) == (r["stations"], r["stations"]), r["errors"]
    assert r["heartbeats"] > 0 and r["heartbeats_failed"] == 0
    assert r["fault_answered"] == r["repeat_answered"] == r["faults"]
    assert (r["orders"], r["lost"], r["duplicated"]) == (r["faults"], 0, 0)
    assert r["repeat_noted"] == r["diagnosed"] == r["faults"]
    assert r["rss_fleet_mb"] > 0
    assert "|" in fleet.render([r])


def test_one_process_on_sqlite(tmp_path: Path) -> None:
    _no_fault_lost_or_duplicated(
        fleet.run(tmp_path, processes=1, progress=lambda _m: None, **SMALL)
    )


def test_two_processes_sharing_postgresql(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("postgres_url")
    r = fleet.run(tmp_path, processes=2, postgres=url, progress=lambda _m: None, **SMALL)
    assert (r["processes"], r["database"]) == (2, "postgresql")
    _no_fault_lost_or_duplicated(r)
