"""OCPP 2.0.1 intake on the same endpoint as 1.6 (subprotocol ``ocpp2.0.1``), with the
real `ocpp` library's v201 charging station over a loopback WebSocket to the real
service: boot, heartbeat, connector availability, NotifyEvent faults (ChargeX codes
in ``techCode``), their clearing, security events, and the station authentication."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import websockets
import websockets.asyncio.client
from ocpp.v201 import ChargePoint, call
from ocpp.v201.enums import RegistrationStatusEnumType
from websockets.typing import Subprotocol

from evkb.orders import Store
from tests.auth import basic, bearer, people
from tests.conftest import evkb
from tests.live import live_server

STATIONS = ["V2-1", "V2-2", "V2-3", "V2-4", "V2-5"]
API: dict[str, str] = {}
LATCH = "station-error-codes/cause/the-latch-on-the-connector-is-broken"

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
        p.station(sid)
    API.clear()
    API.update(bearer(p.token("ops", "admin")))
    with live_server(seed_kb_file, db_url) as base:
        yield base


def connect(base: str, station: str, **kw: Any) -> websockets.asyncio.client.connect:
    url = base.replace("http://", "ws://") + f"/ocpp/{station}"
    headers = kw.pop("additional_headers", None) or basic(station)
    return websockets.connect(
        url, subprotocols=[Subprotocol("ocpp2.0.1")], additional_headers=headers, **kw
    )


async def with_station(base: str, station: str, script: Callable[[ChargePoint], Awaitable[T]]) -> T:
    """Connect as ``station`` with the ocpp library's v201 ChargePoint; run ``script``."""
    async with connect(base, station) as ws:
        assert ws.subprotocol == "ocpp2.0.1"
        cs = ChargePoint(station, ws)
        listener = asyncio.create_task(cs.start())
        try:
            return await asyncio.wait_for(script(cs), timeout=30)
        finally:
            listener.cancel()


_clock = [datetime.now(UTC)]


def stamp() -> str:
    """Station timestamps that always move forward (replays are refused)."""
    _clock[0] += timedelta(seconds=1)
    return _clock[0].isoformat().replace("+00:00", "Z")


def event(
    event_id: int,
    component: str,
    *,
    evse: int | None = 1,
    connector: int | None = 1,
    variable: str = "Problem",
    value: str = "true",
    code: str | None = None,
    info: str | None = None,
    cleared: bool | None = None,
    trigger: str = "Alerting",
) -> dict[str, Any]:
    comp: dict[str, Any] = {"name": component}
    if evse is not None:
        comp["evse"] = {"id": evse, **({"connectorId": connector} if connector else {})}
    data: dict[str, Any] = {
        "eventId": event_id,
        "timestamp": stamp(),
        "trigger": trigger,
        "actualValue": value,
        "eventNotificationType": "HardWiredNotification",
        "component": comp,
        "variable": {"name": variable},
    }
    for key, v in (("techCode", code), ("techInfo", info), ("cleared", cleared)):
        if v is not None:
            data[key] = v
    return data


def notify(*events: dict[str, Any]) -> call.NotifyEvent:
    return call.NotifyEvent(generated_at=stamp(), seq_no=0, event_data=list(events))


def boot() -> call.BootNotification:
    return call.BootNotification(
        charging_station={"vendorName": "ChargePoint", "model": "CT4000", "serialNumber": "S1"},
        reason="PowerUp",
    )


def orders(base: str, **params: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = httpx.get(
        f"{base}/api/workorders", params=params, headers=API
    ).json()
    return out


def order(base: str, oid: int) -> dict[str, Any]:
    out: dict[str, Any] = httpx.get(f"{base}/api/workorders/{oid}", headers=API).json()
    return out


def test_notify_event_fault_opens_an_order_and_cleared_notes_the_recovery(
    server: str, db_url: str
) -> None:
    async def script(cs: ChargePoint) -> list[Any]:
        booted = await cs.call(boot())
        beat = await cs.call(call.Heartbeat())
        await cs.call(
            call.StatusNotification(
                timestamp=stamp(), connector_status="Faulted", evse_id=1, connector_id=1
            )
        )
        latch = event(1, "ConnectorPlugRetentionLock", code="CX025", info="latch does not hold")
        await cs.call(notify(latch))
        await cs.call(notify(event(2, "ConnectorPlugRetentionLock", code="CX025")))  # again
        # a reading, not a problem: changes nothing
        await cs.call(notify(event(3, "EVSE", variable="Power", value="7400", trigger="Delta")))
        await cs.call(notify(event(4, "ConnectorPlugRetentionLock", value="false", cleared=True)))
        return [booted, beat]

    booted, beat = asyncio.run(with_station(server, "V2-1", script))
    assert booted.status == RegistrationStatusEnumType.accepted and booted.interval > 0
    assert beat.current_time

    (found,) = orders(server, station="V2-1")
    o = order(server, found["id"])
    assert (o["station"], o["port"], o["error"], o["origin"], o["status"]) == (
        "V2-1", 1, "CX025", "ocpp", "open")  # fmt: skip
    assert o["equipment"] == "ChargePoint CT4000"  # from the BootNotification
    assert o["diagnosis"]["causes"][0]["id"] == LATCH
    assert o["diagnosis"]["causes"][0]["sources"][0]["path"] == "manuals/station-error-codes.md"
    assert o["diagnosis"]["procedure"], "a ranked diagnosis comes with its procedure"
    assert "latch does not hold" in o["observations"]
    assert [e["kind"] for e in o["events"]] == ["created", "reported again", "recovered"]
    assert {e["actor"] for e in o["events"]} == {"station:V2-1"}
    assert Store.open(db_url).connectors("V2-1")[0][:3] == (1, 1, "Faulted")
    shown = evkb("station", "show", "V2-1", "--db", db_url).stdout
    assert "ChargePoint CT4000" in shown and "EVSE 1 connector 1: Faulted" in shown


def test_unknown_tech_code_is_accepted_recorded_and_shown_as_unknown(server: str) -> None:
    async def script(cs: ChargePoint) -> None:
        await cs.call(notify(event(1, "ChargingStation", evse=None, code="CX099")))

    asyncio.run(with_station(server, "V2-2", script))
    (found,) = orders(server, station="V2-2")
    o = order(server, found["id"])
    assert o["error"] == "CX099" and o["port"] is None
    assert "CX099 is an unknown code (closest known:" in o["observations"]
    assert any("unknown error code 'CX099'" in w for w in o["diagnosis"]["warnings"])


def test_security_event_is_kept_on_the_station_history(server: str, db_url: str) -> None:
    async def script(cs: ChargePoint) -> None:
        await cs.call(
            call.SecurityEventNotification(
                type="TamperDetectionActivated", timestamp=stamp(), tech_info="door opened"
            )
        )

    asyncio.run(with_station(server, "V2-3", script))
    history = Store.open(db_url).audit_log(subject="station:V2-3")
    assert [e.action for e in history] == ["security event", "station added"]  # newest first
    entry = history[0]
    assert entry.actor == "station:V2-3"
    assert entry.detail["type"] == "TamperDetectionActivated"
    assert entry.detail["tech_info"] == "door opened"
    assert orders(server, station="V2-3") == []  # a security event is not a repair
    shown = evkb("station", "show", "V2-3", "--db", db_url)
    assert shown.returncode == 0, shown.stderr
    assert "security event  station:V2-3  type=TamperDetectionActivated" in shown.stdout


def test_replayed_fault_after_closing_opens_nothing(server: str) -> None:
    latch = event(1, "ConnectorPlugRetentionLock", code="CX025")

    async def report(cs: ChargePoint) -> None:
        await cs.call(notify(latch))

    asyncio.run(with_station(server, "V2-4", report))
    (first,) = orders(server, station="V2-4")
    r = httpx.post(
        f"{server}/api/workorders/{first['id']}/close",
        json={"root_cause": first["likely_cause"]},
        headers=API,
    )
    assert r.status_code == 200, r.text
    asyncio.run(with_station(server, "V2-4", report))  # the same message, replayed
    assert [o["status"] for o in orders(server, station="V2-4")] == ["closed"]


def test_wrong_password_gets_401_over_201_too(server: str) -> None:
    async def handshake() -> None:
        async with connect(server, "V2-5", additional_headers=basic("V2-5", "wrong" * 5)):
            pass

    with pytest.raises(websockets.InvalidStatus) as e:
        asyncio.run(handshake())
    assert e.value.response.status_code == 401


def test_bad_ids_get_a_callerror_and_the_connection_stays_up(server: str) -> None:
    async def script(cs: ChargePoint) -> Any:
        from ocpp.exceptions import PropertyConstraintViolationError

        with pytest.raises(PropertyConstraintViolationError):
            await cs.call(notify(event(1, "Connector", evse=500, code="CX001")), suppress=False)
        return await cs.call(call.Heartbeat())

    beat = asyncio.run(with_station(server, "V2-5", script))
    assert beat.current_time
