"""OCPP fault intake: a minimal central system at ``/ocpp/{station_id}`` speaking
OCPP 1.6J (subprotocol ``ocpp1.6``) and OCPP 2.0.1 (``ocpp2.0.1``).

Security profiles 1 and 2, for both versions: a station authenticates on the WebSocket
upgrade with HTTP Basic auth (username = its id, password = the one `evkb station
add` gave it); an unknown station or a wrong password gets 401 and no connection.
Over TLS (``evkb serve --ssl-certfile/--ssl-keyfile``) that is profile 2. Upgrades
that carry an Origin header (browsers always send one, stations do not) are refused
unless the origin is allowed, so a web page cannot speak as a station.

BootNotification records the station's vendor/model (-> equipment of the knowledge
base), Heartbeat keeps it seen, StatusNotification with status ``Faulted`` or an
error opens a work order with the diagnosis for that error (one per open fault),
and a later ``NoError`` notes the recovery on it. Malformed frames, unknown
actions, wrong payloads, frames over ``MAX_FRAME`` characters or nested deeper
than ``MAX_NESTING`` get a CALLERROR; the connection (and every other station's)
stays up. Messages larger than ``WS_MAX_SIZE`` are refused by the server before
they are buffered (close code 1009). A StatusNotification whose timestamp is not
newer than the connector's last accepted state change (a replay, or a message
delayed past a later one) reopens or recovers nothing; it is noted.

OCPP 2.0.1 (``CentralSystem201``): StatusNotification carries only a connector's
availability; a fault arrives as a NotifyEvent about a component, which opens or
updates the work order of that station, EVSE, connector and component (diagnosed by
its ``techCode``); ``cleared`` notes the recovery. SecurityEventNotification is
kept on the station's history (the audit trail).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from anyio import to_thread
from ocpp.exceptions import (
    FormatViolationError,
    OCPPError,
    PropertyConstraintViolationError,
    ProtocolError,
)
from ocpp.messages import CallError, unpack
from ocpp.routing import on
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call_result
from ocpp.v16.enums import Action, RegistrationStatus
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call_result as result201
from ocpp.v201.enums import Action as Action201
from ocpp.v201.enums import RegistrationStatusEnumType
from starlette.responses import Response
from starlette.websockets import WebSocket, WebSocketDisconnect

from evkb.limits import MAX_CODE, MAX_FRAME, MAX_NAME, MAX_NESTING, MAX_PORT
from evkb.service import Service

LOG = logging.getLogger("evkb.ocpp")
SUBPROTOCOL = "ocpp1.6"
SUBPROTOCOL_201 = "ocpp2.0.1"
SUBPROTOCOLS = (SUBPROTOCOL_201, SUBPROTOCOL)
HEARTBEAT_S = 300
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACKETS = re.compile(r"[\[\]{}]")
# a station clock this far ahead of ours is not believed further
_CLOCK_SKEW = timedelta(minutes=5)


class _Connection:
    """The interface the ocpp library expects (recv/send) over a Starlette WebSocket."""

    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws

    async def recv(self) -> str:
        msg = await self.ws.receive()
        if msg["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(msg.get("code", 1000))
        text = msg.get("text")
        if text is None:
            data = msg.get("bytes") or b""
            text = data.decode("utf-8", errors="replace")
        return str(text)

    async def send(self, message: str) -> None:
        await self.ws.send_text(message)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class _Guarded:
    """What both protocol versions share: a frame the library cannot parse gets a
    CALLERROR instead of being dropped silently, and no handler error can end the
    connection."""

    id: str
    service: Service
    _send: Callable[[str], Awaitable[None]]  # the library's

    async def route_message(self, raw_msg: str) -> None:
        """As the library's, guarded (see the class)."""
        if len(raw_msg) > MAX_FRAME:
            await self._send(_call_error(raw_msg, ProtocolError(description="frame too large")))
            return
        if nesting(raw_msg) > MAX_NESTING:
            err = FormatViolationError(description=f"frame nested deeper than {MAX_NESTING}")
            await self._send(_call_error(raw_msg, err))
            return
        try:
            msg = unpack(raw_msg)
        except OCPPError as e:
            await self._send(_call_error(raw_msg, e))
            return
        if msg.message_type_id == 2 and not isinstance(msg.payload, dict):
            await self._send(
                _call_error(raw_msg, ProtocolError(description="payload must be an object"))
            )
            return
        try:
            await super().route_message(raw_msg)  # type: ignore[misc]
        except Exception as e:  # never let one bad frame close the station's connection
            LOG.exception("%s: error handling %s", self.id, raw_msg[:200])
            await self._send(_call_error(raw_msg, e))


class CentralSystem(_Guarded, ChargePoint16):  # type: ignore[misc]
    """OCPP 1.6J."""

    def __init__(self, station_id: str, connection: _Connection, service: Service) -> None:
        super().__init__(station_id, connection)
        self.service = service

    @on(Action.boot_notification)
    async def on_boot(self, charge_point_vendor: str, charge_point_model: str, **extra: Any) -> Any:
        fields = {
            "serial": str(extra.get("charge_point_serial_number", "")),
            "firmware": str(extra.get("firmware_version", "")),
        }
        await to_thread.run_sync(
            lambda: self.service.station_boot(
                self.id, charge_point_vendor, charge_point_model, **fields
            )
        )
        return call_result.BootNotification(
            current_time=_now(), interval=HEARTBEAT_S, status=RegistrationStatus.accepted
        )

    @on(Action.heartbeat)
    async def on_heartbeat(self) -> Any:
        await to_thread.run_sync(self.service.station_seen, self.id)
        return call_result.Heartbeat(current_time=_now())

    @on(Action.status_notification)
    async def on_status(self, connector_id: int, error_code: str, status: str, **extra: Any) -> Any:
        if not isinstance(connector_id, int) or not 0 <= connector_id <= MAX_PORT:
            raise PropertyConstraintViolationError(
                description=f"connectorId must be 0 to {MAX_PORT}, not {connector_id!r}"
            )
        info = str(extra.get("info", "") or "")
        vendor = str(extra.get("vendor_error_code", "") or "")
        at = station_time(extra.get("timestamp"))
        svc = self.service
        fault = status == "Faulted" or error_code != "NoError"
        fresh = await to_thread.run_sync(lambda: svc.fresh(self.id, connector_id, at))
        if not fresh:
            what = f"{status}, {error_code}" + (f", {vendor}" if vendor else "")
            await to_thread.run_sync(
                lambda: svc.station_stale(self.id, connector_id, str(at), what)
            )
        elif fault:
            await to_thread.run_sync(
                lambda: svc.station_fault(self.id, connector_id, status, error_code, vendor, info)
            )
        else:
            await to_thread.run_sync(lambda: svc.station_recovered(self.id, connector_id, status))
        if fresh:
            # a 1.6 connector is what 2.0.1 calls an EVSE (the order's port)
            one = 0 if connector_id == 0 else 1
            when = at or station_time(_now()) or ""
            await to_thread.run_sync(
                lambda: svc.station_availability(self.id, connector_id, one, status, when)
            )
        await to_thread.run_sync(svc.station_seen, self.id)
        return call_result.StatusNotification()


class CentralSystem201(_Guarded, ChargePoint201):  # type: ignore[misc]
    """OCPP 2.0.1: faults arrive as NotifyEvent (StatusNotification carries only a
    connector's availability)."""

    def __init__(self, station_id: str, connection: _Connection, service: Service) -> None:
        super().__init__(station_id, connection)
        self.service = service

    @on(Action201.boot_notification)
    async def on_boot(self, charging_station: dict[str, Any], reason: str, **_: Any) -> Any:
        vendor = str(charging_station.get("vendor_name", ""))
        model = str(charging_station.get("model", ""))
        fields = {
            "serial": str(charging_station.get("serial_number", "") or ""),
            "firmware": str(charging_station.get("firmware_version", "") or ""),
        }
        await to_thread.run_sync(
            lambda: self.service.station_boot(self.id, vendor, model, **fields)
        )
        return result201.BootNotification(
            current_time=_now(), interval=HEARTBEAT_S, status=RegistrationStatusEnumType.accepted
        )

    @on(Action201.heartbeat)
    async def on_heartbeat(self, **_: Any) -> Any:
        await to_thread.run_sync(self.service.station_seen, self.id)
        return result201.Heartbeat(current_time=_now())

    @on(Action201.status_notification)
    async def on_status(
        self, timestamp: str, connector_status: str, evse_id: int, connector_id: int, **_: Any
    ) -> Any:
        evse, connector = _id("evseId", evse_id), _id("connectorId", connector_id)
        at = station_time(timestamp) or _now()
        svc = self.service
        subject = f"connector {evse}/{connector}"
        if await to_thread.run_sync(lambda: svc.store.accept_subject_change(self.id, subject, at)):
            await to_thread.run_sync(
                lambda: svc.station_availability(self.id, evse, connector, connector_status, at)
            )
        else:
            await to_thread.run_sync(
                lambda: svc.station_stale(self.id, evse, at, f"{subject} {connector_status}")
            )
        await to_thread.run_sync(svc.station_seen, self.id)
        return result201.StatusNotification()

    @on(Action201.notify_event)
    async def on_event(self, event_data: list[Any], **_: Any) -> Any:
        for ev in event_data:
            await to_thread.run_sync(self._event, ev)
        await to_thread.run_sync(self.service.station_seen, self.id)
        return result201.NotifyEvent()

    def _event(self, ev: dict[str, Any]) -> None:
        """One EventData: a problem of a component opens or updates its work order,
        ``cleared`` notes the recovery; other events (periodic values, deltas that
        report no problem) change nothing."""
        comp = ev.get("component") or {}
        var = ev.get("variable") or {}
        where = comp.get("evse") or {}
        evse = _id("evseId", where["id"]) if "id" in where else None
        has_connector = where.get("connector_id") is not None
        connector = _id("connectorId", where["connector_id"]) if has_connector else None
        component = _named(comp)
        variable = _named(var)
        value = str(ev.get("actual_value", ""))[:200]
        code = str(ev.get("tech_code") or "")
        info = str(ev.get("tech_info") or "")[:500]
        cleared = ev.get("cleared") is True
        if not cleared and not is_problem(variable, value, code):
            return
        svc = self.service
        at = station_time(ev.get("timestamp")) or _now()
        key = f"event {evse or 0}/{connector or 0} {component}"
        if not svc.store.accept_subject_change(self.id, key, at):
            state = "cleared" if cleared else f"{variable} = {value}"
            svc.station_stale(self.id, evse or 0, at, f"{component} {state}")
            return
        if cleared:
            what = f"station reports {component} cleared ({variable} = {value})"
            svc.station_event_cleared(
                self.id, evse=evse, connector=connector, component=component, what=what
            )
            return
        svc.station_event_fault(
            self.id,
            evse=evse,
            connector=connector,
            component=component,
            variable=variable,
            value=value,
            tech_code=code[:MAX_CODE],
            tech_info=info,
        )

    @on(Action201.security_event_notification)
    async def on_security_event(self, type: str, timestamp: str, **extra: Any) -> Any:
        info = str(extra.get("tech_info") or "")[:500]
        at = station_time(timestamp) or _now()
        await to_thread.run_sync(
            lambda: self.service.station_security_event(self.id, type, at, info)
        )
        return result201.SecurityEventNotification()


# variables whose value reports a component's problem (OCPP 2.0.1 part 2, the
# standardized variables: a component's Problem, a protection device's Tripped)
_PROBLEM_VARIABLES = ("problem", "tripped")


def is_problem(variable: str, value: str, tech_code: str) -> bool:
    """Whether an event reports a problem (rather than a reading or a recovery): it
    carries a techCode, sets Problem or Tripped, or reports a Faulted state.

    >>> is_problem("Problem", "true", ""), is_problem("Power", "7400", "")
    (True, False)
    >>> is_problem("AvailabilityState", "Faulted", ""), is_problem("Power", "0", "CX015")
    (True, True)
    >>> is_problem("Problem", "false", "")
    False
    """
    if tech_code:
        return True
    name = variable.split("[", 1)[0].strip().lower()
    v = value.strip().lower()
    if name in _PROBLEM_VARIABLES:
        return v not in ("false", "0", "")
    return v == "faulted"


def _named(part: dict[str, Any]) -> str:
    """A component or variable as ``Name`` or ``Name[instance]``."""
    name = str(part.get("name", ""))[:MAX_NAME]
    inst = str(part.get("instance", "") or "")[:MAX_NAME]
    return f"{name}[{inst}]" if inst else name


def _id(name: str, v: Any) -> int:
    """An EVSE or connector id, checked like a 1.6 connector id (the EVSE is the
    work order's port)."""
    if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= MAX_PORT:
        raise PropertyConstraintViolationError(
            description=f"{name} must be 0 to {MAX_PORT}, not {v!r}"
        )
    return v


def nesting(raw: str) -> int:
    """The deepest nesting of JSON arrays and objects in ``raw`` (strings skipped),
    found without parsing it: Python's parser recurses, and a deep frame would end
    the connection with a RecursionError instead of a CALLERROR."""
    depth = deepest = 0
    for m in _BRACKETS.finditer(_STRINGS.sub("", raw)):
        if m.group() in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def station_time(value: Any) -> str | None:
    """A status message's timestamp as comparable UTC ISO text (microseconds), or
    None when it has none; a time ahead of our clock by more than the allowed skew
    counts as our time plus that skew, so a wrong clock cannot block later messages."""
    if not isinstance(value, str) or not value:
        return None
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise FormatViolationError(
            description=f"timestamp {value[:40]!r} is not ISO 8601"
        ) from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    t = min(t.astimezone(UTC), datetime.now(UTC) + _CLOCK_SKEW)
    return t.isoformat(timespec="microseconds")


def _call_error(raw: str, e: Exception) -> str:
    """A CALLERROR for ``raw``, answering its message id when one can be read."""
    uid = "-1"
    try:
        frame = json.loads(raw)
        if isinstance(frame, list) and len(frame) > 1 and isinstance(frame[1], str):
            uid = frame[1][:36]
    except (ValueError, RecursionError):
        pass
    if isinstance(e, OCPPError):
        code, desc, details = e.code, e.description, e.details or {}
    else:
        code, desc, details = "InternalError", "the central system could not handle it", {}
    return CallError(uid, code, desc, _plain(details)).to_json()  # type: ignore[no-any-return]


def _plain(details: Any) -> dict[str, Any]:
    try:
        json.dumps(details)
        return dict(details) if isinstance(details, dict) else {"detail": str(details)}
    except (TypeError, ValueError):
        return {"detail": str(details)[:500]}


def basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value or len(value) > 400:
        return None
    try:
        user, sep, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


async def _deny(ws: WebSocket, status: int, detail: str, headers: dict[str, str]) -> None:
    await ws.send_denial_response(
        Response(detail + "\n", status_code=status, headers=headers, media_type="text/plain")
    )


async def serve_station(
    ws: WebSocket, station_id: str, service: Service, allowed_origins: Sequence[str] = ()
) -> None:
    origin = ws.headers.get("origin")
    if origin is not None and origin not in allowed_origins:
        # a browser page (any site) must not speak as a station
        await _deny(ws, 403, "OCPP connections from web pages are not accepted", {})
        return
    if not station_id or len(station_id) > MAX_NAME:
        await ws.close(code=1008)
        return
    creds = basic_credentials(ws.headers.get("authorization", ""))
    ok = False
    if creds is not None and creds[0] == station_id:
        ok = await to_thread.run_sync(service.accounts.station_login, station_id, creds[1])
    if not ok:
        await to_thread.run_sync(
            lambda: service.store.audit(
                f"station:{station_id}", "station refused", f"station:{station_id}"
            )
        )
        await _deny(
            ws,
            401,
            "unknown station or wrong password",
            {"WWW-Authenticate": 'Basic realm="evkb OCPP", charset="UTF-8"'},
        )
        return
    offered = [p.strip() for p in ws.headers.get("sec-websocket-protocol", "").split(",")]
    chosen = next((p for p in offered if p in SUBPROTOCOLS), None)
    if chosen is None:
        # RFC 6455: refuse the handshake when no protocol we speak is offered
        await ws.close(code=1002)
        return
    await ws.accept(subprotocol=chosen)
    kind = CentralSystem201 if chosen == SUBPROTOCOL_201 else CentralSystem
    cp = kind(station_id, _Connection(ws), service)
    try:
        await cp.start()
    except WebSocketDisconnect:
        pass
    except Exception:  # the connection failed; the server and other stations go on
        LOG.exception("%s: connection ended with an error", station_id)
