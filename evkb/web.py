"""The ASGI application of ``evkb serve``: JSON API, server-rendered web UI and the
OCPP 1.6J endpoint, thin adapters (evkb/routes/, one router per resource) over
``evkb.service.Service``.

Around the app, outermost first: security headers, trusted hosts, the request-body
limit (size and read timeout). Every endpoint but the login page, static assets and
the health check needs a session (web) or a bearer token (API)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware

from evkb.limits import BODY_TIMEOUT_S, MAX_BODY
from evkb.orders import Conflict, NotFound, Unavailable
from evkb.routes import api as api_routes
from evkb.routes import auth, pages
from evkb.routes.deps import Forbidden, LoginRequired, page, wants_html
from evkb.security import ASGIApp, BodyLimit, SecurityHeaders
from evkb.service import Service
from kb.errors import KBError

__all__ = ["MAX_BODY", "app_from_env", "create_app"]
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
ENV_ORIGINS = "EVKB_OCPP_ORIGINS"


def create_app(
    kb_path: Path | None = None,
    db_url: str | None = None,
    *,
    allowed_hosts: Sequence[str] = LOOPBACK_HOSTS,
    ocpp_allowed_origins: Sequence[str] = (),
    body_timeout: float = BODY_TIMEOUT_S,
) -> ASGIApp:
    """The whole service as one ASGI app. ``allowed_hosts``: Host header values
    served (others get 400); ``ocpp_allowed_origins``: browser origins allowed to
    open an OCPP connection (none by default)."""
    from kb import store

    kb_file = kb_path or store.default_path()
    # load the knowledge base and open (migrate) the store now, so a bad path or an
    # unreachable database is reported before the server starts listening
    holder: dict[str, Service] = {"svc": Service(kb_file, db_url)}

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        svc = holder.get("svc") or Service(kb_file, db_url)
        holder["svc"] = svc
        svc.warm()
        yield
        svc.store.close_idle()

    app = FastAPI(
        title="evkb",
        version="1",
        summary="EV charger field service: diagnosis, knowledge base, work orders, OCPP intake",
        lifespan=lifespan,
        docs_url=None,  # served offline by evkb.docs, behind the login
        redoc_url=None,
        openapi_url=None,  # served by evkb.routes.auth, behind the login
    )
    from fastapi import Depends

    from evkb import docs
    from evkb.routes.deps import current

    app.openapi_url = "/openapi.json"  # where the docs pages find it (no route added here)
    docs.mount(app, [Depends(current)])

    def svc() -> Service:
        s = holder.get("svc")
        if s is None:  # used without the lifespan (e.g. a plain TestClient call)
            s = holder["svc"] = Service(kb_file, db_url)
        return s

    app.state.service = svc
    app.state.ocpp_allowed_origins = tuple(ocpp_allowed_origins)
    _handlers(app, svc)
    for r in (
        api_routes.health_router,
        api_routes.diagnosis_router,
        api_routes.kb_router,
        api_routes.orders_router,
        auth.router,
        pages.router,
    ):
        app.include_router(r)
    inner = BodyLimit(app, MAX_BODY, body_timeout)
    hosts = TrustedHostMiddleware(inner, allowed_hosts=list(allowed_hosts))
    return SecurityHeaders(hosts)


def _handlers(app: FastAPI, svc: Callable[[], Service]) -> None:
    def error(request: Request, title: str, detail: str, code: int) -> Response:
        detail = svc().store.scrub(detail)
        if wants_html(request):
            return page(request, "web/error.html.j2", {"title": title, "detail": detail}, code)
        return JSONResponse({"detail": detail}, status_code=code)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, _exc: LoginRequired) -> Response:
        if wants_html(request) and request.url.path != "/openapi.json":
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
        return JSONResponse(
            {"detail": "authentication required: a bearer token or a web login"},
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="evkb"'},
        )

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Response:
        return error(request, "Not allowed", exc.detail, 403)

    @app.exception_handler(KBError)
    async def kb_error(request: Request, exc: KBError) -> Response:
        if isinstance(exc, NotFound):
            return error(request, "Not found", str(exc), 404)
        if isinstance(exc, Conflict):
            return error(request, "Cannot change this record", str(exc), 409)
        if isinstance(exc, Unavailable):
            return error(request, "Service unavailable", str(exc), 503)
        return error(request, "Cannot do that", str(exc), 422)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        errs = [
            f"{'.'.join(str(x) for x in e['loc'] if x != 'body')}: {e['msg']}" for e in exc.errors()
        ]
        if wants_html(request):
            return error(request, "Bad request", "; ".join(errs), 422)
        return JSONResponse({"detail": "; ".join(errs), "errors": errs}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return error(request, "Cannot do that", str(exc.detail), exc.status_code)


def app_from_env() -> ASGIApp:
    """For ``uvicorn --factory evkb.web:app_from_env`` (several worker processes; what
    ``evkb serve --workers N`` runs): the knowledge base, database, served host names
    and allowed OCPP origins come from $EVKB_KB, $EVKB_DB, $EVKB_ALLOWED_HOSTS and
    $EVKB_OCPP_ORIGINS (comma-separated)."""

    def listed(name: str) -> list[str]:
        return [h.strip() for h in os.environ.get(name, "").split(",") if h.strip()]

    kb = os.environ.get("EVKB_KB")
    return create_app(
        Path(kb) if kb else None,
        os.environ.get("EVKB_DB"),
        allowed_hosts=listed("EVKB_ALLOWED_HOSTS") or LOOPBACK_HOSTS,
        ocpp_allowed_origins=listed(ENV_ORIGINS),
    )
