"""The machine interface of DESIGN.md: `evkb diagnose --json`, `--jsonl`, and the
readable table and `--why-not` for people."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.conftest import evkb as run_evkb
from tests.markdown_text import file_lines, holds


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


def check_shape(out: dict[str, Any]) -> None:
    assert set(out) >= {"causes", "procedure", "parts", "tools", "questions"}
    for c in out["causes"]:
        assert {"id", "title", "confidence", "evidence", "sources"} <= set(c)
        assert 0.0 <= c["confidence"] <= 1.0
        assert all({"path", "line"} <= set(s) for s in c["sources"])
    for s in out["procedure"]:
        assert {"id", "title", "minutes", "requires_lockout"} <= set(s)
    for p in out["parts"]:
        assert {"name", "variant"} <= set(p)
    for q in out["questions"]:
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


# one line of evidence in the --why-not text: sign, kind of reasoning (and similarity),
# what matched in detail, observation, KB text, citation
EVIDENCE_LINE = re.compile(r'^  ([+-]) ([^(]+?) \((.+?)\): "(.*)" ~ "(.*)" \[(.+):(\d+)\]$')


def why_not(kb: Path, text: str, cause: str) -> tuple[str, list[re.Match[str]]]:
    r = evkb("diagnose", text, "--why-not", cause, kb=kb)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    return lines[0], [m for line in lines if (m := EVIDENCE_LINE.match(line))]


def test_why_not_explains_missing_and_against(kb: Path) -> None:
    """A cause the report speaks against: its rank, the evidence against it (what the
    technician said, what the manual says, where) and what was not observed."""
    text = "retracts fine but sessions fail"
    head, evidence = why_not(kb, text, "spring broken")
    ranked = json.loads(evkb("diagnose", "--json", text, kb=kb).stdout)["causes"]
    assert ranked and "spring" not in ranked[0]["title"].lower()
    m = re.match(r"^(.*spring broken.*): ranked (\d+) at (\d+)%", head, re.I)
    assert m, head
    assert int(m.group(2)) > 1 and int(m.group(3)) < ranked[0]["confidence"] * 100
    assert evidence, "the evidence against it is listed"
    assert {e.group(1) for e in evidence} == {"-"}, [e.group(0) for e in evidence]
    # "retracts fine" is a normal finding against a broken spring
    assert any(
        e.group(2).startswith("normal finding") and e.group(4) == "retracts fine" for e in evidence
    ), [e.group(0) for e in evidence]
    for e in evidence:
        assert e.group(4).lower() in text, f"{e.group(4)!r} is not what the technician said"
        assert holds(file_lines(e.group(6))[int(e.group(7)) - 1], e.group(5)) is None, e.group(0)
    out = evkb("diagnose", text, "--why-not", "spring broken", kb=kb).stdout
    missing = out.split("not observed (would support it):\n", 1)
    assert len(missing) == 2, out
    assert re.match(r"    \. .+  \[manuals/.+\.md:\d+\]$", missing[1].splitlines()[0])


def test_why_not_of_a_supported_cause_lists_evidence_for_it(kb: Path) -> None:
    text = "cable hangs loose"
    _head, evidence = why_not(kb, text, "spring broken")
    assert evidence and {e.group(1) for e in evidence} == {"+"}, [e.group(0) for e in evidence]
    assert all(e.group(4).lower() in text for e in evidence)


def test_why_not_of_an_unknown_cause_is_an_error(kb: Path) -> None:
    bad = evkb("diagnose", "cable loose", "--why-not", "flux capacitor", kb=kb)
    assert bad.returncode == 1 and "no cause matching" in bad.stderr


def test_missing_kb_is_a_clear_error(tmp_path: Path) -> None:
    r = evkb("diagnose", "cable loose", kb=tmp_path / "none.json")
    assert r.returncode == 1
    assert "run `evkb ingest` first" in r.stderr
