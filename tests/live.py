"""A real evkb service (uvicorn on a loopback port, in a thread) for tests that
need a socket: OCPP over WebSocket, the browser, concurrent clients."""

from __future__ import annotations

import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from evkb.limits import WS_MAX_SIZE
from evkb.web import create_app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def live_server(kb_path: Path, db_url: str, **app_options: Any) -> Iterator[str]:
    """Yields the base URL (http://127.0.0.1:PORT) of a running service, configured
    as `evkb serve` configures uvicorn."""
    port = free_port()
    config = uvicorn.Config(
        create_app(kb_path, db_url, **app_options),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        ws="websockets-sansio",
        ws_max_size=WS_MAX_SIZE,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the evkb service did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def serve_process(
    kb: Path, db: str, port: int, log: Path, *extra: str, verify: ssl.SSLContext | bool = True
) -> tuple[subprocess.Popen[str], str]:
    """`evkb serve` in its own process, as an operator starts it; returns it and its
    base URL once /api/health answers (its stderr goes to ``log``)."""
    scheme = "https" if "--ssl-certfile" in extra else "http"
    args = ["serve", "--kb", str(kb), "--db", db, "--port", str(port), "--log-level", "warning"]
    with open(log, "w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "evkb.cli", *args, *extra],
            cwd=Path(__file__).resolve().parent.parent,
            stdout=subprocess.DEVNULL,
            stderr=err,
            text=True,
        )
    base = f"{scheme}://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            httpx.get(f"{base}/api/health", timeout=2, verify=verify)
            return proc, base
        except httpx.TransportError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"evkb serve did not come up:\n{log.read_text()}") from None
            time.sleep(0.1)
