"""PDF work orders (WeasyPrint, from the same HTML template as the printable view),
checked by their extracted text: a golden file per case, and what a dispatcher files
must be in it (causes, procedure, tools, lockout, sign-off; for a closed order, the
repair log it was closed with)."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from evkb import api, pdf
from evkb.web import create_app
from kb.schema import KnowledgeBase
from tests.auth import BASE, bearer, people
from tests.conftest import FIXTURES, ROOT, evkb
from tests.test_workorder import GOLDEN, check_golden

if pdf.available():
    pytest.skip(pdf.available(), allow_module_level=True)
pypdf = pytest.importorskip("pypdf")

CASES: list[dict[str, Any]] = yaml.safe_load((FIXTURES / "workorders.yaml").read_text())
PDF_CASES = [c for c in CASES if c["id"] in ("d01", "d12")]


SECTIONS = (
    "Likely causes",
    "Safety",
    "Parts for the truck",
    "Tools",
    "Procedure",
    "Next question",
    "Verification checklist",
    "Repair log",
    "Sign-off",
)


def pdf_text(data: bytes) -> str:
    """The text of every page, one space between words (line breaks depend on the
    fonts, not on what the order says), a line per section and checklist item. List
    markers (extracted after the page's text) and page footers are dropped."""
    assert data.startswith(b"%PDF-")
    reader = pypdf.PdfReader(io.BytesIO(data))
    assert len(reader.pages) >= 1
    text = " ".join(p.extract_text() for p in reader.pages)
    text = re.sub(r"page \d+ of \d+", " ", text)
    text = re.sub(r"[•◦▪]", " ", text)
    text = re.sub(r"(?:(?<=\s)\d+\.(?=\s)\s*){2,}", " ", f" {text} ")
    text = re.sub(r"\s+", " ", text).strip()
    for heading in SECTIONS:
        text = text.replace(f" {heading} ", f"\n{heading}\n", 1)
    return text.replace(" ☐ ", "\n☐ ") + "\n"


def squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


def kwargs(case: dict[str, Any]) -> dict[str, Any]:
    return {k: case.get(k) for k in ("error", "station", "port")}


@pytest.mark.parametrize("case", PDF_CASES, ids=lambda c: c["id"])
def test_pdf_text_golden(seed_kb: KnowledgeBase, case: dict[str, Any]) -> None:
    text = pdf_text(api.workorder_pdf(seed_kb, case["text"], **kwargs(case)))
    check_golden(GOLDEN / f"workorder_{case['id']}.pdf.txt", text)


@pytest.mark.parametrize("case", PDF_CASES, ids=lambda c: c["id"])
def test_pdf_holds_what_a_work_order_needs(
    seed_kb_file: Path, tmp_path: Path, case: dict[str, Any]
) -> None:
    """Made as a user would (`evkb workorder --format pdf -o FILE`), compared with
    the diagnosis it was made from."""
    args = [case["text"], "--kb", str(seed_kb_file)]
    for k in ("error", "station", "port"):
        if case.get(k) is not None:
            args += [f"--{k}", str(case[k])]
    out = tmp_path / "order.pdf"
    made = evkb("workorder", "--format", "pdf", "-o", str(out), *args)
    assert made.returncode == 0, made.stderr
    text = squeezed(pdf_text(out.read_bytes()))
    d = json.loads(
        evkb(
            "diagnose",
            "--json",
            *args[:1],
            "--kb",
            str(seed_kb_file),
            *(["--error", case["error"]] if case.get("error") else []),
        ).stdout
    )
    needed = [d["causes"][0]["title"]]
    needed += [s["title"] for s in d["procedure"]]
    needed += [t["name"] for t in d["tools"]]
    needed += ["Lockout/tagout required", "Verification checklist", "Repair log", "Sign-off"]
    for what in needed:
        assert squeezed(what) in text, what


def test_pdf_without_a_file_goes_to_a_pipe(seed_kb_file: Path) -> None:
    args = ["workorder", "--format", "pdf", "--error", "CP-ERR-RET", "--kb", str(seed_kb_file)]
    piped = subprocess.run(
        [sys.executable, "-m", "evkb.cli", *args, "cable hangs loose"],
        cwd=ROOT,
        capture_output=True,
        timeout=120,
    )
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout.startswith(b"%PDF-")


def test_closed_order_pdf_has_its_repair_log(seed_kb_file: Path, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'orders.sqlite3'}"
    app = create_app(seed_kb_file, db)
    token = people(db).token("ops", "admin")
    with TestClient(app, base_url=BASE, headers=bearer(token)) as c:
        o = c.post(
            "/api/workorders",
            json={
                "text": "cable hangs loose",
                "error": "CP-ERR-RET",
                "station": "ST-PDF",
                "port": 3,
            },
        ).json()
        page = c.get(f"/workorders/{o['id']}")
        assert f'href="/workorders/{o["id"]}/pdf"' in page.text
        c.post(
            f"/api/workorders/{o['id']}/close",
            json={
                "root_cause": "Retractor spring broken",
                "cable_length": "18 ft",
                "parts": [{"name": "Replacement retractor spring kit", "serial": "SN-PDF-1"}],
                "notes": "drum spring snapped",
            },
        )
        r = c.get(f"/workorders/{o['id']}/pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert f'filename="workorder-{o["id"]}.pdf"' in r.headers["content-disposition"]
    text = squeezed(pdf_text(r.content))
    for what in ("ST-PDF", "Retractor spring broken", "18 ft", "SN-PDF-1", "drum spring snapped"):
        assert squeezed(what) in text, what
    assert "Rootcause:" not in text  # the filled log, not the blank form
