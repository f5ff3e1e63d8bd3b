"""What every router shares: the service, who is asking, permission and CSRF
checks, bounded path and query parameters, page rendering."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, Path, Query, Request
from fastapi.responses import HTMLResponse

from evkb.accounts import Perm, Principal, Role
from evkb.limits import MAX_ID
from evkb.orders import WorkOrder
from evkb.render import render
from evkb.service import Service

SESSION_COOKIE = "evkb_session"
LOGIN_COOKIE = "evkb_login"  # the login form's CSRF token (no session yet)
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})

OrderId = Annotated[int, Path(ge=1, le=MAX_ID, description="work-order id")]
Offset = Annotated[int, Query(ge=0, le=MAX_ID)]


class LoginRequired(Exception):
    """No valid session or token: 401 for the API, 303 to /login for pages."""


class Forbidden(Exception):
    """Authenticated, but not allowed (role, CSRF, origin): 403."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def service(request: Request) -> Service:
    svc: Service = request.app.state.service()
    return svc


async def _service_dependency(request: Request) -> Service:
    # async: it does no I/O, and a sync dependency costs a thread hop per request
    return service(request)


Svc = Annotated[Service, Depends(_service_dependency)]


async def current(request: Request) -> Principal:
    """The principal of this request: a bearer token or a session cookie. Unsafe
    requests on a session must carry its CSRF token (form field or header) and, when
    the browser names one, come from our own origin."""
    cached = getattr(request.state, "principal", None)
    if isinstance(cached, Principal):
        return cached
    svc = service(request)
    auth = request.headers.get("authorization", "")
    who: Principal | None = None
    if auth:
        scheme, _, secret = auth.partition(" ")
        if scheme.lower() == "bearer":
            who = await _run(svc.accounts.bearer, secret.strip())
        if who is None:
            raise LoginRequired()
    else:
        sid = request.cookies.get(SESSION_COOKIE, "")
        who = await _run(svc.accounts.session, sid) if sid else None
        if who is None:
            raise LoginRequired()
        if request.method in UNSAFE:
            check_origin(request)
            sent = request.headers.get(CSRF_HEADER, "")
            if not sent and _is_form(request):
                form = await request.form()
                sent = str(form.get(CSRF_FIELD, ""))
            if not sent or not hmac.compare_digest(sent, who.csrf):
                raise Forbidden("missing or wrong CSRF token: reload the page and try again")
    request.state.principal = who
    return who


Who = Annotated[Principal, Depends(current)]


def require(perm: Perm) -> Callable[[Principal], Awaitable[Principal]]:
    async def check(who: Who) -> Principal:
        if not who.can(perm):
            raise Forbidden(f"{who.actor} ({who.role}) may not do this: needs {perm.value}")
        return who

    return check


def may_work(who: Principal, order: WorkOrder, perm: Perm) -> None:
    """Technicians work the orders assigned to them; other roles by permission."""
    if not who.can(perm):
        raise Forbidden(f"{who.actor} ({who.role}) may not do this: needs {perm.value}")
    if who.role is Role.technician and order.assignee != who.name:
        raise Forbidden(
            f"work order {order.id} is assigned to {order.assignee or 'nobody'}, "
            f"not to {who.name}: a dispatcher assigns it"
        )


def check_origin(request: Request) -> None:
    """A browser's Origin (or Referer) on an unsafe request must be this server."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin or origin == "null":
        if origin == "null":
            raise Forbidden("cross-origin request refused")
        return
    parts = urlsplit(origin)
    host = request.headers.get("host", "")
    if parts.netloc != host:
        raise Forbidden("cross-origin request refused")


def _is_form(request: Request) -> bool:
    ctype = request.headers.get("content-type", "")
    return ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data"))


async def _run(fn: Callable[[str], Principal | None], arg: str) -> Principal | None:
    from anyio import to_thread

    return await to_thread.run_sync(fn, arg)


def page(request: Request, name: str, ctx: dict[str, Any], status: int = 200) -> HTMLResponse:
    """A web page; the signed-in user and the session's CSRF token go to the layout."""
    who = getattr(request.state, "principal", None)
    full = {"who": who, "csrf": who.csrf if isinstance(who, Principal) else "", **ctx}
    return HTMLResponse(render(name, full), status_code=status)


def wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get(
        "accept", "text/html"
    )
