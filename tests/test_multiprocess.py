"""Two `evkb serve` processes sharing one database (SQLite file, PostgreSQL), as a
deployment with several service processes runs them (issue 13, failure 8 and the
durability finding): the same fault reported through both opens one order;
simultaneous first BootNotifications of many stations get no CALLERROR; kill -9
of one process loses no write it acknowledged."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from websockets.typing import Subprotocol

from tests.auth import basic, bearer, people
from tests.live import free_port, serve_process

STATIONS = [f"MP-{i:03d}" for i in range(200)]

OCPP16 = Subprotocol("ocpp1.6")


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    from tests.conftest import fresh_postgres_db

    return fresh_postgres_db(request.getfixturevalue("postgres_url"))


@pytest.fixture
def two(
    seed_kb_file: Path, shared_db: str, tmp_path: Path
) -> Iterator[tuple[list[Any], list[str], dict[str, str]]]:
    """Two service processes on one database: (processes, base URLs, API headers)."""
    p = people(shared_db)
    p.user("root", "admin")
    for sid in STATIONS:
        p.station(sid)
    headers = bearer(p.token("ops", "admin"))
    procs, bases = [], []
    try:
        for name in ("a", "b"):
            proc, base = serve_process(
                seed_kb_file, shared_db, free_port(), tmp_path / f"serve-{name}.log"
            )
            procs.append(proc)
            bases.append(base)
        yield procs, bases, headers
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
            proc.wait(timeout=30)


async def exchange(base: str, station: str, frames: list[str]) -> list[Any]:
    url = base.replace("http://", "ws://") + f"/ocpp/{station}"
    async with websockets.connect(
        url, subprotocols=[OCPP16], additional_headers=basic(station), open_timeout=60
    ) as ws:
        out = []
        for f in frames:
            await ws.send(f)
            out.append(json.loads(await asyncio.wait_for(ws.recv(), timeout=60)))
        return out


def boot(uid: str) -> str:
    payload = {"chargePointVendor": "ChargePoint", "chargePointModel": "CT4000"}
    return json.dumps([2, uid, "BootNotification", payload])


def fault(uid: str) -> str:
    payload = {"connectorId": 1, "errorCode": "OtherError", "status": "Faulted",
               "vendorErrorCode": "CP-ERR-RET"}  # fmt: skip
    return json.dumps([2, uid, "StatusNotification", payload])


def test_simultaneous_first_boots_and_duplicate_faults_across_two_processes(
    two: tuple[list[Any], list[str], dict[str, str]],
) -> None:
    _procs, bases, headers = two

    async def everyone() -> list[list[Any]]:
        # 200 stations boot at once, half on each process; the first 20 then report
        # the same fault through both processes at once
        boots = [exchange(bases[i % 2], sid, [boot(f"b{i}")]) for i, sid in enumerate(STATIONS)]
        out = list(await asyncio.gather(*boots))
        faults = [exchange(b, sid, [fault(f"f-{sid}")]) for sid in STATIONS[:20] for b in bases]
        out += await asyncio.gather(*faults)
        return out

    replies = [r for conn in asyncio.run(everyone()) for r in conn]
    errors = [r for r in replies if r[0] != 3]
    assert errors == [], errors[:5]
    assert len(replies) == 240
    listed = httpx.get(f"{bases[0]}/api/workorders", params={"limit": 1000}, headers=headers)
    orders = listed.json()
    assert len(orders) == 20, [o["station"] for o in orders]
    assert sorted(o["station"] for o in orders) == STATIONS[:20]
    for o in orders[:3]:
        full = httpx.get(f"{bases[1]}/api/workorders/{o['id']}", headers=headers).json()
        assert [e["kind"] for e in full["events"]] == ["created", "reported again"]
    stations = httpx.get(f"{bases[1]}/api/health").json()
    assert stations["status"] == "ok"


def test_kill_9_of_one_process_loses_no_acknowledged_write(
    two: tuple[list[Any], list[str], dict[str, str]],
) -> None:
    procs, bases, headers = two
    acked: list[int] = []
    lock = threading.Lock()
    enough = threading.Event()

    def writer(n: int) -> None:
        with httpx.Client(base_url=bases[0], headers=headers, timeout=60) as c:
            for i in range(1000):
                try:
                    r = c.post(
                        "/api/workorders",
                        json={"text": "cable hangs loose", "error": "CP-ERR-RET",
                              "station": f"K-{n}-{i}"},
                    )  # fmt: skip
                except httpx.TransportError:
                    return  # the process is gone
                if r.status_code == 201:
                    with lock:
                        acked.append(r.json()["id"])
                        if len(acked) >= 40:
                            enough.set()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    assert enough.wait(timeout=300), "no writes acknowledged"
    os.kill(procs[0].pid, signal.SIGKILL)  # requests are in flight
    for t in threads:
        t.join(timeout=120)
    procs[0].wait(timeout=30)
    with httpx.Client(base_url=bases[1], headers=headers, timeout=60) as c:
        stored = {o["id"] for o in c.get("/api/workorders", params={"limit": 1000}).json()}
        assert set(acked) <= stored, sorted(set(acked) - stored)[:10]
        # the survivor goes on writing
        assert c.post("/api/workorders", json={"text": "cable hangs loose"}).status_code == 201
    print(f"\nkill -9 with writes in flight: {len(acked)} acknowledged, all stored")
