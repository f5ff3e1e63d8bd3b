"""Several worker processes: `evkb serve --workers N` serves the API and the OCPP
intake from every worker on one port, and its connections keep TCP_NODELAY, which
uvicorn's own multi-worker mode loses (its listening socket has protocol 0, and
asyncio sets TCP_NODELAY only on IPPROTO_TCP sockets). No speed is asserted; the
figures are in bench/README.md (python -m bench.service)."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
import websockets
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState
from websockets.typing import Subprotocol

from evkb.serving import NoDelayH11Protocol
from tests.auth import basic, bearer, people
from tests.live import free_port, serve_process


async def _server_side_nodelay(protocol: type[H11Protocol]) -> int:
    """TCP_NODELAY of the server side of one connection accepted by ``protocol`` on a
    listening socket made as uvicorn's worker mode makes it."""

    async def app(scope: Any, receive: Any, send: Any) -> None:  # never reached
        raise AssertionError

    config = uvicorn.Config(app, http=protocol, lifespan="off", log_level="warning")
    config.load()
    state = ServerState()
    made: list[H11Protocol] = []

    def factory() -> H11Protocol:
        p = protocol(config, state, {})
        made.append(p)
        return p

    listener = socket.socket(socket.AF_INET)  # protocol 0, as uvicorn's bind_socket
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    server = await asyncio.get_running_loop().create_server(factory, sock=listener)
    try:
        _r, w = await asyncio.open_connection(*listener.getsockname())
        while not made:
            await asyncio.sleep(0.01)
        sock = made[0].transport.get_extra_info("socket")
        value = int(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        w.close()
        return value
    finally:
        server.close()


def test_accepted_connections_keep_tcp_nodelay() -> None:
    assert asyncio.run(_server_side_nodelay(H11Protocol)) == 0, "uvicorn#3149 is fixed?"
    assert asyncio.run(_server_side_nodelay(NoDelayH11Protocol)) == 1


@pytest.fixture
def workers(seed_kb_file: Path, tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    db = f"sqlite:///{tmp_path / 'orders.sqlite3'}"
    p = people(db)
    p.user("root", "admin")
    p.station("W-1")
    headers = bearer(p.token("ops", "admin"))
    proc, base = serve_process(
        seed_kb_file, db, free_port(), tmp_path / "serve.log", "--workers", "2"
    )
    try:
        yield base, headers
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_serve_with_two_workers_answers_the_api_and_ocpp(
    workers: tuple[str, dict[str, str]],
) -> None:
    base, headers = workers
    with httpx.Client(base_url=base, headers=headers) as c:  # one keep-alive connection
        for _ in range(5):
            r = c.post("/api/diagnose", json={"text": "cable hangs loose", "error": "CP-ERR-RET"})
            assert r.status_code == 200 and r.json()["causes"], r.text

    async def station() -> list[Any]:
        url = base.replace("http://", "ws://") + "/ocpp/W-1"
        async with websockets.connect(
            url, subprotocols=[Subprotocol("ocpp1.6")], additional_headers=basic("W-1")
        ) as ws:
            frame = [2, "f1", "StatusNotification",
                     {"connectorId": 1, "errorCode": "GroundFailure", "status": "Faulted",
                      "vendorErrorCode": "CX002"}]  # fmt: skip
            await ws.send(json.dumps(frame))
            return list(json.loads(await asyncio.wait_for(ws.recv(), timeout=60)))

    assert asyncio.run(station())[:2] == [3, "f1"]
    (order,) = httpx.get(f"{base}/api/workorders", headers=headers).json()
    assert (order["station"], order["error"]) == ("W-1", "CX002")


def test_service_benchmark_load_loop_and_report(tmp_path: Path) -> None:
    """bench.service's pieces at smoke size (the full run is `python -m bench.service`)."""
    from bench import load, procs, service

    with procs.started("noop", procs.noop_serve(procs.free_port()), tmp_path / "n.log") as p:
        r = load.run(p.base, load.json_post("/api/diagnose", {"text": "x"}), 2, 0.3, 0.1)
        assert r["requests"] > 0 and r["errors"] == 0 and p.rss_mb() > 0
    row = r | {"server": "noop", "request": "diagnose", "rss_mb": 1.0}
    res = {"cpus": 2, "seconds": 0.3, "rounds": 1, "rows": [row], "load_before": 1.0,
           "load_after": 1.0}  # fmt: skip
    text = service.render(res)
    assert "| noop | 2 |" in text and "1.00" in text
