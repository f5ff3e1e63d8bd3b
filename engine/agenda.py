"""The agenda strategy of evkb's experta engines: experta's depth strategy (highest
salience first, then the activation of the most recent facts), with the agenda kept
by key so an update costs a binary search, not a comparison of facts.

experta's ``DepthStrategy`` caches each activation's key with ``lru_cache`` (an
activation's hash and equality compare its facts and their bindings field by
field) and finds a removed activation by full equality; on the seed knowledge base
that was a third of a diagnosis. Here the key is computed once per activation
(salience, fact ids newest first) and a removed activation is found among the
activations with its key and its rule, so the order in which rules fire is the
same as experta's.

>>> from experta import Fact, KnowledgeEngine, Rule
>>> class E(KnowledgeEngine):
...     __strategy__ = DepthStrategy
...     fired: list[str] = []
...     @Rule(Fact(n=1), salience=1)
...     def first(self) -> None:
...         self.fired.append("salience 1")
...     @Rule(Fact(n=1))
...     def second(self) -> None:
...         self.fired.append("salience 0")
>>> e = E(); e.reset(); _ = e.declare(Fact(n=1)); e.run(); e.fired
['salience 1', 'salience 0']
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from typing import Any

from experta.abstract import Strategy
from experta.activation import Activation
from experta.agenda import Agenda


def key(act: Activation) -> tuple[int, tuple[int, ...]]:
    """experta's depth order: salience, then the activation's fact ids, newest
    first (the agenda runs from its end, so the greatest key fires next)."""
    facts = sorted((f["__factid__"] for f in act.facts), reverse=True)
    return (act.rule.salience, tuple(facts))


def _same(a: Activation, b: Activation) -> bool:
    """Two activations of one rule over the same facts (their keys are equal)."""
    same: bool = (a.rule is b.rule or a.rule == b.rule) and a.context == b.context
    return same


class DepthStrategy(Strategy):  # type: ignore[misc]  # experta is untyped
    def _update_agenda(
        self, agenda: Agenda, added: Iterable[Activation], removed: Iterable[Activation]
    ) -> None:
        acts: list[Any] = agenda.activations
        for act in removed:
            k = act.key = key(act)
            i = bisect.bisect_left(acts, k, key=_key_of)
            while i < len(acts) and acts[i].key == k:
                if _same(acts[i], act):
                    del acts[i]
                    break
                i += 1
        for act in added:
            k = act.key = key(act)
            acts.insert(bisect.bisect_right(acts, k, key=_key_of), act)


def _key_of(act: Activation) -> tuple[int, tuple[int, ...]]:
    k: tuple[int, tuple[int, ...]] = act.key
    return k
