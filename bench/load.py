"""A small closed-loop HTTP/1.1 load generator: ``concurrency`` keep-alive
connections, each sending the next request as soon as the last answer is read, for
a fixed time after a warm-up. Raw asyncio streams rather than an HTTP client
library, so the client costs little CPU next to the server it measures."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

from bench.stats import summary


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()

    def encode(self, host: str) -> bytes:
        lines = [f"{self.method} {self.path} HTTP/1.1", f"Host: {host}"]
        lines += [f"{k}: {v}" for k, v in self.headers]
        if self.body or self.method == "POST":
            lines += ["Content-Type: application/json", f"Content-Length: {len(self.body)}"]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body


def json_post(path: str, data: Any, token: str = "") -> Request:
    auth = (("Authorization", f"Bearer {token}"),) if token else ()
    return Request("POST", path, json.dumps(data).encode(), auth)


async def _one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes) -> int:
    writer.write(raw)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return status


async def _loop(
    host: str, port: int, raw: bytes, warm_until: float, stop_at: float
) -> tuple[list[float], int]:
    reader, writer = await asyncio.open_connection(host, port)
    latencies: list[float] = []
    errors = 0
    try:
        while True:
            t0 = time.perf_counter()
            if t0 >= stop_at:
                break
            status = await _one(reader, writer, raw)
            t1 = time.perf_counter()
            if t0 >= warm_until:
                if status == 200:
                    latencies.append(t1 - t0)
                else:
                    errors += 1
    finally:
        writer.close()
    return latencies, errors


def run(
    base: str, request: Request, concurrency: int, seconds: float, warmup: float = 1.0
) -> dict[str, Any]:
    """Requests per second, latency (median, p95, in seconds) and errors (non-200)."""
    host, port = base.removeprefix("http://").rsplit(":", 1)
    raw = request.encode(f"{host}:{port}")

    async def main() -> list[tuple[list[float], int]]:
        start = time.perf_counter()
        warm_until, stop_at = start + warmup, start + warmup + seconds
        return await asyncio.gather(
            *(_loop(host, int(port), raw, warm_until, stop_at) for _ in range(concurrency))
        )

    results = asyncio.run(main())
    lat = [x for ls, _e in results for x in ls]
    return {
        "concurrency": concurrency,
        "seconds": seconds,
        "requests": len(lat),
        "rps": len(lat) / seconds,
        "latency": summary(lat),
        "samples": lat,
        "errors": sum(e for _ls, e in results),
    }
