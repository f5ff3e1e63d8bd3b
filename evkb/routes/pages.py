"""The technicians' web app: server-rendered pages and plain HTML forms (every
POST form carries the session's CSRF token; JavaScript only refreshes suggestions)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi import Query as Q
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from evkb import limits as L
from evkb.accounts import Perm, Principal
from evkb.orders import STATUSES, WorkOrder
from evkb.render import render
from evkb.routes.deps import OrderId, Svc, Who, may_work, page, require
from evkb.service import Query, Service
from kb.errors import ObservationError

router = APIRouter(include_in_schema=False)
_ANSWERS = Q(default_factory=list, description="answers, each 'question ref|value'")
Diagnoser = Annotated[Principal, Depends(require(Perm.diagnose))]
Reader = Annotated[Principal, Depends(require(Perm.read_orders))]
Creator = Annotated[Principal, Depends(require(Perm.create_orders))]


@router.get("/", response_class=HTMLResponse)
def index(
    request: Request,
    svc: Svc,
    _who: Diagnoser,
    text: str = "",
    error: str = "",
    model: str = "",
    a: list[str] = _ANSWERS,
    aref: str = "",
    aval: str = "",
) -> Response:
    answers = [tuple(x.split("|", 1)) for x in a if "|" in x]
    if aref and aval.strip():
        answers.append((aref, aval.strip()))
    pairs = [(r, v) for r, v in answers][: L.MAX_ANSWERS + 1]
    q = Query(text.strip(), error.strip() or None, model.strip() or None, tuple(pairs))
    ctx = _index_context(svc, q)
    ctx["can_create"] = _who.can(Perm.create_orders)
    return page(request, "web/index.html.j2", ctx, 422 if ctx["problem"] else 200)


@router.post("/workorders")
async def web_create(request: Request, svc: Svc, who: Creator) -> Response:
    form = await request.form()
    answers = tuple(tuple(str(x).split("|", 1)) for x in form.getlist("a") if "|" in str(x))
    station = str(form.get("station", "")).strip()
    if len(station) > L.MAX_NAME:
        raise ObservationError(f"station id too long (at most {L.MAX_NAME} characters)")
    q = Query(
        str(form.get("text", "")).strip(),
        str(form.get("error", "")).strip() or None,
        str(form.get("model", "")).strip() or None,
        answers,  # type: ignore[arg-type]
    )
    o = svc.create_order(
        q, station=station, port=_port(str(form.get("port", ""))), origin="web", actor=who.actor
    )
    return RedirectResponse(f"/workorders/{o.id}", status_code=303)


@router.get("/workorders", response_class=HTMLResponse)
def web_orders(request: Request, svc: Svc, _who: Reader, status: str | None = None) -> Response:
    orders = svc.store.list(status=status or None)
    return page(
        request,
        "web/orders.html.j2",
        {"orders": orders, "status": status or "", "statuses": STATUSES},
    )


@router.get("/workorders/{oid}", response_class=HTMLResponse)
def web_order(request: Request, oid: OrderId, svc: Svc, who: Reader) -> Response:
    return page(request, "web/order.html.j2", _order_context(svc, svc.store.get(oid), who))


@router.get("/workorders/{oid}/print", response_class=HTMLResponse)
def web_print(oid: OrderId, svc: Svc, _who: Reader) -> Response:
    ctx = {**svc.workorder_view(svc.store.get(oid)).context(), "web": True}
    return HTMLResponse(render("workorder.html.j2", ctx))


@router.get("/workorders/{oid}/pdf")
def web_pdf(request: Request, oid: OrderId, svc: Svc, _who: Reader) -> Response:
    from evkb.pdf import PDFUnavailable, html_to_pdf

    html = render("workorder.html.j2", svc.workorder_view(svc.store.get(oid)).context())
    try:
        pdf = html_to_pdf(html)
    except PDFUnavailable as e:
        return page(request, "web/error.html.j2", {"title": "No PDF here", "detail": str(e)}, 503)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="workorder-{oid}.pdf"'},
    )


@router.post("/workorders/{oid}/assign")
async def web_assign(request: Request, oid: OrderId, svc: Svc, who: Who) -> Response:
    form = await request.form()
    may_work(who, svc.store.get(oid, events=0), Perm.assign_orders)
    assignee = str(form.get("assignee", "")).strip()
    if len(assignee) > L.MAX_NAME:
        raise ObservationError(f"assignee too long (at most {L.MAX_NAME} characters)")
    svc.store.update(oid, assignee=assignee, actor=who.actor)
    return RedirectResponse(f"/workorders/{oid}", status_code=303)


@router.post("/workorders/{oid}/close")
async def web_close(request: Request, oid: OrderId, svc: Svc, who: Who) -> Response:
    form = await request.form()
    may_work(who, svc.store.get(oid, events=0), Perm.close_orders)
    names = [str(x) for x in form.getlist("part_name")][: L.MAX_PARTS]
    serials = [str(x) for x in form.getlist("part_serial")][: L.MAX_PARTS]
    parts = [
        {"name": n.strip(), "serial": sn.strip()} for n, sn in zip(names, serials, strict=False)
    ]
    fields = {
        "cable_length": (str(form.get("cable_length", "")).strip(), L.MAX_CABLE),
        "notes": (str(form.get("notes", "")), L.MAX_NOTES),
        "root_cause": (str(form.get("root_cause", "")), L.MAX_ROOT_CAUSE),
    }
    for name, (value, limit) in fields.items():
        if len(value) > limit:
            raise ObservationError(f"{name} too long (at most {limit} characters)")
    for p in parts:
        if len(p["name"]) > L.MAX_PART_NAME or len(p["serial"]) > L.MAX_SERIAL:
            raise ObservationError("part name or serial number too long")
    verified = [
        int(str(v)) for v in form.getlist("verified") if str(v).isdigit() and len(str(v)) < 4
    ]
    svc.close_order(
        oid,
        root_cause=fields["root_cause"][0],
        who=who,
        parts=parts,
        cable_length=fields["cable_length"][0],
        notes=fields["notes"][0],
        port=_port(str(form.get("port", ""))),
        verified=verified,
    )
    return RedirectResponse(f"/workorders/{oid}", status_code=303)


@router.post("/workorders/{oid}/reopen")
async def web_reopen(request: Request, oid: OrderId, svc: Svc, who: Who) -> Response:
    form = await request.form()
    may_work(who, svc.store.get(oid, events=0), Perm.reopen_orders)
    reason = str(form.get("reason", "")).strip()
    if len(reason) > L.MAX_NOTE:
        raise ObservationError(f"reason too long (at most {L.MAX_NOTE} characters)")
    svc.store.reopen(oid, reason=reason, actor=who.actor)
    return RedirectResponse(f"/workorders/{oid}", status_code=303)


# ------------------------------------------------------------------ helpers


def _port(value: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    if not value.isdigit() or len(value) > 3 or int(value) > L.MAX_PORT:
        raise ObservationError(f"port must be a number from 0 to {L.MAX_PORT}, not {value[:20]!r}")
    return int(value)


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


def _order_context(s: Service, o: WorkOrder, who: Principal) -> dict[str, Any]:
    ctx = s.workorder_view(o).context()
    ranked = [c["id"] for c in o.diagnosis.get("causes", [])]
    titles = s.cause_titles
    others = [
        c.id
        for c in s.kb.causes
        if c.id not in ranked and (not o.equipment or c.equipment in (o.equipment, ""))
    ]
    mine = who.role.value != "technician" or o.assignee == who.name
    ctx.update(
        order=o,
        problem="",
        root_choices=[{"id": cid, "title": titles.get(cid, cid)} for cid in ranked + others],
        root_title=titles.get(o.root_cause, o.root_cause),
        part_names=[p.name for p in s.kb.parts],
        can_assign=who.can(Perm.assign_orders),
        can_close=who.can(Perm.close_orders) and mine,
        can_reopen=who.can(Perm.reopen_orders),
    )
    return ctx
