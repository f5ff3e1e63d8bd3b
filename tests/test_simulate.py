"""The fault simulator's figures obey their definitions: nothing beats perfect
information, and the planned order never does worse than the manual's here."""

from __future__ import annotations

from evkb import api
from kb.schema import KnowledgeBase


def test_simulator_bounds(seed_kb: KnowledgeBase) -> None:
    results = api.simulate(seed_kb, trials=400, seed=7)
    assert {r.partition for r in results} == {"CP-ERR-RET", "CP-ERR-WIFI"}
    for r in results:
        assert 0 < r.perfect <= r.planned + 1e-9
        assert r.perfect <= r.manual + 1e-9
        assert r.planned <= r.manual + 1e-9, r
