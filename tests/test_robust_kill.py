"""A killed ingest leaves the previous knowledge base loadable and unchanged (issue #6).

``evkb ingest`` runs as a subprocess on a large input (many renamed copies of the
seed manuals) and is SIGKILLed at several moments: at once, after a few progress
lines, half way through the manuals, and while ``kb.store.save`` writes its
temporary file (found by polling the directory). After each kill the knowledge base
at ``--kb`` must be byte-identical to the one before and load with ``kb.store.load``;
whatever the kill leaves behind must not look like a knowledge base.

SIGKILL gives ``save`` no chance to delete its temporary file: a kill during the
write leaves one ``.<name>.<random>.tmp`` file beside the knowledge base, and the
next ingest does not remove it (``test_kill_during_write_then_ingest_again``
records that, so a fix shows up as a failing assertion to update).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kb import store
from tests.conftest import ROOT, evkb

COPIES = 60  # of each seed manual: ~180 manuals, a few seconds of ingest
KB_NAME = "evkb-kb.json"


def _evkb_command() -> list[str]:
    script = Path(sys.executable).parent / "evkb"
    return [str(script)] if script.exists() else [sys.executable, "-m", "evkb.cli"]


@pytest.fixture(scope="module")
def big_input(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Renamed copies of the seed manuals: the file name is the manual id, so every
    record id is unique; the title says which copy it is."""
    out = tmp_path_factory.mktemp("big_input")
    for p in sorted((ROOT / "manuals").glob("*.md")):
        text = p.read_text(encoding="utf-8")
        for i in range(COPIES):
            tagged = re.sub(r"^(# .+|title: .+)$", rf"\1 (copy {i})", text, count=1, flags=re.M)
            (out / f"copy{i:03d}-{p.name}").write_text(tagged, encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A knowledge base built from manuals/ by the CLI: the one every kill must keep."""
    path = tmp_path_factory.mktemp("original") / KB_NAME
    r = subprocess.run(
        [*_evkb_command(), "ingest", "-q", "--kb", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    return path.read_bytes()


@pytest.fixture
def kb_path(tmp_path: Path, original: bytes) -> Path:
    path = tmp_path / "kb" / KB_NAME
    path.parent.mkdir()
    path.write_bytes(original)
    return path


def _start(big_input: Path, kb_path: Path, *, stderr: int | None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*_evkb_command(), "ingest", str(big_input), "--kb", str(kb_path)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )


def _kill(proc: subprocess.Popen[bytes]) -> int:
    proc.send_signal(signal.SIGKILL)
    return proc.wait(timeout=30)


def _temp_files(kb_path: Path) -> list[str]:
    return sorted(p.name for p in kb_path.parent.iterdir() if p.name != kb_path.name)


def _assert_intact(kb_path: Path, original: bytes) -> None:
    assert kb_path.read_bytes() == original, "the kill changed the knowledge base"
    assert store.load(kb_path).manuals
    for name in _temp_files(kb_path):
        # leftovers are hidden temporary files, never something taken for a knowledge base
        assert name.startswith(f".{kb_path.name}.") and name.endswith(".tmp"), name


def _wait_for_progress(proc: subprocess.Popen[bytes], lines: int) -> None:
    assert proc.stderr is not None
    seen = 0
    while seen < lines:
        line = proc.stderr.readline()
        assert line, "ingest ended before the expected progress lines"
        if line.startswith(b"ingested "):
            seen += 1


def _wait_for_temp_file(proc: subprocess.Popen[bytes], kb_path: Path, grown: bool) -> bool:
    """Poll until save's temporary file appears (and, if ``grown``, has some bytes in
    it); False if the process ended first."""
    prefix = f".{kb_path.name}."
    while proc.poll() is None:
        with os.scandir(kb_path.parent) as it:
            for entry in it:
                if entry.name.startswith(prefix) and (not grown or entry.stat().st_size > 0):
                    return True
        time.sleep(0.0005)
    return False


def test_kill_at_once(big_input: Path, kb_path: Path, original: bytes) -> None:
    proc = _start(big_input, kb_path, stderr=subprocess.DEVNULL)
    assert _kill(proc) == -signal.SIGKILL
    _assert_intact(kb_path, original)
    assert _temp_files(kb_path) == []


@pytest.mark.parametrize("progress", [3, COPIES * 3 // 2], ids=["few-manuals", "half-way"])
def test_kill_during_compile(
    big_input: Path, kb_path: Path, original: bytes, progress: int
) -> None:
    proc = _start(big_input, kb_path, stderr=subprocess.PIPE)
    try:
        _wait_for_progress(proc, progress)
        assert _kill(proc) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            _kill(proc)
        assert proc.stderr is not None
        proc.stderr.close()
    _assert_intact(kb_path, original)
    assert _temp_files(kb_path) == [], "nothing is written before the manuals are compiled"


def test_kill_when_the_temp_file_appears(big_input: Path, kb_path: Path, original: bytes) -> None:
    proc = _start(big_input, kb_path, stderr=subprocess.DEVNULL)
    try:
        caught = _wait_for_temp_file(proc, kb_path, grown=False)
        if caught:
            assert _kill(proc) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            _kill(proc)
    if not caught:
        # the write finished between two polls: nothing to test this time
        assert proc.returncode == 0
        pytest.skip("the write finished before the temporary file was seen")
    _assert_intact(kb_path, original)


def test_kill_during_write_then_ingest_again(
    big_input: Path, kb_path: Path, original: bytes, tmp_path: Path
) -> None:
    """Killed once the temporary file holds some JSON. The next ingest succeeds and
    writes a new knowledge base, but the killed run's temporary file stays: each such
    kill leaves one more (a few MB for a big knowledge base)."""
    proc = _start(big_input, kb_path, stderr=subprocess.DEVNULL)
    try:
        caught = _wait_for_temp_file(proc, kb_path, grown=True)
    finally:
        if proc.poll() is None:
            _kill(proc)
    if not caught:
        pytest.skip("the write finished before the temporary file was seen")
    _assert_intact(kb_path, original)
    left = _temp_files(kb_path)
    assert len(left) == 1
    small = tmp_path / "small"
    shutil.copytree(ROOT / "manuals", small)
    r = subprocess.run(
        [*_evkb_command(), "ingest", "-q", str(small), "--kb", str(kb_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert store.load(kb_path).manuals
    assert _temp_files(kb_path) == left, "the next ingest now cleans up: update this test"


@pytest.mark.parametrize("where", ["a-directory", "under-a-file"])
def test_unwritable_kb_path_is_a_clear_error(tmp_path: Path, where: str) -> None:
    """--kb naming a directory, or a path below a regular file: exit status 1 and
    ``evkb: error: PATH: ...``, no traceback, no temporary file left behind."""
    (tmp_path / "a-file").write_text("not a directory\n", encoding="utf-8")
    (tmp_path / "a-directory").mkdir()
    target = tmp_path / "a-directory" if where == "a-directory" else tmp_path / "a-file" / "kb"
    before = sorted(p.name for p in tmp_path.rglob("*"))
    r = evkb("ingest", "-q", "--kb", str(target))
    assert r.returncode == 1, r.stderr
    assert r.stderr.startswith(f"evkb: error: {target}: "), r.stderr
    assert "Traceback" not in r.stderr
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
