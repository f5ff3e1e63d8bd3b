"""The baseline of the service benchmark: a FastAPI app that does nothing, with the
two routes the load loop calls (``uvicorn --factory bench.noop:app``)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI


def app() -> FastAPI:
    noop = FastAPI()

    @noop.get("/api/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @noop.post("/api/diagnose")
    async def diagnose(body: dict[str, Any]) -> dict[str, Any]:
        return {"causes": [], "procedure": [], "parts": [], "tools": [], "questions": []}

    return noop
