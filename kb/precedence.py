"""The dependency graph of procedure steps: which step must be done before which.

Edges are preconditions: a step before every step that ``requires`` it (the lockout
before the work inside the cabinet), and in each manual every step before its
restore steps (which remove the lockout) and those before its verification.

Compiling checks the graph with networkx (a cycle is an error naming its steps);
the engine walks it with the small pure functions below, over a frozen adjacency
(:class:`Precedence`), so a diagnosis does not load networkx.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from kb.errors import KBError
from kb.schema import KnowledgeBase, Step, StepKind

if TYPE_CHECKING:
    import networkx as nx
    from _typeshed import SupportsRichComparison

    K = TypeVar("K", bound=SupportsRichComparison)
else:
    K = TypeVar("K")

# The order of work by step kind: nobody is dispatched before the remote steps are
# done, nothing is opened or mended before what can be seen or measured from
# outside, the lockout comes right before the work it guards, restore and
# verification last. A repair goes with the cabinet work: when the manual does not
# say whether it needs the lockout, it is done under it rather than before it.
# "automatic" steps (what the equipment does by itself) are waited for first.
STAGES: dict[StepKind, int] = {
    "automatic": 0,
    "remote": 0,
    "inspection": 1,
    "measurement": 1,
    "lockout": 2,
    "cabinet": 3,
    "repair": 3,
    "restore": 4,
    "verification": 5,
}
CLOSING: frozenset[StepKind] = frozenset({"restore", "verification"})


def stage(step: Step) -> int:
    """The stage of a step: its kind's, and a step that works under the lockout is
    cabinet work whatever its kind."""
    if step.requires_lockout and step.kind not in ("lockout", *CLOSING):
        return max(STAGES[step.kind], STAGES["cabinet"])
    return STAGES[step.kind]


def closing(step: Step) -> bool:
    """Restore and verification: done after the work, never a test or a fix."""
    return step.kind in CLOSING


def edges(kb: KnowledgeBase) -> Iterator[tuple[str, str]]:
    """The precedence edges ``(before, after)`` of the knowledge base's steps."""
    ids = {s.id for s in kb.steps}
    by_manual: dict[str, list[Step]] = {}
    for s in kb.steps:
        by_manual.setdefault(s.manual, []).append(s)
        for r in s.requires:
            if r not in ids:
                raise KBError(f"{s.source.cite()}: step {s.id} requires unknown step {r}")
            yield r, s.id
    for steps in by_manual.values():
        for v in steps:
            if closing(v):
                for s in steps:
                    if s.id != v.id and STAGES[s.kind] < STAGES[v.kind]:
                        yield s.id, v.id


@dataclass(frozen=True)
class Precedence:
    """A step graph as adjacency: ``before[v]`` the steps directly before ``v``,
    ``after[u]`` those directly after ``u``; every step is a key of both."""

    before: Mapping[str, tuple[str, ...]]
    after: Mapping[str, tuple[str, ...]]

    @classmethod
    def of_edges(cls, nodes: Collection[str], pairs: Collection[tuple[str, str]]) -> Precedence:
        """
        >>> g = Precedence.of_edges(["a", "b"], [("a", "b")])
        >>> g.before["b"], g.after["a"], g.before["a"]
        (('a',), ('b',), ())
        """
        before: dict[str, dict[str, None]] = {n: {} for n in nodes}
        after: dict[str, dict[str, None]] = {n: {} for n in nodes}
        for u, v in pairs:
            before.setdefault(v, {})[u] = None
            after.setdefault(u, {})[v] = None
            before.setdefault(u, {})
            after.setdefault(v, {})
        return cls(
            {n: tuple(p) for n, p in before.items()}, {n: tuple(s) for n, s in after.items()}
        )

    @classmethod
    def of(cls, kb: KnowledgeBase) -> Precedence:
        g = cls.of_edges([s.id for s in kb.steps], list(edges(kb)))
        order(g, g.before, lambda n: (0, n))  # a cycle is an error, here and not mid-query
        return g


def _reach(step: str, adjacent: Mapping[str, tuple[str, ...]]) -> set[str]:
    seen: set[str] = set()
    todo = list(adjacent[step])
    while todo:
        n = todo.pop()
        if n not in seen:
            seen.add(n)
            todo.extend(adjacent[n])
    return seen


def ancestors(g: Precedence, step: str) -> set[str]:
    """Every step that must be done before ``step``.

    >>> g = Precedence.of_edges("abcd", [("a", "b"), ("b", "c"), ("d", "c")])
    >>> sorted(ancestors(g, "c")), sorted(ancestors(g, "a"))
    (['a', 'b', 'd'], [])
    """
    return _reach(step, g.before)


def descendants(g: Precedence, step: str, within: Collection[str]) -> set[str]:
    """The steps of ``within`` that come after ``step`` through steps of ``within``.

    >>> g = Precedence.of_edges("abc", [("a", "b"), ("b", "c")])
    >>> sorted(descendants(g, "a", "abc")), sorted(descendants(g, "a", "ac"))
    (['b', 'c'], [])
    """
    seen: set[str] = set()
    todo = [s for s in g.after[step] if s in within]
    while todo:
        n = todo.pop()
        if n not in seen:
            seen.add(n)
            todo.extend(s for s in g.after[n] if s in within)
    return seen


def order(g: Precedence, steps: Collection[str], key: Callable[[str], K]) -> list[str]:
    """The steps of ``steps`` in an order the edges among them allow, the least
    ``key`` first whenever there is a choice (a lexicographical topological sort).

    >>> g = Precedence.of_edges(["loto", "sim", "portal", "look"], [("loto", "sim")])
    >>> rank = {"loto": (2, -1.0), "sim": (3, -1.0), "portal": (0, 0.0), "look": (1, -0.5)}
    >>> order(g, list(rank), lambda s: (*rank[s], s))
    ['portal', 'look', 'loto', 'sim']
    >>> order(Precedence.of_edges("ab", [("a", "b"), ("b", "a")]), "ab", str)
    Traceback (most recent call last):
    kb.errors.KBError: step precedence has a cycle among: a, b
    """
    inside = set(steps)
    waiting = {s: sum(p in inside for p in g.before[s]) for s in inside}
    ready = [(key(s), s) for s, n in waiting.items() if n == 0]
    heapq.heapify(ready)
    out: list[str] = []
    while ready:
        _k, s = heapq.heappop(ready)
        out.append(s)
        for n in g.after[s]:
            if n in inside:
                waiting[n] -= 1
                if waiting[n] == 0:
                    heapq.heappush(ready, (key(n), n))
    if len(out) < len(inside):
        left = sorted(inside.difference(out))
        raise KBError(f"step precedence has a cycle among: {', '.join(left)}")
    return out


def step_graph(kb: KnowledgeBase) -> nx.DiGraph[str]:
    """The step graph as a networkx DiGraph, checked: a cycle is an error naming
    its steps in order (compiling a knowledge base calls this)."""
    import networkx as nx

    g: nx.DiGraph[str] = nx.DiGraph()
    for s in kb.steps:
        g.add_node(s.id, step=s)
    g.add_edges_from(edges(kb))
    try:
        cycle = nx.find_cycle(g)
    except nx.NetworkXNoCycle:
        return g
    names = " -> ".join(str(u) for u, _v in cycle) + f" -> {cycle[0][0]}"
    raise KBError(f"step precedence has a cycle: {names}")
