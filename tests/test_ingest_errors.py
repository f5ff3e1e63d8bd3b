"""A broken manual or curated record fails with ``file:line: expected ...`` naming
the right line, exit status 1, and the previous knowledge base left untouched.

Cases are data: tests/fixtures/bad_manuals/cases.yaml (Markdown manuals, run
through the CLI) and tests/fixtures/bad_curated/cases.yaml (curated YAML records,
through the loader and the compiler)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from ingest import curated
from ingest.pipeline import compile_paths
from kb.curated import CURATED_DIR
from kb.errors import CuratedError
from tests.conftest import FIXTURES, ROOT, evkb

BAD_MANUALS = FIXTURES / "bad_manuals"
BAD_CURATED = FIXTURES / "bad_curated"


def _cases(directory: Path) -> list[Any]:
    data = yaml.safe_load((directory / "cases.yaml").read_text(encoding="utf-8"))
    params = []
    for case in data["cases"]:
        marks = [pytest.mark.xfail(reason=case["xfail"], strict=True)] if "xfail" in case else []
        params.append(pytest.param(case, id=case["id"], marks=marks))
    return params


@pytest.fixture(scope="module")
def good_kb_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A knowledge base compiled from manuals/ (built once, copied per case)."""
    path = tmp_path_factory.mktemp("good") / "kb.json"
    r = evkb("ingest", "-q", "--kb", str(path))
    assert r.returncode == 0, r.stderr
    return path.read_bytes()


# ------------------------------------------------------------------ manuals


def _manual_path(case: dict[str, Any], tmp_path: Path) -> str:
    """The path argument for the case, as the error message must name it."""
    if "missing" in case:
        return str(tmp_path / case["missing"])
    if "file" in case:
        return str((BAD_MANUALS / case["file"]).relative_to(ROOT))
    text = (BAD_MANUALS / case["base"]).read_text(encoding="utf-8")
    if "replace" in case:
        old, new = case["replace"]["old"], case["replace"]["new"]
        assert text.count(old) == 1, f"replace.old must occur once in {case['base']}: {old!r}"
        text = text.replace(old, new)
    lines = [ln.encode("utf-8") for ln in text.split("\n")]
    if "inject" in case:
        n = case["inject"]["line"]
        lines[n - 1] = bytes.fromhex(case["inject"]["hex"]) + lines[n - 1]
    out = tmp_path / f"{case['id']}.md"
    out.write_bytes(case.get("newline", "\n").encode("ascii").join(lines))
    return str(out)


def test_valid_fixture_manual_ingests(tmp_path: Path) -> None:
    """The manual every broken fixture is derived from is itself fine, so each
    failure below comes from its one defect."""
    r = evkb(
        "ingest",
        str((BAD_MANUALS / "valid.md").relative_to(ROOT)),
        "--kb",
        str(tmp_path / "kb.json"),
    )
    assert r.returncode == 0, r.stderr
    assert "3 steps" in r.stdout and "2 tools" in r.stdout and "2 causes" in r.stdout


@pytest.mark.parametrize("case", _cases(BAD_MANUALS))
def test_bad_manual_fails_at_its_line_and_keeps_kb(
    case: dict[str, Any], tmp_path: Path, good_kb_bytes: bytes
) -> None:
    kb = tmp_path / "kb" / "kb.json"
    kb.parent.mkdir()
    kb.write_bytes(good_kb_bytes)
    manual = _manual_path(case, tmp_path)

    r = evkb("ingest", manual, "--kb", str(kb))

    assert r.returncode == 1, r.stdout + r.stderr
    assert "Traceback" not in r.stderr, r.stderr
    assert f"{manual}:{case['line']}: expected" in r.stderr, r.stderr
    assert case["message"] in r.stderr, r.stderr
    assert kb.read_bytes() == good_kb_bytes
    assert [p.name for p in kb.parent.iterdir()] == ["kb.json"], "nothing else written"


# ------------------------------------------------------------------ curated YAML


def _copy(directory: Path) -> None:
    """kb/curated/*.yaml and manuals/ (with the knowledge beside each) into ``directory``."""
    for src in CURATED_DIR.glob("*.yaml"):
        shutil.copy(src, directory / src.name)
    shutil.copytree(ROOT / "manuals", directory / "manuals")


def _break_curated(case: dict[str, Any], directory: Path) -> int:
    """The copies with the case's record put in; return the line the error must name."""
    _copy(directory)
    record = (BAD_CURATED / case["record"]).read_text(encoding="utf-8")
    target = directory / case["file"]
    if case.get("whole"):
        target.write_text(record, encoding="utf-8")
        return int(case["line"])
    lines: list[str] = target.read_text(encoding="utf-8").split("\n")
    if case["after"] not in lines:  # a knowledge file may not have that list yet
        lines += [case["after"]]
    at: int = lines.index(case["after"]) + 1  # 0-based index of the record's first line
    lines[at:at] = record.rstrip("\n").split("\n")
    target.write_text("\n".join(lines), encoding="utf-8")
    return at + int(case["line"])


def test_copied_curated_files_load_and_compile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Control: the unbroken copy is fine, so each failure below is its record's."""
    _copy(tmp_path)
    monkeypatch.chdir(ROOT)
    curated.load(tmp_path)
    assert compile_paths([tmp_path / "manuals"], curated_dir=tmp_path).causes


@pytest.mark.parametrize("case", _cases(BAD_CURATED))
def test_bad_curated_record_fails_at_its_line(
    case: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    line = _break_curated(case, tmp_path)
    monkeypatch.chdir(ROOT)

    with pytest.raises(CuratedError) as info:
        if case["stage"] == "load":
            curated.load(tmp_path)
        else:
            compile_paths([tmp_path / "manuals"], curated_dir=tmp_path)

    message = str(info.value)
    assert message.startswith(f"{tmp_path / case['file']}:{line}: "), message
    assert case["message"] in message, message
