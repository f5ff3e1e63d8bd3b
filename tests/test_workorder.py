"""Work orders (Markdown and HTML) and dispatcher pick lists against golden files,
and the template guarantees: HTML autoescaped, undefined variables are errors."""

from __future__ import annotations

import difflib
import os
import sys
from pathlib import Path
from typing import Any

import jinja2
import pytest
import yaml

from evkb import api
from evkb.render import environment
from kb.schema import KnowledgeBase
from tests.conftest import FIXTURES

GOLDEN = FIXTURES / "golden"
CASES: list[dict[str, Any]] = yaml.safe_load((FIXTURES / "workorders.yaml").read_text())


def check_golden(path: Path, actual: str) -> None:
    if os.environ.get("EVKB_UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    expected = path.read_text(encoding="utf-8")
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(True), actual.splitlines(True), str(path), "actual"
            )
        )
        pytest.fail(f"{path.name} differs from golden:\n{diff}")


def kwargs(case: dict[str, Any]) -> dict[str, Any]:
    return {k: case.get(k) for k in ("error", "station", "port")}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["id"])
@pytest.mark.parametrize("fmt", ["md", "html"])
def test_workorder_golden(seed_kb: KnowledgeBase, case: dict[str, Any], fmt: str) -> None:
    out = api.workorder(seed_kb, case["text"], fmt=fmt, **kwargs(case))
    check_golden(GOLDEN / f"workorder_{case['id']}.{fmt}", out)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["id"])
def test_picklist_golden(seed_kb: KnowledgeBase, case: dict[str, Any]) -> None:
    out = api.picklist(seed_kb, case["text"], **kwargs(case))
    check_golden(GOLDEN / f"picklist_{case['id']}.md", out)


def test_workorder_holds_what_the_manuals_ask_for(seed_kb: KnowledgeBase) -> None:
    out = api.workorder(seed_kb, "cord dangling, will not go back in", error="CP-ERR-RET", port=2)
    for needle in (
        "Lockout/tagout required",
        "Retractor Spring Replacement",
        "Verification checklist",
        "Part serial number",
        "Cable length",
        "Root cause",
        "Port affected: 2",
        "PPE:",
        "Sign-off",
    ):
        assert needle in out, needle
    assert "Full Cable Assembly Replacement" not in out


def test_html_escapes_observation_text(seed_kb: KnowledgeBase) -> None:
    out = api.workorder(
        seed_kb, "<script>alert(1)</script> cable hangs loose {{ 7*7 }}", fmt="html"
    )
    assert "<script>alert(1)</script>" not in out
    assert "&lt;script&gt;" in out
    assert "{{ 7*7 }}" in out  # template syntax in data is shown, never evaluated


def test_templates_reject_undefined_variables() -> None:
    with pytest.raises(jinja2.UndefinedError):
        environment().get_template("picklist.md.j2").render()


def test_pdf_without_weasyprint_says_what_to_install(
    seed_kb: KnowledgeBase, seed_kb_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient

    from evkb.pdf import PDFUnavailable
    from evkb.web import create_app
    from tests.auth import BASE, bearer, people

    monkeypatch.setitem(sys.modules, "weasyprint", None)  # import weasyprint fails
    with pytest.raises(PDFUnavailable, match=r"uv sync --extra pdf.*pango"):
        api.workorder_pdf(seed_kb, "cable hangs loose", error="CP-ERR-RET")
    db = f"sqlite:///{tmp_path / 'orders.sqlite3'}"
    app = create_app(seed_kb_file, db)
    token = people(db).token("ops", "admin")
    with TestClient(app, base_url=BASE, headers=bearer(token)) as c:
        o = c.post("/api/workorders", json={"text": "cable hangs loose"}).json()
        r = c.get(f"/workorders/{o['id']}/pdf")
    assert r.status_code == 503
    assert "uv sync --extra pdf" in r.text
