"""Curated knowledge (kb/curated/*.yaml): lexicon, priors, step costs and rules no
extractor can find in the text. Every record is validated on load; a record of
the wrong shape fails with ``file:line: what was expected``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kb.errors import CuratedError

CURATED_DIR = Path(__file__).parent / "curated"


@dataclass(frozen=True)
class Node:
    """A YAML value with the line it starts on."""

    value: Any
    line: int
    path: str

    def fail(self, message: str) -> CuratedError:
        return CuratedError(self.path, self.line, message)

    def get(self, key: str, kind: type | tuple[type, ...], required: bool = True) -> Any:
        if not isinstance(self.value, dict):
            raise self.fail(f"expected a mapping with key {key!r}")
        if key not in self.value:
            if required:
                raise self.fail(f"expected key {key!r}")
            return None
        node: Node = self.value[key]
        if not isinstance(node.value, kind):
            names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            raise node.fail(f"expected {key!r} to be {names}, found {type(node.value).__name__}")
        return node.value

    def node(self, key: str) -> Node:
        assert isinstance(self.value, dict)
        n: Node = self.value[key]
        return n

    def strings(self, key: str, required: bool = True) -> tuple[str, ...]:
        items = self.get(key, list, required)
        if items is None:
            return ()
        out: list[str] = []
        for item in items:
            if not isinstance(item.value, str) or not item.value.strip():
                raise item.fail(f"expected {key!r} to hold non-empty strings")
            out.append(item.value)
        return tuple(out)

    def text(self, key: str, required: bool = True) -> str:
        value = self.get(key, str, required)
        return "" if value is None else str(value)

    def number(self, key: str, required: bool = True) -> float | None:
        value = self.get(key, (int, float), required)
        return None if value is None else float(value)


def _wrap(node: yaml.Node, path: str, scalars: yaml.constructor.SafeConstructor) -> Node:
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Node] = {}
        for k, v in node.value:
            out[str(scalars.construct_object(k, deep=True))] = _wrap(v, path, scalars)
        return Node(out, line, path)
    if isinstance(node, yaml.SequenceNode):
        return Node([_wrap(v, path, scalars) for v in node.value], line, path)
    return Node(scalars.construct_object(node, deep=True), line, path)


def _compose(text: str) -> yaml.Node | None:
    """The YAML node tree; with libyaml when there is one (the same nodes, several
    times faster), a document it refuses read again by PyYAML for the message."""
    if yaml.__with_libyaml__:
        try:
            node: yaml.Node | None = yaml.compose(text, Loader=yaml.CSafeLoader)
            return node
        except yaml.YAMLError:
            pass
    return yaml.compose(text)


def load_yaml(path: Path, display: str | None = None) -> Node:
    shown = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        line = path.read_bytes()[: e.start].count(b"\n") + 1
        raise CuratedError(shown, line, "expected UTF-8 text") from None
    except OSError as e:
        raise CuratedError(shown, 1, f"cannot read file: {e.strerror}") from None
    try:
        root = _compose(text)
    except yaml.MarkedYAMLError as e:
        # an unclosed quote is reported at the end of the file: the context mark
        # (where the scalar started) is the line the writer has to fix
        mark = e.context_mark or e.problem_mark
        line = mark.line + 1 if mark else 1
        raise CuratedError(shown, line, f"expected valid YAML ({e.problem})") from None
    if root is None:
        return Node([], 1, shown)
    return _wrap(root, shown, yaml.constructor.SafeConstructor())


def records(root: Node, key: str) -> list[Node]:
    """The list under ``key`` of a top-level mapping (each item a mapping)."""
    if not isinstance(root.value, dict):
        raise root.fail(f"expected a mapping with a {key!r} list")
    if key not in root.value:
        return []
    lst = root.value[key]
    if not isinstance(lst.value, list):
        raise lst.fail(f"expected {key!r} to be a list")
    for item in lst.value:
        if not isinstance(item.value, dict):
            raise item.fail(f"expected each {key!r} entry to be a mapping")
    return list(lst.value)
