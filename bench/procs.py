"""Service processes for the service and fleet benchmarks (loopback only): a seed
knowledge base and a work-order database with an admin token and registered
stations, ``evkb serve`` in one or several processes, a no-op FastAPI app under
uvicorn as the baseline, and each process's memory."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def build_seed_kb(path: Path) -> Path:
    """The knowledge base of manuals/ (as `evkb ingest` builds it)."""
    from evkb import api

    old = os.getcwd()
    os.chdir(ROOT)
    try:
        api.build([ROOT / "manuals"], path)
    finally:
        os.chdir(old)
    return path


@dataclass
class Accounts:
    token: str  # an admin API token
    stations: dict[str, str]  # station id -> its password


def prepare_db(url: str, stations: Sequence[str]) -> Accounts:
    """An admin account and token, and the stations registered with generated keys
    (SHA-256 digests: argon2 for a thousand stations would take minutes)."""
    from evkb.accounts import Accounts as Acc
    from evkb.orders import Store

    acc = Acc(Store.open(url))
    acc.add_user("bench", "admin", "bench password long enough", actor="bench")
    token = acc.create_token("bench", "admin", actor="bench")
    keys = {}
    for sid in stations:
        _st, secret = acc.add_station(sid, None, actor="bench")
        keys[sid] = secret
    return Accounts(token, keys)


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    base: str  # http://127.0.0.1:PORT

    def pids(self) -> list[int]:
        """The process and its children (uvicorn's workers)."""
        out = [self.popen.pid]
        try:
            kids = Path(f"/proc/{self.popen.pid}/task/{self.popen.pid}/children").read_text()
            out += [int(p) for p in kids.split()]
        except OSError:
            pass
        return out

    def rss_mb(self) -> float:
        """Resident memory of the process and its workers now, in MB."""
        total = 0
        for pid in self.pids():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            except OSError:
                pass
        return total / 1024


def _wait(proc: subprocess.Popen[bytes], base: str, log: Path, timeout: float = 120) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while True:
        try:
            httpx.get(f"{base}/api/health", timeout=2)
            return
        except httpx.TransportError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"{base} did not come up:\n{log.read_text()[-2000:]}") from None
            time.sleep(0.1)


@contextmanager
def started(
    name: str, argv: Sequence[str], log: Path, env: dict[str, str] | None = None
) -> Iterator[Proc]:
    """Start ``argv`` (which must listen on the port named by ``--port``) and yield it
    once /api/health answers; stop it (SIGTERM, then SIGKILL) afterwards."""
    port = argv[list(argv).index("--port") + 1]
    base = f"http://127.0.0.1:{port}"
    with open(log, "wb") as err:
        popen = subprocess.Popen(
            list(argv),
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=err,
            env={**os.environ, **(env or {})},
            start_new_session=True,  # its workers too are stopped with it
        )
    try:
        _wait(popen, base, log)
        yield Proc(name, popen, base)
    finally:
        stop(popen)


def stop(popen: subprocess.Popen[bytes]) -> None:
    if popen.poll() is None:
        os.killpg(popen.pid, signal.SIGTERM)
        try:
            popen.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(popen.pid, signal.SIGKILL)
            popen.wait(timeout=30)


def evkb_serve(kb: Path, db: str, port: int, workers: int = 1) -> list[str]:
    args = [sys.executable, "-m", "evkb.cli", "serve", "--kb", str(kb), "--db", db]
    args += ["--port", str(port), "--log-level", "warning"]
    return args + (["--workers", str(workers)] if workers > 1 else [])


def uvicorn_workers(kb: Path, db: str, port: int, workers: int) -> tuple[list[str], dict[str, str]]:
    """evkb under plain ``uvicorn --workers N`` (TCP_NODELAY lost: the reference)."""
    args = [sys.executable, "-m", "uvicorn", "--factory", "evkb.web:app_from_env"]
    args += ["--port", str(port), "--workers", str(workers), "--log-level", "warning"]
    args += ["--ws", "websockets-sansio", "--ws-max-size", "131072", "--http", "h11"]
    return args, {"EVKB_KB": str(kb), "EVKB_DB": db}


def noop_serve(port: int, workers: int = 1, nodelay: bool = False) -> list[str]:
    """The no-op FastAPI app (bench.noop) under uvicorn, as evkb runs (h11)."""
    http = "evkb.serving:NoDelayH11Protocol" if nodelay else "h11"
    args = [sys.executable, "-m", "uvicorn", "--factory", "bench.noop:app"]
    args += ["--port", str(port), "--log-level", "warning", "--http", http]
    return args + (["--workers", str(workers)] if workers > 1 else [])
