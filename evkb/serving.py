"""Running the service under uvicorn, in one process or several.

With ``--workers N`` uvicorn binds the listening socket itself with protocol 0, and
asyncio sets TCP_NODELAY only on accepted sockets whose protocol is IPPROTO_TCP, so
every worker's connections run with Nagle's algorithm: a keep-alive client then waits
for the peer's delayed ACK on every response (a ~40 ms floor per request; uvicorn
issue #3149). :class:`NoDelayH11Protocol` sets TCP_NODELAY on each accepted
connection itself, whoever created the listening socket; ``evkb serve --workers N``
uses it, and so can ``uvicorn --http evkb.serving:NoDelayH11Protocol``.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

from uvicorn.protocols.http.h11_impl import H11Protocol

APP_FACTORY = "evkb.web:app_from_env"
NODELAY_HTTP = "evkb.serving:NoDelayH11Protocol"


def set_nodelay(transport: asyncio.BaseTransport) -> None:
    """TCP_NODELAY on a connection's socket (nothing for Unix sockets)."""
    sock = transport.get_extra_info("socket")
    if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return
    with contextlib.suppress(OSError):  # the peer may be gone already
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class NoDelayH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with TCP_NODELAY set on every accepted connection (the
    WebSocket protocol takes over the same socket after an upgrade)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        set_nodelay(transport)
        super().connection_made(transport)
