"""OCPP intake under attack (issue 13, failures 2, 5, 6 and 9): station
authentication (security profiles 1 and 2), cross-site WebSockets, replays,
oversized and deeply nested frames, bad connector ids, half-sent HTTP bodies."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from websockets.typing import Subprotocol

from tests.auth import PASSWORD, STATION_PASSWORD, basic, bearer, people
from tests.live import free_port, live_server, serve_process
from tests.test_ocpp import API, connect, db_url, orders, raw_exchange, server, ws_url

__all__ = ["db_url", "server"]  # fixtures used here

OCPP16 = Subprotocol("ocpp1.6")


def refused_status(base: str, station: str, headers: dict[str, str]) -> int:
    async def go() -> int:
        try:
            async with websockets.connect(
                ws_url(base, station), subprotocols=[OCPP16], additional_headers=headers
            ):
                return 101
        except websockets.InvalidStatus as e:
            return int(e.response.status_code)

    return asyncio.run(go())


def test_5_unknown_stations_and_wrong_passwords_get_401(server: str) -> None:
    for station, headers in [
        ("CT-1", basic("CT-1", "wrong password, long enough")),
        ("CT-1", {}),
        ("NOPE", basic("NOPE", STATION_PASSWORD)),
        ("CT-5", basic("CT-5", "a-guess-of-24-characters")),  # a generated key
        ("CT-5", basic("CT-1")),  # CT-1's credentials cannot speak as CT-5
        ("CT-1", {"Authorization": "Basic !!!"}),
        ("CT-1", {"Authorization": "Bearer " + STATION_PASSWORD}),
    ]:
        assert refused_status(server, station, headers) == 401, (station, headers)
    assert refused_status(server, "CT-1", basic("CT-1")) == 101
    r = httpx.get(f"{server}/api/workorders", headers=API)
    assert r.json() == []


def test_2_a_web_page_cannot_open_a_station_connection(server: str) -> None:
    """Browsers send an Origin; stations do not. Refused even with valid credentials."""
    for origin in ["http://evil.example", "http://127.0.0.1:9999", server]:
        headers = {**basic("CT-1"), "Origin": origin}
        assert refused_status(server, "CT-1", headers) == 403, origin
    assert orders(server) == []


def fault(uid: str, connector: int, at: str, error: str = "OtherError", status: str = "Faulted",
          vendor: str = "CP-ERR-RET") -> str:  # fmt: skip
    payload = {"connectorId": connector, "errorCode": error, "status": status, "timestamp": at}
    if vendor:
        payload["vendorErrorCode"] = vendor
    return json.dumps([2, uid, "StatusNotification", payload])


def test_5_replayed_or_stale_messages_reopen_and_recover_nothing(server: str) -> None:
    t1, t2, t3 = "2026-11-01T10:00:00Z", "2026-11-01T11:00:00Z", "2026-11-01T12:00:00Z"
    recovery = fault("b", 1, t2, "NoError", "Available", "")
    ok = asyncio.run(raw_exchange(server, "CT-5", [fault("a", 1, t1), recovery]))
    assert [r[0] for r in ok] == [3, 3]
    (o,) = orders(server, station="CT-5")
    full = httpx.get(f"{server}/api/workorders/{o['id']}", headers=API).json()
    assert [e["kind"] for e in full["events"]] == ["created", "recovered"]
    r = httpx.post(
        f"{server}/api/workorders/{o['id']}/close", json={"root_cause": o["likely_cause"]},
        headers=API,
    )  # fmt: skip
    assert r.status_code == 200

    # the old fault frame again (a replay): accepted as a message, but no new order
    (again,) = asyncio.run(raw_exchange(server, "CT-5", [fault("a", 1, t1)]))
    assert again[0] == 3
    assert [x["status"] for x in orders(server, station="CT-5")] == ["closed"]

    # a real new fault opens an order; the old recovery replayed does not recover it
    asyncio.run(raw_exchange(server, "CT-5", [fault("c", 1, t3)]))
    asyncio.run(raw_exchange(server, "CT-5", [recovery]))
    new = next(x for x in orders(server, station="CT-5") if x["status"] == "open")
    events = httpx.get(f"{server}/api/workorders/{new['id']}", headers=API).json()["events"]
    assert [e["kind"] for e in events] == ["created", "stale report"]
    assert "station time 2026-11-01T11:00:00" in events[-1]["text"]


def test_9_a_deeply_nested_frame_gets_a_callerror_and_the_connection_stays(server: str) -> None:
    deep = "[" * 30_000 + "]" * 30_000  # 60 KB, under the frame limit
    obj = '[2, "n1", "Heartbeat", ' + '{"a": ' * 40 + "1" + "}" * 40 + "]"
    bad, bad2, after = asyncio.run(
        raw_exchange(server, "CT-X", [deep, obj, '[2, "hb", "Heartbeat", {}]'])
    )
    assert bad[0] == 4 and bad[2] == "FormatViolation" and "nested" in bad[3]
    assert bad2[:3] == [4, "n1", "FormatViolation"]
    assert after[:2] == [3, "hb"]


def test_9_connector_ids_are_validated(server: str) -> None:
    (neg,) = asyncio.run(raw_exchange(server, "CT-X", [fault("m5", -5, "2026-11-01T10:00:00Z")]))
    (big,) = asyncio.run(raw_exchange(server, "CT-X", [fault("b9", 10**6, "2026-11-01T10:00:00Z")]))
    assert neg[:3] == [4, "m5", "PropertyConstraintViolation"]
    assert big[:3] == [4, "b9", "PropertyConstraintViolation"]
    assert orders(server, station="CT-X") == []


def test_6_half_sent_request_bodies_are_dropped(seed_kb_file: Path, tmp_path: Path) -> None:
    """A client that sends part of a body and stalls gets 408 and is disconnected
    (the timeout is short here; `evkb serve` uses evkb.limits.BODY_TIMEOUT_S)."""
    db = f"sqlite:///{tmp_path / 'o.sqlite3'}"
    with live_server(seed_kb_file, db, body_timeout=0.5) as base:
        port = int(base.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
            s.sendall(
                b"POST /api/diagnose HTTP/1.1\r\nHost: localhost\r\n"
                b'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"text":'
            )
            reply = b""
            while chunk := s.recv(4096):  # the server closes the connection
                reply += chunk
        assert reply.startswith(b"HTTP/1.1 408"), reply[:200]


# ------------------------------------------------------------------ a real `evkb serve`


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.fixture
def serve(seed_kb_file: Path, tmp_path: Path) -> Iterator[tuple[str, int, Path]]:
    """`evkb serve` in its own process (admin, station CT-1): (base URL, pid, tmp)."""
    db = f"sqlite:///{tmp_path / 'o.sqlite3'}"
    p = people(db)
    p.user("root", "admin")
    p.station("CT-1")
    port = free_port()
    proc, base = start_serve(seed_kb_file, db, port, tmp_path)
    try:
        yield base, proc.pid, tmp_path
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


def start_serve(
    kb: Path, db: str, port: int, tmp: Path, *extra: str
) -> tuple[subprocess.Popen[str], str]:
    verify: ssl.SSLContext | bool = True
    if "--ssl-certfile" in extra:
        verify = ssl.create_default_context(cafile=str(tmp / "cert.pem"))
    return serve_process(kb, db, port, tmp / f"serve-{port}.log", *extra, verify=verify)


def test_6_16_mb_frames_are_refused_before_they_are_buffered(
    serve: tuple[str, int, Path],
) -> None:
    base, pid, _tmp = serve
    big = "x" * (16 * 1024 * 1024)

    async def flood(n: int) -> list[str]:
        async def one() -> str:
            try:
                async with connect(base, "CT-1", compression=None, max_size=None) as ws:
                    await ws.send(big)
                    await asyncio.wait_for(ws.recv(), timeout=60)
                    return "answered"
            except websockets.ConnectionClosed as e:
                return str(e.rcvd.code) if e.rcvd else "closed"
            except OSError:  # reset while the client was still sending
                return "reset"

        return list(await asyncio.gather(*(one() for _ in range(n))))

    before = _rss_kb(pid)
    ends = asyncio.run(flood(20))
    growth_mb = (_rss_kb(pid) - before) / 1024
    # the server refuses each one with 1009 "message too big" (a client still
    # sending may see the reset first); none is read and answered
    assert set(ends) <= {"1009", "reset"} and "1009" in ends, ends
    assert growth_mb < 50, f"server grew by {growth_mb:.0f} MB"
    # and it still serves stations
    r = asyncio.run(raw_exchange(base, "CT-1", ['[2, "hb", "Heartbeat", {}]']))
    assert r[0][:2] == [3, "hb"]
    print(f"\n20 x 16 MB frames: {ends.count('1009')} closed with 1009, "
          f"{ends.count('reset')} reset; server RSS +{growth_mb:.1f} MB")  # fmt: skip


def test_5_tls_https_and_wss_security_profile_2(seed_kb_file: Path, tmp_path: Path) -> None:
    openssl = shutil.which("openssl")
    if not openssl:
        pytest.skip("no openssl to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    db = f"sqlite:///{tmp_path / 'o.sqlite3'}"
    p = people(db)
    p.user("root", "admin")
    p.station("CT-1")
    token = p.token("ops", "admin")
    port = free_port()
    proc, base = start_serve(
        seed_kb_file, db, port, tmp_path,
        "--ssl-certfile", str(cert), "--ssl-keyfile", str(key),
    )  # fmt: skip
    ctx = ssl.create_default_context(cafile=str(cert))
    try:
        r = httpx.get(f"{base}/api/workorders", headers=bearer(token), verify=ctx)
        assert r.status_code == 200
        assert r.headers["strict-transport-security"].startswith("max-age=")

        # the session cookie is Secure over TLS
        with httpx.Client(base_url=base, verify=ctx) as c:
            form = c.get("/login").text
            csrf = form.split('name="csrf_token" value="')[1].split('"')[0]
            r = c.post(
                "/login", data={"username": "root", "password": PASSWORD, "csrf_token": csrf}
            )
            assert r.status_code == 303 and "secure" in r.headers["set-cookie"].lower()

        async def station() -> list[Any]:
            url = f"wss://127.0.0.1:{port}/ocpp/CT-1"
            async with websockets.connect(
                url, subprotocols=[OCPP16], ssl=ctx, additional_headers=basic("CT-1")
            ) as ws:
                await ws.send('[2, "hb", "Heartbeat", {}]')
                reply: list[Any] = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
                return reply

        assert asyncio.run(station())[:2] == [3, "hb"]
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
    assert os.path.exists(cert)
