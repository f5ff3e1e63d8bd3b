"""OCPP 1.6J fault intake: a minimal central system at ``/ocpp/{station_id}``.

Security profiles 1 and 2 of OCPP 1.6: a station authenticates on the WebSocket
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
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
from collections.abc import Sequence
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
from ocpp.v16 import ChargePoint, call_result
from ocpp.v16.enums import Action, RegistrationStatus
from starlette.responses import Response
from starlette.websockets import WebSocket, WebSocketDisconnect

from evkb.limits import MAX_FRAME, MAX_NAME, MAX_NESTING, MAX_PORT
from evkb.service import Service

LOG = logging.getLogger("evkb.ocpp")
SUBPROTOCOL = "ocpp1.6"
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


class CentralSystem(ChargePoint):  # type: ignore[misc]
    def __init__(self, station_id: str, connection: _Connection, service: Service) -> None:
        super().__init__(station_id, connection)
        self.service = service

    async def route_message(self, raw_msg: str) -> None:
        """As the library's, but a frame it cannot parse gets a CALLERROR instead of
        being dropped silently, and no handler error can end the connection."""
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
            await super().route_message(raw_msg)
        except Exception as e:  # never let one bad frame close the station's connection
            LOG.exception("%s: error handling %s", self.id, raw_msg[:200])
            await self._send(_call_error(raw_msg, e))

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
        await to_thread.run_sync(svc.station_seen, self.id)
        return call_result.StatusNotification()


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
    if SUBPROTOCOL not in offered:
        # RFC 6455: refuse the handshake when no protocol we speak is offered
        await ws.close(code=1002)
        return
    await ws.accept(subprotocol=SUBPROTOCOL)
    cp = CentralSystem(station_id, _Connection(ws), service)
    try:
        await cp.start()
    except WebSocketDisconnect:
        pass
    except Exception:  # the connection failed; the server and other stations go on
        LOG.exception("%s: connection ended with an error", station_id)
