"""OCPP 1.6J fault intake: a minimal central system at ``/ocpp/{station_id}``.

BootNotification records the station's vendor/model (-> equipment of the knowledge
base), Heartbeat keeps it seen, StatusNotification with status ``Faulted`` or an
error opens a work order with the diagnosis for that error (one per open fault),
and a later ``NoError`` notes the recovery on it. Malformed frames, unknown
actions and wrong payloads get a CALLERROR; the connection (and every other
station's) stays up.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from anyio import to_thread
from ocpp.exceptions import OCPPError, ProtocolError
from ocpp.messages import CallError, unpack
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call_result
from ocpp.v16.enums import Action, RegistrationStatus
from starlette.websockets import WebSocket, WebSocketDisconnect

from evkb.service import Service

LOG = logging.getLogger("evkb.ocpp")
SUBPROTOCOL = "ocpp1.6"
MAX_FRAME = 64 * 1024
HEARTBEAT_S = 300


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
        info = str(extra.get("info", "") or "")
        vendor = str(extra.get("vendor_error_code", "") or "")
        svc = self.service
        if status == "Faulted" or error_code != "NoError":
            await to_thread.run_sync(
                lambda: svc.station_fault(self.id, connector_id, status, error_code, vendor, info)
            )
        else:
            await to_thread.run_sync(lambda: svc.station_recovered(self.id, connector_id, status))
        await to_thread.run_sync(svc.station_seen, self.id)
        return call_result.StatusNotification()


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


async def serve_station(ws: WebSocket, station_id: str, service: Service) -> None:
    offered = [p.strip() for p in ws.headers.get("sec-websocket-protocol", "").split(",")]
    if SUBPROTOCOL not in offered:
        # RFC 6455: refuse the handshake when no protocol we speak is offered
        await ws.close(code=1002)
        return
    if not station_id or len(station_id) > 100:
        await ws.close(code=1008)
        return
    await ws.accept(subprotocol=SUBPROTOCOL)
    cp = CentralSystem(station_id, _Connection(ws), service)
    try:
        await cp.start()
    except WebSocketDisconnect:
        pass
    except Exception:  # the connection failed; the server and other stations go on
        LOG.exception("%s: connection ended with an error", station_id)
