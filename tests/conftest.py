from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
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


def _start_postgres(base: Path) -> tuple[str, list[str]]:
    """A throw-away PostgreSQL cluster on a unix socket in ``base``; returns its URL
    and the pg_ctl stop command. Raises RuntimeError when it cannot be started."""
    import glob
    import os
    import shutil
    import socket

    # Debian keeps the server binaries off PATH, in /usr/lib/postgresql/VERSION/bin
    debian = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    path = os.pathsep.join([*debian, os.environ.get("PATH", "")])
    initdb, pg_ctl = shutil.which("initdb", path=path), shutil.which("pg_ctl", path=path)
    if not initdb or not pg_ctl:
        raise RuntimeError("no PostgreSQL server binaries (initdb, pg_ctl) on PATH")
    prefix: list[str] = []
    if os.geteuid() == 0:  # postgres refuses to run as root
        runuser = shutil.which("runuser")
        if not runuser:
            raise RuntimeError("running as root and no runuser to drop privileges")
        import pwd

        try:
            user = pwd.getpwnam("postgres")
        except KeyError as e:
            raise RuntimeError("running as root and there is no 'postgres' user") from e
        os.chown(base, user.pw_uid, user.pw_gid)
        prefix = [runuser, "-u", "postgres", "--"]
    data = base / "data"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    run = subprocess.run
    r = run([*prefix, initdb, "-D", str(data), "-A", "trust", "-U", "postgres"],
            capture_output=True, text=True, timeout=120)  # fmt: skip
    if r.returncode:
        raise RuntimeError(f"initdb failed: {r.stderr.strip()[-300:]}")
    opts = f"-c listen_addresses='' -c unix_socket_directories={base} -p {port} -c fsync=off"
    r = run([*prefix, pg_ctl, "-D", str(data), "-o", opts, "-w", "-l", str(base / "log"), "start"],
            capture_output=True, text=True, timeout=120)  # fmt: skip
    if r.returncode:
        raise RuntimeError(f"pg_ctl start failed: {r.stderr.strip()[-300:]}")
    url = f"postgresql://postgres@/postgres?host={base}&port={port}"
    return url, [*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "stop"]


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A PostgreSQL URL: $EVKB_TEST_POSTGRES_URL (what .ci/run starts), else a
    throw-away local cluster, else the test is skipped with the reason (it fails
    instead when $EVKB_REQUIRE_POSTGRES is set, as in CI)."""
    url = os.environ.get("EVKB_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    base = Path("/tmp") / f"evkb-pg-{os.getpid()}"
    base.mkdir(exist_ok=True)
    try:
        url, stop = _start_postgres(base)
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
        if os.environ.get("EVKB_REQUIRE_POSTGRES"):
            pytest.fail(f"PostgreSQL required ($EVKB_REQUIRE_POSTGRES) but not available: {e}")
        pytest.skip(f"PostgreSQL not available: {e}")
    try:
        yield url
    finally:
        subprocess.run(stop, capture_output=True, timeout=60)
        import shutil

        shutil.rmtree(base, ignore_errors=True)


_pg_dbs = iter(range(10**9))


def fresh_postgres_db(base: str) -> str:
    """A new, empty database on the server of ``base`` (a postgres_url); its URL."""
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    name = f"evkb_test_{os.getpid()}_{next(_pg_dbs)}"
    with psycopg.connect(base, autocommit=True) as c:
        c.execute(f"DROP DATABASE IF EXISTS {name}")
        c.execute(f"CREATE DATABASE {name}")
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
def seed_kb_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed knowledge base compiled to a file (for the service)."""
    import os

    from evkb import api

    path = tmp_path_factory.mktemp("kbfile") / "kb.json"
    old = os.getcwd()
    os.chdir(ROOT)
    try:
        api.build([ROOT / "manuals"], path)
    finally:
        os.chdir(old)
    return path
