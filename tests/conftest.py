from __future__ import annotations

from pathlib import Path

import pytest

from kb.schema import KnowledgeBase

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def seed_kb() -> KnowledgeBase:
    """The knowledge base compiled from manuals/ (in memory, nothing written)."""
    import os

    from ingest.pipeline import compile_paths

    old = os.getcwd()
    os.chdir(ROOT)
    try:
        return compile_paths([ROOT / "manuals"])
    finally:
        os.chdir(old)
