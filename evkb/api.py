"""The one API the CLI (and later the web service) adapts: no business logic here,
only wiring of ingest, kb and engine."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from kb import store
from kb.schema import KnowledgeBase, kb_to_json


def build(paths: Sequence[Path], kb_path: Path,
          progress: Callable[[str], None] | None = None) -> KnowledgeBase:
    """Compile manuals into ``kb_path``. On any error nothing is written and the
    previous knowledge base stays as it was."""
    from ingest.pipeline import check_unique_ids, compile_paths

    kb = compile_paths(paths, progress=progress)
    check_unique_ids(kb)
    store.save(kb, kb_path)
    return kb


def load(kb_path: Path) -> KnowledgeBase:
    return store.load(kb_path)


def export(kb: KnowledgeBase) -> dict[str, Any]:
    return kb_to_json(kb)


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)
