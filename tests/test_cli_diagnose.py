"""The machine interface of DESIGN.md: `evkb diagnose --json`, `--jsonl`, and the
readable table and `--why-not` for people."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.conftest import evkb as run_evkb


def evkb(*args: str, stdin: str | None = None, kb: Path) -> subprocess.CompletedProcess[str]:
    return run_evkb(*args, "--kb", str(kb), stdin=stdin)


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("kb") / "kb.json"
    r = subprocess.run(
        [sys.executable, "-m", "evkb.cli", "ingest", "-q", "--kb", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    return path


def check_shape(out: dict[str, object]) -> None:
    assert set(out) >= {"causes", "procedure", "parts", "tools", "questions"}
    for c in out["causes"]:  # type: ignore[attr-defined]
        assert {"id", "title", "confidence", "evidence", "sources"} <= set(c)
        assert 0.0 <= c["confidence"] <= 1.0
        assert all({"path", "line"} <= set(s) for s in c["sources"])
    for s in out["procedure"]:  # type: ignore[attr-defined]
        assert {"id", "title", "minutes", "requires_lockout"} <= set(s)
    for p in out["parts"]:  # type: ignore[attr-defined]
        assert {"name", "variant"} <= set(p)
    for q in out["questions"]:  # type: ignore[attr-defined]
        assert {"text", "separates"} <= set(q)


def test_diagnose_json(kb: Path) -> None:
    r = evkb("diagnose", "--json", "--error", "CP-ERR-RET", "cable hangs loose", kb=kb)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    check_shape(out)
    assert "spring" in out["causes"][0]["title"].lower()
    confs = [c["confidence"] for c in out["causes"]]
    assert confs == sorted(confs, reverse=True)


def test_diagnose_jsonl_one_result_per_line(kb: Path) -> None:
    lines = [
        json.dumps(
            {"text": "station offline, other stations in the area are down", "error": "CP-ERR-WIFI"}
        ),
        "not json",
        json.dumps({"text": "PP to ground is open circuit"}),
    ]
    r = evkb("diagnose", "--jsonl", stdin="\n".join(lines) + "\n", kb=kb)
    assert r.returncode == 0, r.stderr
    out = [json.loads(x) for x in r.stdout.splitlines()]
    assert len(out) == 3
    check_shape(out[0])
    assert "carrier" in out[0]["causes"][0]["title"].lower()
    assert out[1]["error"].startswith("stdin:2:")
    assert "pp resistor" in out[2]["causes"][0]["title"].lower()


def test_diagnose_table_cites_manual_lines(kb: Path) -> None:
    r = evkb("diagnose", "connector pins look burned", kb=kb)
    assert r.returncode == 0
    assert "inlet damage" in r.stdout.lower()
    assert "manuals/chargepoint-ct4000-cable-retractor.md:" in r.stdout


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("lost connection after the earthquake", "CP-ERR-WIFI"),
        ("cable hangs loose and will not retract", "CP-ERR-RET"),
        ("", "CP-ERR-WIFI"),
    ],
)
def test_diagnose_text_reads_like_an_answer(kb: Path, text: str, code: str) -> None:
    """Top causes with confidence, the rest folded into "N other causes of CODE", the
    first steps of the procedure in order and the next question."""
    args = (text, "--error", code) if text else ("--error", code)
    shown = evkb("diagnose", *args, kb=kb)
    data = json.loads(evkb("diagnose", "--json", *args, kb=kb).stdout)
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    top = data["causes"][0]
    assert f"{top['confidence'] * 100:.0f} %  {top['title']}" in out
    listed = [c for c in data["causes"] if f"%  {c['title']}\n" in out]
    folded = len(data["causes"]) - len(listed)
    if folded:
        assert f"{folded} other cause{'s' if folded > 1 else ''} of {code}" in out
        assert all(
            c["confidence"] < 0.10 or i >= 5
            for i, c in enumerate(data["causes"])
            if c not in listed
        )
    else:
        assert "other cause" not in out
    steps = out.split("First steps", 1)[1]
    at = [steps.index(f". {p['title']} (") for p in data["procedure"][:3]]
    assert at == sorted(at)
    if data["questions"]:
        assert out.index("Next question") < out.index(data["questions"][0]["text"])


def test_why_not_explains_missing_and_against(kb: Path) -> None:
    r = evkb("diagnose", "retracts fine but sessions fail", "--why-not", "spring broken", kb=kb)
    assert r.returncode == 0, r.stderr
    assert "Retractor spring broken" in r.stdout
    # "retracts fine" is a normal finding against a broken spring
    against = [ln for ln in r.stdout.splitlines() if ln.startswith("  - ")]
    assert any("normal finding" in ln and "retracts fine" in ln for ln in against), r.stdout
    assert "not observed" in r.stdout
    bad = evkb("diagnose", "cable loose", "--why-not", "flux capacitor", kb=kb)
    assert bad.returncode == 1 and "no cause matching" in bad.stderr


def test_missing_kb_is_a_clear_error(tmp_path: Path) -> None:
    r = evkb("diagnose", "cable loose", kb=tmp_path / "none.json")
    assert r.returncode == 1
    assert "run `evkb ingest` first" in r.stderr
