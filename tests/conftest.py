from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

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


def export_with_cli(paths: list[str], kb_file: Path) -> str:
    """``evkb ingest PATHS --kb KB_FILE`` then ``evkb kb export --kb KB_FILE``, run
    from the project root as a user would; returns the export exactly as printed."""

    def evkb(*args: str) -> str:
        r = subprocess.run(
            [sys.executable, "-m", "evkb.cli", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert r.returncode == 0, f"evkb {' '.join(args)} exited {r.returncode}:\n{r.stderr}"
        return r.stdout

    evkb("ingest", "--quiet", "--kb", str(kb_file), *paths)
    return evkb("kb", "export", "--kb", str(kb_file))


@pytest.fixture(scope="session")
def seed_export_text(tmp_path_factory: pytest.TempPathFactory) -> str:
    """``evkb kb export`` of the seed manuals (manuals/), as printed."""
    return export_with_cli(["manuals"], tmp_path_factory.mktemp("seed") / "kb.json")


@pytest.fixture(scope="session")
def seed_export(seed_export_text: str) -> dict[str, Any]:
    data = json.loads(seed_export_text)
    assert isinstance(data, dict)
    return data


def evkb(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run the evkb CLI as a user would, from the project root."""
    return subprocess.run(
        [sys.executable, "-m", "evkb.cli", *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )
