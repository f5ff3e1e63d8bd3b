"""Login and logout, static assets, the API documentation and the OCPP endpoint."""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path

from anyio import to_thread
from fastapi import APIRouter, Request, WebSocket
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from evkb.accounts import AuthError
from evkb.limits import MAX_NAME, MAX_PASSWORD, SESSION_HOURS
from evkb.routes.deps import (
    CSRF_FIELD,
    LOGIN_COOKIE,
    SESSION_COOKIE,
    Svc,
    Who,
    check_origin,
    page,
    service,
)

router = APIRouter(include_in_schema=False)
STATIC = Path(__file__).resolve().parent.parent / "static"
_ASSETS = {"evkb.js": "text/javascript; charset=utf-8"}


def _safe_next(target: str) -> str:
    """Only a path on this site (no //host, no scheme) is followed after login."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target[:2000]


def _login_page(request: Request, target: str, problem: str = "", status: int = 200) -> Response:
    token = secrets.token_urlsafe(32)
    resp = page(
        request,
        "web/login.html.j2",
        {"next": _safe_next(target), "problem": problem, "login_csrf": token},
        status,
    )
    resp.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/login",
    )
    return resp


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> Response:
    return _login_page(request, next)


@router.post("/login")
async def login(request: Request, svc: Svc) -> Response:
    check_origin(request)
    form = await request.form()
    target = str(form.get("next", "/"))
    sent = str(form.get(CSRF_FIELD, ""))
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not sent or not expected or not hmac.compare_digest(sent, expected):
        return _login_page(request, target, "The login form expired: please try again.", 403)
    name = str(form.get("username", "")).strip()[:MAX_NAME]
    password = str(form.get("password", ""))[: MAX_PASSWORD + 1]
    try:
        who = await to_thread.run_sync(svc.accounts.login, name, password)
    except AuthError as e:
        return _login_page(request, target, str(e), 401)
    sid, _csrf = await to_thread.run_sync(svc.accounts.start_session, who)
    resp = RedirectResponse(_safe_next(target), status_code=303)
    resp.set_cookie(
        SESSION_COOKIE,
        sid,
        max_age=SESSION_HOURS * 3600,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    resp.delete_cookie(LOGIN_COOKIE, path="/login")
    return resp


@router.post("/logout")
async def logout(request: Request, who: Who) -> Response:
    svc = service(request)
    await to_thread.run_sync(svc.accounts.end_session, request.cookies.get(SESSION_COOKIE, ""), who)
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp


@router.get("/static/{name}")
def static(name: str) -> Response:
    kind = _ASSETS.get(name)
    if kind is None:
        return JSONResponse({"detail": "not found"}, status_code=404)
    return Response(
        (STATIC / name).read_bytes(),
        media_type=kind,
        headers={"cache-control": "public, max-age=300"},
    )


@router.get("/openapi.json")
def openapi(request: Request, _who: Who) -> JSONResponse:
    return JSONResponse(request.app.openapi())


@router.websocket("/ocpp/{station_id}")
async def ocpp_endpoint(websocket: WebSocket, station_id: str) -> None:
    from evkb.ocpp_intake import serve_station

    app = websocket.app
    await serve_station(websocket, station_id, app.state.service(), app.state.ocpp_allowed_origins)
