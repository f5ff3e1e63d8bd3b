"""OCPP 1.6J intake, with the real `ocpp` library acting as the charge point over a
loopback WebSocket to the real service (uvicorn)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import websockets
import websockets.asyncio.client
from ocpp.v16 import ChargePoint, call
from ocpp.v16.enums import ChargePointErrorCode, ChargePointStatus, RegistrationStatus

from tests.auth import STATION_PASSWORD, basic, bearer, people
from tests.live import live_server

SPRING = "chargepoint-ct4000-cable-retractor/cause/retractor-spring-broken"
CATALOGUE = "station-error-codes/"  # manuals/station-error-codes.md
STATIONS = ["CT-0042", "CT-9", "CT-5", "CT-X", "GOOD", "BAD", "CT-1"]
API: dict[str, str] = {}  # the admin token's header, per test

T = TypeVar("T")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'orders.sqlite3'}"
    from tests.conftest import fresh_postgres_db

    return fresh_postgres_db(request.getfixturevalue("postgres_url"))


@pytest.fixture
def server(seed_kb_file: Path, db_url: str) -> Iterator[str]:
    p = people(db_url)
    for sid in STATIONS:
        # a key a person chose (argon2id) for one station, generated keys for the rest
        p.station(sid, STATION_PASSWORD if sid == "CT-1" else None)
    API.clear()
    API.update(bearer(p.token("ops", "admin")))
    with live_server(seed_kb_file, db_url) as base:
        yield base


def ws_url(base: str, station: str) -> str:
    return base.replace("http://", "ws://") + f"/ocpp/{station}"


def connect(base: str, station: str, **kw: Any) -> websockets.asyncio.client.connect:
    """A station's WebSocket, authenticated as the station (security profile 1)."""
    headers = kw.pop("additional_headers", None) or basic(station)
    return websockets.connect(
        ws_url(base, station), subprotocols=kw.pop("subprotocols", ["ocpp1.6"]),
        additional_headers=headers, **kw,
    )  # fmt: skip


async def with_charge_point(
    base: str, station: str, script: Callable[[ChargePoint], Awaitable[T]]
) -> T:
    """Connect as ``station`` with the ocpp library and run ``script(cp)``."""
    async with connect(base, station) as ws:
        assert ws.subprotocol == "ocpp1.6"
        cp = ChargePoint(station, ws)
        listener = asyncio.create_task(cp.start())
        try:
            return await asyncio.wait_for(script(cp), timeout=30)
        finally:
            listener.cancel()


def status(
    connector: int,
    state: ChargePointStatus,
    error: ChargePointErrorCode = ChargePointErrorCode.no_error,
    vendor_code: str | None = None,
    info: str | None = None,
) -> call.StatusNotification:
    return call.StatusNotification(
        connector_id=connector,
        error_code=error,
        status=state,
        vendor_error_code=vendor_code,
        info=info,
    )


def orders(base: str, **params: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = httpx.get(
        f"{base}/api/workorders", params=params, headers=API
    ).json()
    return out


def test_fault_opens_one_work_order_with_diagnosis_and_recovery_is_noted(server: str) -> None:
    async def script(cp: ChargePoint) -> list[Any]:
        boot = await cp.call(
            call.BootNotification(charge_point_model="CT4000", charge_point_vendor="ChargePoint")
        )
        beat = await cp.call(call.Heartbeat())
        fault = status(
            2,
            ChargePointStatus.faulted,
            ChargePointErrorCode.other_error,
            vendor_code="CP-ERR-RET",
            info="cable hanging to the ground",
        )
        await cp.call(fault)
        await cp.call(fault)  # the same fault again, while the order is open
        await cp.call(status(2, ChargePointStatus.available))
        return [boot, beat]

    boot, beat = asyncio.run(with_charge_point(server, "CT-0042", script))
    assert boot.status == RegistrationStatus.accepted and boot.interval > 0
    assert beat.current_time

    found = orders(server, station="CT-0042")
    assert len(found) == 1, found
    o = httpx.get(f"{server}/api/workorders/{found[0]['id']}", headers=API).json()
    assert (o["station"], o["port"], o["error"], o["origin"], o["status"]) == (
        "CT-0042", 2, "CP-ERR-RET", "ocpp", "open")  # fmt: skip
    assert o["equipment"] == "ChargePoint CT4000"  # from the BootNotification model
    assert o["diagnosis"]["causes"][0]["id"] == SPRING
    assert o["diagnosis"]["procedure"]
    kinds = [e["kind"] for e in o["events"]]
    assert {e["actor"] for e in o["events"]} == {"station:CT-0042"}
    assert kinds == ["created", "reported again", "recovered"]


def test_ocpp_error_code_alone_maps_to_the_station_code(server: str) -> None:
    async def script(cp: ChargePoint) -> None:
        await cp.call(
            status(1, ChargePointStatus.faulted, ChargePointErrorCode.ev_communication_error)
        )

    asyncio.run(with_charge_point(server, "CT-9", script))
    (o,) = orders(server, station="CT-9")
    full = httpx.get(f"{server}/api/workorders/{o['id']}", headers=API).json()
    assert full["error"] == "EVCommunicationError"
    ids = [c["id"] for c in full["diagnosis"]["causes"]]
    assert any("cable-retractor" in i for i in ids), "the alias must reach the CP-ERR-RET causes"
    # besides them, only what the code catalogue says the OCPP code itself means
    assert all("cable-retractor" in i or i.startswith(CATALOGUE) for i in ids), ids


def test_chargex_code_in_vendor_error_code_is_diagnosed_like_a_station_code(
    server: str,
) -> None:
    async def script(cp: ChargePoint) -> None:
        await cp.call(
            call.BootNotification(charge_point_model="CT4000", charge_point_vendor="ChargePoint")
        )
        # as EVerest sends ChargeX MREC codes: the closest 1.6 code plus CX0nn
        await cp.call(
            status(1, ChargePointStatus.faulted, ChargePointErrorCode.ground_failure, "CX002")
        )
        await cp.call(status(2, ChargePointStatus.faulted, ChargePointErrorCode.other_error,
                             "CX099"))  # fmt: skip

    asyncio.run(with_charge_point(server, "CT-X", script))
    by_port = {o["port"]: o for o in orders(server, station="CT-X")}
    gfci = httpx.get(f"{server}/api/workorders/{by_port[1]['id']}", headers=API).json()
    assert gfci["error"] == "CX002" and gfci["equipment"] == "ChargePoint CT4000"
    top = gfci["diagnosis"]["causes"][0]
    # CX002 and GroundFailure mean the same: a catalogue row of either comes first
    assert top["title"].startswith("Ground fault circuit interrupter")
    assert top["sources"][0]["path"] == "manuals/station-error-codes.md"
    assert gfci["diagnosis"]["procedure"]
    # an unknown vendor code: accepted, recorded on the order, shown as unknown
    other = httpx.get(f"{server}/api/workorders/{by_port[2]['id']}", headers=API).json()
    assert other["error"] == "OtherError"
    assert "CX099 is an unknown code (closest known:" in other["observations"]


def test_a_new_fault_after_closing_opens_a_new_order(server: str) -> None:
    fault = status(1, ChargePointStatus.faulted, ChargePointErrorCode.other_error, "CP-ERR-WIFI")

    async def report(cp: ChargePoint) -> None:
        await cp.call(fault)

    asyncio.run(with_charge_point(server, "CT-5", report))
    (first,) = orders(server, station="CT-5")
    r = httpx.post(
        f"{server}/api/workorders/{first['id']}/close",
        json={"root_cause": first["likely_cause"]},
        headers=API,
    )
    assert r.status_code == 200, r.text
    asyncio.run(with_charge_point(server, "CT-5", report))
    assert [o["status"] for o in orders(server, station="CT-5")] == ["open", "closed"]


async def raw_exchange(base: str, station: str, frames: list[str]) -> list[Any]:
    async with connect(base, station) as ws:
        out = []
        for f in frames:
            await ws.send(f)
            out.append(json.loads(await asyncio.wait_for(ws.recv(), timeout=10)))
        return out


BAD_FRAMES = [
    ("not json", "{oops", "FormatViolation"),
    ("not a list", '{"a": 1}', "ProtocolError"),
    ("unknown type", '[7, "u1", "Heartbeat", {}]', "PropertyConstraintViolation"),
    # not an OCPP 1.6 action (the ocpp library answers NotSupported)
    ("unknown action", '[2, "u2", "MakeCoffee", {}]', "NotSupported"),
    # an OCPP 1.6 action this intake does not handle
    ("unhandled action", '[2, "u5", "Authorize", {"idTag": "ABC"}]', "NotImplemented"),
    ("wrong payload", '[2, "u3", "StatusNotification", {"connectorId": "one"}]', None),
    ("payload not object", '[2, "u4", "Heartbeat", [1, 2]]', "ProtocolError"),
    ("missing elements", "[2]", "ProtocolError"),
]


@pytest.mark.parametrize("name,frame,code", BAD_FRAMES, ids=[b[0] for b in BAD_FRAMES])
def test_malformed_frames_get_callerror_and_the_connection_stays_up(
    server: str, name: str, frame: str, code: str | None
) -> None:
    ok = '[2, "hb", "Heartbeat", {}]'
    bad, after = asyncio.run(raw_exchange(server, "CT-X", [frame, ok]))
    assert bad[0] == 4, bad  # CALLERROR
    if code:
        assert bad[2] == code, bad
    else:
        assert bad[2] in ("FormationViolation", "FormatViolation", "TypeConstraintViolation")
    uid = json.loads(frame)[1] if frame.startswith("[2, ") else None
    if uid:
        assert bad[1] == uid
    assert after[0] == 3 and after[1] == "hb"  # the same connection still answers


def test_one_bad_station_does_not_disturb_another(server: str) -> None:
    async def both() -> list[Any]:
        async with connect(server, "GOOD") as ws_good:
            await raw_exchange(server, "BAD", ["{oops", "[2]", "\x00\xff"])
            await ws_good.send('[2, "g1", "Heartbeat", {}]')
            return [json.loads(await asyncio.wait_for(ws_good.recv(), timeout=10))]

    (reply,) = asyncio.run(both())
    assert reply[:2] == [3, "g1"]
    assert httpx.get(f"{server}/api/health").json()["status"] == "ok"


def test_handshake_without_an_ocpp_subprotocol_we_speak_is_refused(server: str) -> None:
    async def handshake() -> None:
        async with connect(server, "CT-1", subprotocols=["ocpp2.1"]) as ws:
            # accepted by mistake, the connection would stay open: fail, do not hang
            await asyncio.wait_for(ws.recv(), timeout=10)

    with pytest.raises((websockets.InvalidStatus, websockets.ConnectionClosed)):
        asyncio.run(handshake())
