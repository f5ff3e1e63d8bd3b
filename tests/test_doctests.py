"""The examples in the modules' docstrings hold (networkx-style doctests of the
small pure functions: roles, identifiers, statements, values, items, codes, the
step graph)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "ingest.roles",
    "ingest.identifiers",
    "ingest.statements",
    "ingest.values",
    "ingest.items",
    "ingest.pipeline",
    "ingest.steps_kind",
    "ingest.link",
    "engine.agenda",
    "engine.codes",
    "engine.score",
    "engine.facts",
    "engine.outcomes",
    "engine.questions",
    "engine.readings",
    "engine.observe",
    "kb.text",
    "kb.precedence",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
