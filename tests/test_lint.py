"""`evkb manual lint`: the seed manuals' real gaps (tools used but not listed) are
found and nothing else is an error; a broken manual gets its errors at the right
lines and exit status 1."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from ingest.lint import lint_paths
from tests.conftest import FIXTURES, ROOT

EXPECTED: dict[str, Any] = yaml.safe_load((FIXTURES / "lint" / "expected.yaml").read_text())


def expect(findings: list[Any], wanted: list[dict[str, Any]], path: str) -> None:
    for w in wanted:
        assert any(
            f.line == w["line"]
            and f.severity == w["severity"]
            and f.check == w["check"]
            and w["says"] in f.message
            and f.path.endswith(path)
            for f in findings
        ), (w, [str(f) for f in findings])


@pytest.mark.parametrize("name", sorted(EXPECTED["manuals"]))
def test_seed_manual_findings(name: str) -> None:
    findings = lint_paths([ROOT / "manuals" / name])
    expect(findings, EXPECTED["manuals"][name], name)
    assert not [f for f in findings if f.severity == "error"]


@pytest.mark.parametrize("name", sorted(EXPECTED["fixtures"]))
def test_broken_manual_findings(name: str) -> None:
    findings = lint_paths([FIXTURES / "lint" / name])
    expect(findings, EXPECTED["fixtures"][name], name)


def test_cli_exit_status(tmp_path: Path) -> None:
    ok = subprocess.run(
        [sys.executable, "-m", "evkb.cli", "manual", "lint"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "manuals/chargepoint-ct4000-cable-retractor.md:90: warning:" in ok.stdout
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "evkb.cli",
            "manual",
            "lint",
            str(FIXTURES / "lint" / "unsafe-contactor.md"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 1
    assert "3 error(s)" in bad.stderr
