"""ASGI middleware around the whole service: security headers on every response,
and request bodies bounded in size (413) and in the time they take to arrive (408)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from evkb.limits import BODY_TIMEOUT_S, MAX_BODY

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# no inline script anywhere (the pages' script is /static/evkb.js); inline style is
# allowed (the work-order stylesheet is shared with the standalone HTML work order)
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


class SecurityHeaders:
    """CSP (no inline script, no framing), nosniff, Referrer-Policy, no caching of
    pages and API answers, HSTS over TLS. A page that sets its own policy keeps it
    (the API docs pages, evkb.docs: their libraries' inline script, no other host)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        tls = scope.get("scheme") == "https"

        async def with_headers(msg: Message) -> None:
            if msg["type"] == "http.response.start":
                headers = [
                    (k, v) for k, v in msg.get("headers", []) if k.lower() != b"x-frame-options"
                ]
                if not any(k.lower() == b"content-security-policy" for k, _v in headers):
                    headers.append((b"content-security-policy", CSP.encode()))
                headers += [
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                    (b"x-frame-options", b"DENY"),
                    (b"cross-origin-opener-policy", b"same-origin"),
                ]
                if not path.startswith("/static/"):
                    headers.append((b"cache-control", b"no-store"))
                if tls:
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                msg["headers"] = headers
            await send(msg)

        await self.app(scope, receive, with_headers)


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes with 413 (by Content-Length, or
    while reading a chunked body), and bodies not complete within ``timeout``
    seconds with 408 (a client that sends half a body cannot hold a request open)."""

    def __init__(
        self, app: ASGIApp, limit: int = MAX_BODY, timeout: float = BODY_TIMEOUT_S
    ) -> None:
        self.app = app
        self.limit = limit
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for k, v in scope.get("headers", []):
            if k == b"content-length" and (not v.isdigit() or int(v) > self.limit):
                await _refuse(send, 413, f"request body too large (limit {self.limit} bytes)")
                return
        chunks: list[bytes] = []
        size = 0
        more = True
        disconnected: Message | None = None
        try:
            async with asyncio.timeout(self.timeout):
                while more:
                    msg = await receive()
                    if msg["type"] != "http.request":
                        disconnected = msg
                        break
                    body = msg.get("body", b"")
                    size += len(body)
                    if size > self.limit:
                        await _refuse(
                            send, 413, f"request body too large (limit {self.limit} bytes)"
                        )
                        return
                    chunks.append(body)
                    more = msg.get("more_body", False)
        except TimeoutError:
            await _refuse(send, 408, f"request body not received within {self.timeout:g} s")
            return
        whole = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                if disconnected is not None:
                    return disconnected
                return {"type": "http.request", "body": whole, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _refuse(send: Send, status: int, detail: str) -> None:
    import json

    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"connection", b"close")],
        }
    )
    await send({"type": "http.response.body", "body": body})
