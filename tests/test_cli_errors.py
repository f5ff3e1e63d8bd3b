"""Every command answers bad input with a clear message and exit status, writes
nothing, and never shows a traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import FIXTURES, evkb

CASES: list[dict[str, Any]] = yaml.safe_load((FIXTURES / "cli_errors.yaml").read_text())


@pytest.mark.parametrize("case", CASES, ids=lambda c: " ".join(c["args"])[:40])
def test_bad_invocation(case: dict[str, Any], tmp_path: Path) -> None:
    kb, out = tmp_path / "missing.json", tmp_path / "rendered"
    args = [a.replace("{kb}", str(kb)).replace("{out}", str(out)) for a in case["args"]]
    r = evkb(*args)
    assert r.returncode == case["exit"], r.stderr
    assert case["says"] in r.stderr
    assert "Traceback" not in r.stderr
    assert not kb.exists() and not out.exists(), "a failed command must write nothing"
