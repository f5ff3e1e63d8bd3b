"""`evkb serve` as a user starts it: one command, SQLite by default."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.auth import PASSWORD, bearer
from tests.conftest import ROOT, evkb
from tests.live import free_port


def test_serve_without_an_admin_says_how_to_create_one_and_exits_2(
    seed_kb_file: Path, tmp_path: Path
) -> None:
    db = f"sqlite:///{tmp_path / 'orders.sqlite3'}"
    r = evkb("serve", "--kb", str(seed_kb_file), "--port", "1", "--db", db)
    assert r.returncode == 2, r.stderr
    assert "no admin account" in r.stderr
    assert f"evkb user add NAME --role admin --db '{db}'" in r.stderr
    assert "Traceback" not in r.stderr


def test_serve_starts_answers_and_creates_its_database(seed_kb_file: Path, tmp_path: Path) -> None:
    port = free_port()
    db = tmp_path / "orders.sqlite3"
    url = f"sqlite:///{db}"
    add = subprocess.run(
        [sys.executable, "-m", "evkb.cli", "user", "add", "root", "--role", "admin", "--db", url],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**os.environ, "EVKB_PASSWORD": PASSWORD},
    )  # fmt: skip
    assert add.returncode == 0, add.stderr
    token = evkb("token", "create", "ops", "--role", "dispatcher", "--db", url).stdout.strip()
    proc = subprocess.Popen(
        [sys.executable, "-m", "evkb.cli", "serve", "--kb", str(seed_kb_file), "--port",
         str(port), "--db", f"sqlite:///{db}", "--log-level", "warning"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.communicate()[1]
                assert time.monotonic() < deadline, "evkb serve did not come up"
                time.sleep(0.2)
        causes = len(json.loads(seed_kb_file.read_text())["causes"])
        assert health.json()["status"] == "ok" and health.json()["causes"] == causes
        r = httpx.post(
            f"http://127.0.0.1:{port}/api/workorders",
            json={"text": "cable hangs loose", "error": "CP-ERR-RET"},
        )
        assert r.status_code == 401
        r = httpx.post(
            f"http://127.0.0.1:{port}/api/workorders",
            json={"text": "cable hangs loose", "error": "CP-ERR-RET"},
            headers=bearer(token),
        )
        assert r.status_code == 201
        assert db.exists()
    finally:
        proc.terminate()
        _out, err = proc.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}/" in err  # tells the user where it listens


def test_serve_without_a_knowledge_base_says_so(tmp_path: Path) -> None:
    r = evkb("serve", "--kb", str(tmp_path / "missing.json"), "--port", "1")
    assert r.returncode == 1
    assert "no knowledge base; run `evkb ingest` first" in r.stderr
    assert "Traceback" not in r.stderr


def test_serve_with_an_unreachable_postgresql_fails_clearly(seed_kb_file: Path) -> None:
    r = evkb(
        "serve", "--kb", str(seed_kb_file), "--port", "1",
        "--db", "postgresql://evkb:secret@127.0.0.1:1/evkb",
    )  # fmt: skip
    assert r.returncode == 1
    assert "cannot connect" in r.stderr and "secret" not in r.stderr
    assert "Traceback" not in r.stderr


def test_serve_with_an_unsupported_database_url_fails_clearly(
    seed_kb_file: Path, tmp_path: Path
) -> None:
    r = evkb("serve", "--kb", str(seed_kb_file), "--port", "1", "--db", "mysql://u@h/db")
    assert r.returncode == 1
    assert "unsupported database URL" in r.stderr and "Traceback" not in r.stderr
