"""The fault simulator's figures obey their definitions: perfect information is a
lower bound, the optimum is the least expected minutes of any strategy (checked
against brute force over every step order on generated models), no strategy beats
it, and the sampled means agree with the exact sums."""

from __future__ import annotations

import doctest
import itertools
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import simulate as sim
from evkb import api
from kb.schema import KnowledgeBase
from tests.conftest import evkb


def test_doctests() -> None:
    result = doctest.testmod(sim, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 10 and result.failed == 0


def test_seed_codes_obey_the_bounds(seed_kb: KnowledgeBase) -> None:
    results = api.simulate(seed_kb)
    assert {r.code for r in results} == {"CP-ERR-RET", "CP-ERR-WIFI"}
    for r in results:
        assert 0 < r.perfect <= r.optimal + 1e-9, r
        for strategy in (r.evkb, r.manual, r.greedy):
            assert r.optimal <= strategy + 1e-9, r


def test_sampled_means_agree_with_the_exact_sums(seed_kb: KnowledgeBase) -> None:
    exact = {r.code: r for r in api.simulate(seed_kb)}
    for r in api.simulate(seed_kb, trials=4000, seed=3):
        e = exact[r.code]
        assert r.trials == 4000 and r.optimal == e.optimal
        for got, want in ((r.evkb, e.evkb), (r.manual, e.manual), (r.perfect, e.perfect)):
            assert abs(got - want) <= 0.05 * want, (r, e)


def test_cli_json_has_every_figure(seed_kb_file: Path) -> None:
    done = evkb("simulate", "--json", "--kb", str(seed_kb_file))
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert [set(r) for r in rows] == [{"code", "optimal", "evkb", "manual", "perfect"}] * len(rows)
    assert {r["code"] for r in rows} == {"CP-ERR-RET", "CP-ERR-WIFI"}
    for r in rows:
        assert r["perfect"] <= r["optimal"] <= min(r["evkb"], r["manual"])


# ------------------------------------------------------------------ the optimum is exact


@st.composite
def fault_models(draw: st.DrawFn) -> sim.FaultModel:
    """Small fault models: up to 5 steps (prerequisites among earlier steps only, so
    precedence is acyclic), up to 5 causes each tested or fixed by some step."""
    steps = [f"s{i}" for i in range(draw(st.integers(1, 5)))]
    minutes = {s: draw(st.integers(1, 40)) for s in steps}
    requires = {
        s: draw(st.lists(st.sampled_from(steps[:i]), max_size=2, unique=True)) if i else []
        for i, s in enumerate(steps)
    }
    causes = [f"c{i}" for i in range(draw(st.integers(1, 5)))]
    prior = {c: draw(st.integers(1, 9)) for c in causes}
    tests: dict[str, list[str]] = {}
    fixes: dict[str, list[str]] = {}
    for c in causes:
        tests[c] = draw(st.lists(st.sampled_from(steps), max_size=2, unique=True))
        fixes[c] = draw(
            st.lists(st.sampled_from(steps), min_size=0 if tests[c] else 1, max_size=2, unique=True)
        )
    verify = draw(st.integers(0, 20))
    return sim.model(
        "E", prior, minutes, tests=tests, fixes=fixes, requires=requires, verify=verify
    )


def brute_force(m: sim.FaultModel) -> float:
    """The least expected minutes over every order of the steps. A strategy only
    goes on while every step says no, so it is an order of the steps."""

    def in_order(order: tuple[str, ...]) -> sim.Policy:
        return lambda _m, done, _left: next((s for s in order if s not in done), None)

    def cost(order: tuple[str, ...]) -> float:
        policy = in_order(order)
        return sim.expected(m, lambda c: sim.run(m, policy, c))

    return min(cost(order) for order in itertools.permutations(m.order))


@settings(max_examples=150, deadline=None)
@given(fault_models())
def test_optimum_is_the_best_order(m: sim.FaultModel) -> None:
    best = sim.optimal(m)
    assert best == pytest.approx(brute_force(m), abs=1e-9)
    assert sim.expected(m, lambda c: sim.perfect(m, c)) <= best + 1e-9
    assert best <= sim.expected(m, lambda c: sim.run(m, sim.greedy, c)) + 1e-9
    # following the optimum's own main line costs what it promises
    path = sim.optimal_path(m)
    follow = sim.expected(
        m, lambda c: sim.run(m, lambda _m, d, _l: next((s for s in path if s not in d), None), c)
    )
    assert follow == pytest.approx(best, abs=1e-9)
