"""The ASGI application of ``evkb serve``: JSON API, server-rendered web UI and the
OCPP 1.6J endpoint, all thin adapters over ``evkb.service.Service``."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, HTTPException, Request, WebSocket
from fastapi import Query as Q
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from evkb import api
from evkb.orders import NotFound, WorkOrder
from evkb.render import render
from evkb.service import MAX_TEXT, Query, Service
from kb.errors import KBError, ObservationError

MAX_BODY = 64 * 1024  # bytes; larger request bodies get 413
_ANSWERS = Q(default_factory=list, description="answers, each 'question ref|value'")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


# ------------------------------------------------------------------ request bodies


class Answer(BaseModel):
    ref: str = Field(max_length=500, description="question ref (evidence or measurement id)")
    value: str = Field(max_length=200, description='"yes", "no", or a reading such as "482 ohm"')


class DiagnoseIn(BaseModel):
    text: str = Field(max_length=MAX_TEXT, description="what the technician observes")
    error: str | None = Field(None, max_length=100, description="station or OCPP error code")
    model: str | None = Field(None, max_length=100, description="equipment model")
    answers: list[Answer] = Field(default_factory=list, max_length=50)

    def query(self) -> Query:
        return Query(
            self.text, self.error, self.model, tuple((a.ref, a.value) for a in self.answers)
        )


class WorkOrderIn(DiagnoseIn):
    station: str = Field("", max_length=100)
    port: int | None = Field(None, ge=0, le=99)
    assignee: str = Field("", max_length=100)


class WorkOrderPatch(BaseModel):
    status: str | None = Field(None, description="open or assigned (close with /close)")
    assignee: str | None = Field(None, max_length=100)
    note: str | None = Field(None, max_length=2000)
    text: str | None = Field(
        None, max_length=MAX_TEXT, description="new observations: the diagnosis is redone"
    )


class PartUsed(BaseModel):
    name: str = Field("", max_length=200)
    serial: str = Field("", max_length=100)


class CloseIn(BaseModel):
    root_cause: str = Field(max_length=300, description="cause id or title found on site")
    parts: list[PartUsed] = Field(default_factory=list, max_length=20)
    cable_length: str = Field("", max_length=50)
    notes: str = Field("", max_length=4000)
    port: int | None = Field(None, ge=0, le=99)


# ------------------------------------------------------------------ app


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes with 413 (by Content-Length, or
    while reading a chunked body)."""

    def __init__(self, app: Any, limit: int = MAX_BODY) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for k, v in scope.get("headers", []):
            if k == b"content-length" and v.isdigit() and int(v) > self.limit:
                await _too_large(send, self.limit)
                return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            msg = await receive()
            if msg["type"] != "http.request":
                break
            body = msg.get("body", b"")
            size += len(body)
            if size > self.limit:
                await _too_large(send, self.limit)
                return
            chunks.append(body)
            more = msg.get("more_body", False)
        whole = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": whole, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _too_large(send: Send, limit: int) -> None:
    body = f'{{"detail": "request body too large (limit {limit} bytes)"}}'.encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"connection", b"close")],
        }
    )
    await send({"type": "http.response.body", "body": body})


def create_app(kb_path: Path | None = None, db_url: str | None = None) -> Any:
    """The whole service as one ASGI app (wrapped in the body-size limit)."""
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

    app = FastAPI(
        title="evkb",
        version="1",
        summary="EV charger field service: diagnosis, knowledge base, work orders, OCPP intake",
        lifespan=lifespan,
        docs_url=None,  # served offline by evkb.docs
        redoc_url=None,
    )
    from evkb import docs

    docs.mount(app)

    def svc() -> Service:
        s = holder.get("svc")
        if s is None:  # used without the lifespan (e.g. a plain TestClient call)
            s = holder["svc"] = Service(kb_file, db_url)
        return s

    app.state.service = svc

    @app.exception_handler(KBError)
    async def kb_error(request: Request, exc: KBError) -> Response:
        code = 404 if isinstance(exc, NotFound) else 422
        if _wants_html(request):
            return _page("web/error.html.j2", {"title": "Cannot do that", "detail": str(exc)}, code)
        return JSONResponse({"detail": str(exc)}, status_code=code)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        errs = [
            f"{'.'.join(str(x) for x in e['loc'] if x != 'body')}: {e['msg']}" for e in exc.errors()
        ]
        if _wants_html(request):
            return _page(
                "web/error.html.j2", {"title": "Bad request", "detail": "; ".join(errs)}, 422
            )
        return JSONResponse({"detail": "; ".join(errs), "errors": errs}, status_code=422)

    # ------------------------------------------------------------ JSON API

    @app.get("/api/health", tags=["service"])
    def health() -> dict[str, Any]:
        s = svc()
        return {
            "status": "ok",
            "kb": str(s.kb_path),
            **s.kb.summary(),
            "db": s.store.dialect,
        }

    @app.post("/api/diagnose", tags=["diagnosis"])
    def diagnose(body: DiagnoseIn) -> dict[str, Any]:
        """Ranked causes, minimal procedure, parts, tools and next questions: exactly
        the JSON of `evkb diagnose --json`, with the repair history of closed work
        orders applied."""
        return svc().diagnosis_json(body.query())

    @app.get("/api/kb/symptoms", tags=["knowledge base"])
    def symptoms(
        q: str = Q(..., max_length=500), limit: int = Q(8, ge=1, le=50)
    ) -> list[dict[str, Any]]:
        """Known symptoms sharing words with `q` (the last word may be incomplete)."""
        return api.symptoms_json(svc().kb, q, limit)

    @app.get("/api/kb/error-codes/{code}", tags=["knowledge base"])
    def error_code(code: str) -> dict[str, Any]:
        """What triggers a code and its causes (most frequent first); OCPP codes are
        resolved to the station codes they stand for."""
        found = api.error_code_json(svc().kb, code)
        if found is None:
            raise HTTPException(404, f"error code {code!r} is not in the knowledge base")
        return found

    @app.get("/api/kb/parts", tags=["knowledge base"])
    def parts(q: str = Q("", max_length=200)) -> list[dict[str, Any]]:
        """Parts (filtered by id or name words) with the causes whose fix needs them."""
        return api.parts_json(svc().kb, q)

    @app.get("/api/kb/causes", tags=["knowledge base"])
    def causes(
        equipment: str = Q("", max_length=200), part: str = Q("", max_length=200)
    ) -> list[dict[str, Any]]:
        """Causes of the knowledge base; `part` keeps those whose fix needs that part."""
        kb = svc().kb
        if part:
            seen: dict[str, dict[str, Any]] = {}
            for p in api.parts_json(kb, part):
                for c in p["causes"]:
                    seen.setdefault(c["id"], c)
            found = list(seen.values())
        else:
            found = [api.cause_json(c) for c in kb.causes]
        return [c for c in found if not equipment or c["equipment"] == equipment]

    @app.get("/api/workorders", tags=["work orders"])
    def list_orders(
        status: str | None = None,
        station: str | None = Q(None, max_length=100),
        limit: int = Q(100, ge=1, le=1000),
        offset: int = Q(0, ge=0),
    ) -> list[dict[str, Any]]:
        return [
            _summary(o)
            for o in svc().store.list(status=status, station=station, limit=limit, offset=offset)
        ]

    @app.get("/api/workorders/{oid}", tags=["work orders"])
    def get_order(oid: int) -> dict[str, Any]:
        return svc().store.get(oid).to_json()

    @app.post("/api/workorders", status_code=201, tags=["work orders"])
    def create_order(body: WorkOrderIn) -> dict[str, Any]:
        """Diagnose the observation and open a work order with the diagnosis."""
        o = svc().create_order(
            body.query(), station=body.station, port=body.port, assignee=body.assignee
        )
        return o.to_json()

    @app.patch("/api/workorders/{oid}", tags=["work orders"])
    def update_order(oid: int, body: WorkOrderPatch) -> dict[str, Any]:
        s = svc()
        o = s.store.update(oid, status=body.status, assignee=body.assignee, note=body.note)
        if body.text is not None:
            o = s.rediagnose(o, body.text)
        return o.to_json()

    @app.post("/api/workorders/{oid}/close", tags=["work orders"])
    def close_order(oid: int, body: CloseIn) -> dict[str, Any]:
        """Close with the repair log; the root cause then counts in the repair
        history that raises its prior for this equipment and error code."""
        o = svc().close_order(
            oid,
            root_cause=body.root_cause,
            parts=[p.model_dump() for p in body.parts],
            cable_length=body.cable_length,
            notes=body.notes,
            port=body.port,
        )
        return o.to_json()

    # ------------------------------------------------------------ web UI

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index(
        text: str = "",
        error: str = "",
        model: str = "",
        a: list[str] = _ANSWERS,
        aref: str = "",
        aval: str = "",
    ) -> Response:
        s = svc()
        answers = [tuple(x.split("|", 1)) for x in a if "|" in x]
        if aref and aval.strip():
            answers.append((aref, aval.strip()))
        pairs = [(r, v) for r, v in answers][:50]
        q = Query(text.strip(), error.strip() or None, model.strip() or None, tuple(pairs))
        ctx = _index_context(s, q)
        return _page("web/index.html.j2", ctx, 422 if ctx["problem"] else 200)

    @app.post("/workorders", include_in_schema=False)
    async def web_create(request: Request) -> Response:
        form = await request.form()
        s = svc()
        answers = tuple(tuple(str(x).split("|", 1)) for x in form.getlist("a") if "|" in str(x))
        q = Query(
            str(form.get("text", "")).strip(),
            str(form.get("error", "")).strip() or None,
            str(form.get("model", "")).strip() or None,
            answers,  # type: ignore[arg-type]
        )
        port = _port(str(form.get("port", "")))
        o = s.create_order(
            q, station=str(form.get("station", "")).strip()[:100], port=port, origin="web"
        )
        return RedirectResponse(f"/workorders/{o.id}", status_code=303)

    @app.get("/workorders", response_class=HTMLResponse, include_in_schema=False)
    def web_orders(status: str | None = None) -> Response:
        orders = svc().store.list(status=status or None)
        return _page("web/orders.html.j2", {"orders": orders, "status": status or ""})

    @app.get("/workorders/{oid}", response_class=HTMLResponse, include_in_schema=False)
    def web_order(oid: int) -> Response:
        s = svc()
        return _page("web/order.html.j2", _order_context(s, s.store.get(oid)))

    @app.get("/workorders/{oid}/print", response_class=HTMLResponse, include_in_schema=False)
    def web_print(oid: int) -> Response:
        s = svc()
        return HTMLResponse(
            render("workorder.html.j2", s.workorder_view(s.store.get(oid)).context())
        )

    @app.get("/workorders/{oid}/pdf", include_in_schema=False)
    def web_pdf(oid: int) -> Response:
        from evkb.pdf import PDFUnavailable, html_to_pdf

        s = svc()
        html = render("workorder.html.j2", s.workorder_view(s.store.get(oid)).context())
        try:
            pdf = html_to_pdf(html)
        except PDFUnavailable as e:
            return _page("web/error.html.j2", {"title": "No PDF here", "detail": str(e)}, 503)
        name = f"workorder-{oid}.pdf"
        return Response(
            pdf,
            media_type="application/pdf",
            headers={"Content-Disposition": f'inline; filename="{name}"'},
        )

    @app.post("/workorders/{oid}/assign", include_in_schema=False)
    async def web_assign(oid: int, request: Request) -> Response:
        form = await request.form()
        svc().store.update(oid, assignee=str(form.get("assignee", "")).strip()[:100])
        return RedirectResponse(f"/workorders/{oid}", status_code=303)

    @app.post("/workorders/{oid}/close", include_in_schema=False)
    async def web_close(oid: int, request: Request) -> Response:
        form = await request.form()
        names = [str(x) for x in form.getlist("part_name")]
        serials = [str(x) for x in form.getlist("part_serial")]
        parts = [
            {"name": n.strip(), "serial": sn.strip()} for n, sn in zip(names, serials, strict=False)
        ]
        svc().close_order(
            oid,
            root_cause=str(form.get("root_cause", "")),
            parts=parts,
            cable_length=str(form.get("cable_length", "")).strip()[:50],
            notes=str(form.get("notes", ""))[:4000],
            port=_port(str(form.get("port", ""))),
        )
        return RedirectResponse(f"/workorders/{oid}", status_code=303)

    @app.post("/workorders/{oid}/reopen", include_in_schema=False)
    def web_reopen(oid: int) -> Response:
        svc().store.update(oid, status="open", note="reopened")
        return RedirectResponse(f"/workorders/{oid}", status_code=303)

    # ------------------------------------------------------------ OCPP

    @app.websocket("/ocpp/{station_id}")
    async def ocpp_endpoint(websocket: WebSocket, station_id: str) -> None:
        from evkb.ocpp_intake import serve_station

        await serve_station(websocket, station_id, svc())

    return BodyLimit(app)


# ------------------------------------------------------------------ helpers


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get(
        "accept", "text/html"
    )


def _page(name: str, ctx: dict[str, Any], status: int = 200) -> HTMLResponse:
    return HTMLResponse(render(name, ctx), status_code=status)


def _port(value: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    if not value.isdigit() or int(value) > 99:
        raise ObservationError(f"port must be a number from 0 to 99, not {value[:20]!r}")
    return int(value)


def _summary(o: WorkOrder) -> dict[str, Any]:
    data = o.to_json()
    diag = data.pop("diagnosis")
    data.pop("events")
    data["likely_cause"] = diag["causes"][0]["title"] if diag.get("causes") else None
    return data


def _index_context(s: Service, q: Query) -> dict[str, Any]:
    labels = s.question_labels
    ctx: dict[str, Any] = {
        "q": q,
        "answers": [{"ref": r, "value": v, "label": labels.get(r, r)} for r, v in q.answers],
        "undo": [
            urlencode(
                [("text", q.text), ("error", q.error or ""), ("model", q.model or "")]
                + [("a", f"{r}|{v}") for j, (r, v) in enumerate(q.answers) if j != i]
            )
            for i in range(len(q.answers))
        ],
        **s.choices,
        "result": None,
        "deltas": {},
        "problem": "",
    }
    if not q.text and not q.error:
        return ctx
    try:
        result = s.diagnosis_json(q)
    except ObservationError as e:
        ctx["problem"] = str(e)
        return ctx
    ctx["result"] = result
    if q.answers:
        before = s.diagnosis_json(Query(q.text, q.error, q.model, q.answers[:-1]))
        old = {c["id"]: c["confidence"] for c in before["causes"]}
        ctx["deltas"] = {
            c["id"]: round(c["confidence"] - old.get(c["id"], 0.0), 2) for c in result["causes"]
        }
    return ctx


def _order_context(s: Service, o: WorkOrder) -> dict[str, Any]:
    ctx = s.workorder_view(o).context()
    ranked = [c["id"] for c in o.diagnosis.get("causes", [])]
    titles = s.cause_titles
    others = [
        c.id
        for c in s.kb.causes
        if c.id not in ranked and (not o.equipment or c.equipment in (o.equipment, ""))
    ]
    ctx.update(
        order=o,
        problem="",
        root_choices=[{"id": cid, "title": titles.get(cid, cid)} for cid in ranked + others],
        root_title=titles.get(o.root_cause, o.root_cause),
        part_names=[p.name for p in s.kb.parts],
    )
    return ctx


def app_from_env() -> Any:
    """For ``uvicorn --factory evkb.web:app_from_env`` (several worker processes):
    the knowledge base and database come from $EVKB_KB and $EVKB_DB."""
    kb = os.environ.get("EVKB_KB")
    return create_app(Path(kb) if kb else None, os.environ.get("EVKB_DB"))
