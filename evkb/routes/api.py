"""The JSON API: health, diagnosis, knowledge-base lookups, work orders."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from fastapi import Query as Q
from fastapi.responses import JSONResponse

from evkb import api
from evkb.accounts import Perm, Principal
from evkb.limits import EVENTS_PAGE, MAX_FILTER, MAX_LIST, MAX_NAME, MAX_QUERY
from evkb.orders import STATUSES, Conflict, WorkOrder
from evkb.routes.deps import Offset, OrderId, Svc, may_work, require
from evkb.routes.models import CloseIn, DiagnoseIn, ReopenIn, WorkOrderIn, WorkOrderPatch
from evkb.service import Service

health_router = APIRouter(tags=["service"])
diagnosis_router = APIRouter(tags=["diagnosis"])
kb_router = APIRouter(prefix="/api/kb", tags=["knowledge base"])
orders_router = APIRouter(prefix="/api/workorders", tags=["work orders"])

Diagnoser = Annotated[Principal, Depends(require(Perm.diagnose))]
Reader = Annotated[Principal, Depends(require(Perm.read_orders))]
Creator = Annotated[Principal, Depends(require(Perm.create_orders))]
Worker = Annotated[Principal, Depends(require(Perm.read_orders))]


@health_router.get("/api/health")
def health(svc: Svc) -> dict[str, Any]:
    """Unauthenticated liveness: 200 when the knowledge base is loaded and the
    database answers, 503 when the database does not."""
    svc.store.ping()
    return {"status": "ok", **svc.kb.summary(), "db": svc.store.dialect}


@diagnosis_router.post("/api/diagnose", response_model=None)
def diagnose(body: DiagnoseIn, svc: Svc, _who: Diagnoser) -> JSONResponse:
    """Ranked causes, minimal procedure, parts, tools and next questions: exactly
    the JSON of `evkb diagnose --json`, with the repair history of closed work
    orders applied."""
    # plain JSON already: serialised as it is (FastAPI's encoder walking every
    # value again cost an eighth of the request)
    return JSONResponse(svc.diagnosis_json(body.query()))


@kb_router.get("/symptoms")
def symptoms(
    svc: Svc,
    _who: Diagnoser,
    q: str = Q(..., max_length=MAX_QUERY),
    limit: int = Q(8, ge=1, le=50),
) -> list[dict[str, Any]]:
    """Known symptoms sharing words with `q` (the last word may be incomplete)."""
    return api.symptoms_json(svc.kb, q, limit)


@kb_router.get("/error-codes/{code}")
def error_code(code: str, svc: Svc, _who: Diagnoser) -> dict[str, Any]:
    """What triggers a code and its causes (most frequent first); OCPP codes are
    resolved to the station codes they stand for."""
    found = api.error_code_json(svc.kb, code[:MAX_QUERY])
    if found is None:
        raise HTTPException(404, f"error code {code[:MAX_QUERY]!r} is not in the knowledge base")
    return found


@kb_router.get("/parts")
def parts(svc: Svc, _who: Diagnoser, q: str = Q("", max_length=MAX_FILTER)) -> list[dict[str, Any]]:
    """Parts (filtered by id or name words) with the causes whose fix needs them."""
    return api.parts_json(svc.kb, q)


@kb_router.get("/causes")
def causes(
    svc: Svc,
    _who: Diagnoser,
    equipment: str = Q("", max_length=MAX_FILTER),
    part: str = Q("", max_length=MAX_FILTER),
) -> list[dict[str, Any]]:
    """Causes of the knowledge base; `part` keeps those whose fix needs that part."""
    kb = svc.kb
    if part:
        seen: dict[str, dict[str, Any]] = {}
        for p in api.parts_json(kb, part):
            for c in p["causes"]:
                seen.setdefault(c["id"], c)
        found = list(seen.values())
    else:
        found = [api.cause_json(c) for c in kb.causes]
    return [c for c in found if not equipment or c["equipment"] == equipment]


# ------------------------------------------------------------------ work orders


def summary(o: WorkOrder) -> dict[str, Any]:
    data = o.to_json(events=False)
    diag = data.pop("diagnosis")
    data["likely_cause"] = diag["causes"][0]["title"] if diag.get("causes") else None
    return data


def full(svc: Service, o: WorkOrder) -> dict[str, Any]:
    """An order as the API shows it: its record, the latest events (older ones
    through /events) and its verification checklist."""
    data = o.to_json()
    data["verification"] = svc.verification_items(o)
    return data


@orders_router.get("")
def list_orders(
    svc: Svc,
    _who: Reader,
    status: str | None = Q(None, description=" | ".join(STATUSES)),
    station: str | None = Q(None, max_length=MAX_NAME),
    assignee: str | None = Q(None, max_length=MAX_NAME),
    limit: int = Q(100, ge=1, le=MAX_LIST),
    offset: Offset = 0,
) -> list[dict[str, Any]]:
    orders = svc.store.list(
        status=status, station=station, assignee=assignee, limit=limit, offset=offset
    )
    return [summary(o) for o in orders]


@orders_router.get("/{oid}")
def get_order(oid: OrderId, svc: Svc, _who: Reader) -> dict[str, Any]:
    """One order with its diagnosis snapshot and its latest events
    (`events_total` says how many there are; page them with /events)."""
    return full(svc, svc.store.get(oid))


@orders_router.get("/{oid}/events")
def order_events(
    oid: OrderId,
    svc: Svc,
    _who: Reader,
    limit: int = Q(EVENTS_PAGE, ge=1, le=MAX_LIST),
    offset: Offset = 0,
) -> list[dict[str, Any]]:
    """The order's history, oldest first, one page at a time."""
    return [e.to_json() for e in svc.store.events(oid, limit=limit, offset=offset)]


@orders_router.post("", status_code=201)
def create_order(body: WorkOrderIn, svc: Svc, who: Creator) -> dict[str, Any]:
    """Diagnose the observation and open a work order with the diagnosis."""
    o = svc.create_order(
        body.query(),
        station=body.station,
        port=body.port,
        assignee=body.assignee,
        actor=who.actor,
    )
    return full(svc, o)


@orders_router.patch("/{oid}")
def update_order(oid: OrderId, body: WorkOrderPatch, svc: Svc, who: Worker) -> dict[str, Any]:
    """Assign (dispatcher), add a note or new observations (re-diagnosed), move
    between open and assigned. A closed order cannot be changed (409); give
    `status: open` with a `reason` to reopen it (dispatcher)."""
    o = svc.store.get(oid, events=0)
    if o.status == "closed":
        if body.status != "open" or body.assignee is not None or body.text is not None:
            raise Conflict(
                f"work order {oid} is closed: its record cannot be changed; reopen it "
                f"with a reason first (POST /api/workorders/{oid}/reopen)"
            )
        may_work(who, o, Perm.reopen_orders)
        return full(svc, svc.store.reopen(oid, reason=body.reason or "", actor=who.actor))
    if body.assignee is not None or body.status is not None:
        may_work(who, o, Perm.assign_orders)
    if body.note or body.text is not None:
        may_work(who, o, Perm.note_orders)
    o = svc.store.update(
        oid, status=body.status, assignee=body.assignee, note=body.note, actor=who.actor
    )
    if body.text is not None:
        o = svc.rediagnose(o, body.text, actor=who.actor)
    return full(svc, o)


@orders_router.post("/{oid}/reopen")
def reopen_order(oid: OrderId, body: ReopenIn, svc: Svc, who: Worker) -> dict[str, Any]:
    """Reopen a closed order (dispatcher); the closed version stays in its history."""
    may_work(who, svc.store.get(oid, events=0), Perm.reopen_orders)
    return full(svc, svc.store.reopen(oid, reason=body.reason, actor=who.actor))


@orders_router.post("/{oid}/close")
def close_order(oid: OrderId, body: CloseIn, svc: Svc, who: Worker) -> dict[str, Any]:
    """Close with the repair log and the verification checklist. The root cause
    counts in the repair history (raising its prior for this equipment and error
    code) only when a technician closes it with every checklist item done."""
    may_work(who, svc.store.get(oid, events=0), Perm.close_orders)
    o = svc.close_order(
        oid,
        root_cause=body.root_cause,
        who=who,
        parts=[p.model_dump() for p in body.parts],
        cable_length=body.cable_length,
        notes=body.notes,
        port=body.port,
        verified=body.verified,
    )
    return full(svc, o)
