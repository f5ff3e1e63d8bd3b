"""What the web app and the OCPP intake do, as plain synchronous calls over one
knowledge base and one work-order store (no HTTP here, so it is testable and the
adapters stay thin)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine import views
from engine.views import WorkOrderView
from evkb import api
from evkb.accounts import Accounts, Principal
from evkb.limits import MAX_ANSWERS, MAX_CODE, MAX_TEXT
from evkb.orders import Store, StoreError, WorkOrder
from kb.errors import ObservationError
from kb.schema import KnowledgeBase

if TYPE_CHECKING:
    from engine.diagnose import Diagnosis

KEEP_IDLE = 16  # PostgreSQL connections kept open per service process


@dataclass(frozen=True)
class Query:
    """A technician's observation plus answers to earlier questions."""

    text: str
    error: str | None = None
    model: str | None = None
    answers: tuple[tuple[str, str], ...] = ()

    def check(self) -> Query:
        if len(self.text) > MAX_TEXT:
            raise ObservationError(
                f"observation too long ({len(self.text)} characters; at most {MAX_TEXT})"
            )
        if self.error is not None and len(self.error) > MAX_CODE:
            raise ObservationError(f"error code too long (at most {MAX_CODE} characters)")
        if self.model is not None and len(self.model) > MAX_CODE:
            raise ObservationError(f"model too long (at most {MAX_CODE} characters)")
        if len(self.answers) > MAX_ANSWERS:
            raise ObservationError(f"too many answers (at most {MAX_ANSWERS})")
        return self


class Service:
    def __init__(self, kb_path: Path, db_url: str | None = None) -> None:
        self.kb_path = kb_path
        self.kb: KnowledgeBase = api.load(kb_path)
        # a long-running service keeps PostgreSQL connections between transactions
        self.store = Store.open(db_url, keep_idle=KEEP_IDLE)
        self.accounts = Accounts(self.store)
        self._warm = threading.Lock()

    # ------------------------------------------------------------ derived once per KB

    @cached_property
    def cause_titles(self) -> dict[str, str]:
        return {c.id: c.title for c in self.kb.causes}

    @cached_property
    def cause_by_title(self) -> dict[str, str]:
        return {c.title.lower(): c.id for c in self.kb.causes}

    @cached_property
    def question_labels(self) -> dict[str, str]:
        """What an answered question was about, by its ref (evidence or measurement)."""
        out = {e.id: e.text for e in self.kb.evidence}
        for m in self.kb.measurements:
            out[m.id] = f"{'–'.join(m.points) or m.quantity} reading"
        return out

    @cached_property
    def choices(self) -> dict[str, list[str]]:
        """Symptoms, error codes and models offered while typing."""
        return {
            "symptoms": sorted({e.text for e in self.kb.evidence if e.kind == "symptom"})[:200],
            "codes": sorted(
                {e.code for e in self.kb.error_codes} | {a.code for a in self.kb.code_aliases}
            ),
            "models": api.diagnoser(self.kb).equipment_names(),
        }

    def warm(self) -> None:
        """Build the engines of every equipment partition now, not on the first query."""
        d = api.diagnoser(self.kb)
        with self._warm:
            for eq in d.equipment_names():
                d.partition(eq)
            d.partition("*")
            api.lookup(self.kb)

    # ------------------------------------------------------------ diagnosis

    def diagnose(self, q: Query) -> Diagnosis:
        q.check()
        return api.diagnose(
            self.kb,
            q.text,
            q.error or None,
            q.model or None,
            answers=q.answers,
            history=self.store.history(),
        )

    def diagnosis_json(self, q: Query) -> dict[str, Any]:
        return api.diagnosis_json(self.diagnose(q))

    def equipment_of(self, d: Diagnosis) -> str:
        return "" if d.partition == "*" else str(d.partition)

    def equipment_for_model(self, model: str) -> str:
        key = api.diagnoser(self.kb).partition_key(model, [])
        return "" if key == "*" else str(key)

    # ------------------------------------------------------------ work orders

    def create_order(
        self,
        q: Query,
        *,
        station: str = "",
        port: int | None = None,
        assignee: str = "",
        origin: str = "api",
        actor: str = "",
    ) -> WorkOrder:
        if not q.text.strip() and not (q.error or "").strip():
            raise ObservationError("a work order needs an observation or an error code")
        d = self.diagnose(q)
        return self.store.create(
            station=station,
            port=port if port is not None else d.observation.port,
            equipment=self.equipment_of(d),
            error=q.error or "",
            observations=q.text,
            diagnosis=_snapshot(d, q),
            origin=origin,
            assignee=assignee,
            actor=actor,
        )

    def rediagnose(
        self, order: WorkOrder, text: str | None = None, *, actor: str = ""
    ) -> WorkOrder:
        """Diagnose the order's observations again (e.g. with new text or after the
        repair history changed) and store the new snapshot."""
        inp = order.diagnosis.get("input", {})
        q = Query(
            text if text is not None else order.observations,
            order.error or None,
            inp.get("model") or None,
            tuple((a["ref"], a["value"]) for a in inp.get("answers", [])),
        )
        return self.store.update(
            order.id,
            observations=q.text,
            diagnosis=_snapshot(self.diagnose(q), q),
            actor=actor,
        )

    def verification_items(self, order: WorkOrder) -> list[str]:
        """The verification checklist of an order's procedure (its snapshot)."""
        return list(self.workorder_view(order).verification)

    def close_order(
        self,
        oid: int,
        *,
        root_cause: str,
        who: Principal,
        parts: Sequence[dict[str, str]] = (),
        cable_length: str = "",
        notes: str = "",
        port: int | None = None,
        verified: Sequence[int] = (),
    ) -> WorkOrder:
        """Close with the repair log. The closure trains the repair history only
        when a technician closes it under their own account with every item of the
        verification checklist ticked (``verified``: indexes into the checklist)."""
        if root_cause not in self.cause_titles:
            found = self.cause_by_title.get(root_cause.strip().lower())
            if found is None:
                raise StoreError(
                    f"root cause {root_cause!r} is not a cause of the knowledge base; give a "
                    "cause id or title (GET /api/kb/causes lists them)"
                )
            root_cause = found
        items = self.verification_items(self.store.get(oid, events=0))
        done = sorted({i for i in verified if 0 <= i < len(items)})
        complete = bool(items) and len(done) == len(items)
        return self.store.close(
            oid,
            root_cause=root_cause,
            parts=parts,
            cable_length=cable_length,
            notes=notes,
            port=port,
            checklist=[items[i] for i in done],
            checklist_complete=complete,
            learn=complete and who.counts_for_learning,
            actor=who.actor,
        )

    def workorder_view(self, order: WorkOrder) -> WorkOrderView:
        """What the work-order templates show, from the stored snapshot (and, once
        closed, the repair log it was closed with)."""
        closed = None
        if order.status == "closed":
            closed = views.repair_log(self.kb, order.repair_log, order.closed_at or "")
        return views.work_order(
            self.kb,
            order.diagnosis,
            text=order.observations,
            error=order.error,
            station=order.station,
            port=order.port,
            equipment=order.equipment,
            closed=closed,
        )

    # ------------------------------------------------------------ OCPP intake

    def station_boot(self, sid: str, vendor: str, model: str, **extra: str) -> None:
        self.store.station_seen(
            sid,
            boot={
                "vendor": vendor,
                "model": model,
                "equipment": self.equipment_for_model(f"{vendor} {model}")
                or self.equipment_for_model(model),
                **extra,
            },
        )

    def station_seen(self, sid: str) -> None:
        self.store.station_seen(sid)

    def fresh(self, sid: str, connector: int, at: str | None) -> bool:
        """False for a status message older than (or as old as) the connector's last
        accepted state change: a replay or a stale message, which changes nothing.
        Messages without a timestamp cannot be judged and are taken as new."""
        if at is None:
            return True
        return self.store.accept_state_change(sid, connector, at)

    def station_stale(self, sid: str, connector: int, at: str, what: str) -> None:
        """Note a stale or replayed status message, on the connector's open fault
        orders and in the audit log."""
        text = f"stale report ignored ({what}, station time {at})"
        for o in self.store.open_faults_of(sid, None if connector == 0 else connector):
            self.store.add_event(o.id, "stale report", text, actor=f"station:{sid}")
        self.store.audit(f"station:{sid}", "stale status ignored", f"station:{sid}",
                         connector=connector, at=at, what=what)  # fmt: skip

    def station_fault(
        self,
        sid: str,
        connector: int,
        status: str,
        error_code: str,
        vendor_error_code: str = "",
        info: str = "",
    ) -> tuple[WorkOrder, bool]:
        """An OCPP 1.6 StatusNotification reporting a fault: open (or find) the work
        order for it, with the diagnosis for the error. Returns (order, created)."""
        codes = [c for c in (vendor_error_code, error_code) if c and c != "NoError"]
        error, note = self._known_code(codes)
        what = f"station reported {status}" + (f" ({', '.join(codes)})" if codes else "")
        text = info or what
        return self._fault_order(
            sid,
            key=f"{sid}|{connector}|{error or status}",
            port=connector or None,
            error=error,
            text=text + note,
        )

    def station_event_fault(
        self,
        sid: str,
        *,
        evse: int | None,
        connector: int | None,
        component: str,
        variable: str,
        value: str,
        tech_code: str = "",
        tech_info: str = "",
    ) -> tuple[WorkOrder, bool]:
        """An OCPP 2.0.1 NotifyEvent reporting a problem of a component: open (or
        update) the work order for that station, EVSE, connector and component, with
        the diagnosis for its ``techCode``. Returns (order, created)."""
        error, note = self._known_code([tech_code] if tech_code else [])
        where = component + (f" of EVSE {evse}" if evse else "")
        where += f" connector {connector}" if evse and connector else ""
        what = f"station reported {where}: {variable} = {value}"
        if tech_code:
            what += f" ({tech_code})"
        text = f"{tech_info}. {what}" if tech_info else what
        return self._fault_order(
            sid,
            key=event_key(sid, evse, connector, component),
            port=evse or None,
            error=error,
            text=text + note,
        )

    def station_event_cleared(
        self, sid: str, *, evse: int | None, connector: int | None, component: str, what: str
    ) -> WorkOrder | None:
        """A NotifyEvent with ``cleared``: note the recovery on the open order of that
        component, if there is one."""
        order = self.store.find_open_fault(event_key(sid, evse, connector, component))
        if order is None:
            return None
        self.store.add_event(order.id, "recovered", what, actor=f"station:{sid}")
        return self.store.get(order.id)

    def station_availability(
        self, sid: str, evse: int, connector: int, status: str, at: str
    ) -> None:
        """An OCPP 2.0.1 StatusNotification: the connector's availability."""
        self.store.connector_seen(sid, evse, connector, status, at)

    def station_security_event(self, sid: str, kind: str, at: str, tech_info: str = "") -> None:
        """A SecurityEventNotification, kept on the station's history (audit trail)."""
        detail = {"type": kind, "at": at} | ({"tech_info": tech_info} if tech_info else {})
        self.store.audit(f"station:{sid}", "security event", f"station:{sid}", **detail)

    def _known_code(self, codes: Sequence[str]) -> tuple[str, str]:
        """The code to diagnose a station's report by: the first the knowledge base
        knows (in its spelling), else the first given, which the diagnosis then shows
        as unknown. Also a note naming the given codes it does not know, with the
        closest known ones, for the order's observations."""
        d = api.diagnoser(self.kb)
        known, unknown = [], []
        for c in codes:
            r = d.resolve_code(c)
            if r.code is not None:
                known.append(r.code)
            else:
                near = ", ".join(r.closest) or "none"
                unknown.append(f"{c} is an unknown code (closest known: {near})")
        error = known[0] if known else (codes[0] if codes else "")
        return error, "".join(f"; {u}" for u in unknown)

    def _fault_order(
        self, sid: str, *, key: str, port: int | None, error: str, text: str
    ) -> tuple[WorkOrder, bool]:
        actor = f"station:{sid}"
        existing = self.store.find_open_fault(key)
        if existing is not None:
            self.store.add_event(existing.id, "reported again", text, actor=actor)
            return self.store.get(existing.id), False
        station = self.store.station(sid)
        model = (f"{station.vendor} {station.model}".strip() if station else "") or None
        q = Query(text[:MAX_TEXT], error or None, model)
        d = self.diagnose(q)
        equipment = self.equipment_of(d) or (station.equipment if station else "")
        return self.store.open_fault(
            key,
            station=sid,
            port=port,
            equipment=equipment,
            error=error,
            observations=q.text,
            diagnosis=_snapshot(d, q),
            origin="ocpp",
            actor=actor,
        )

    def station_recovered(self, sid: str, connector: int, status: str) -> list[WorkOrder]:
        """A later NoError status: note the recovery on the open fault orders of that
        connector (connector 0 is the whole station)."""
        noted = []
        for o in self.store.open_faults_of(sid, None if connector == 0 else connector):
            if o.events and o.events[-1].kind == "recovered":
                continue
            self.store.add_event(
                o.id, "recovered", f"station reports {status}, NoError", actor=f"station:{sid}"
            )
            noted.append(self.store.get(o.id))
        return noted


def event_key(sid: str, evse: int | None, connector: int | None, component: str) -> str:
    """The open-fault key of an OCPP 2.0.1 component problem: station, EVSE,
    connector and component (a repeat report or its clearing finds the order)."""
    return f"{sid}|evse {evse or 0}/{connector or 0}|{component}"


def _snapshot(d: Diagnosis, q: Query) -> dict[str, Any]:
    """What a work order keeps of its diagnosis: the diagnose JSON and its input."""
    return {**api.diagnosis_json(d), "input": _input(q)}


def _input(q: Query) -> dict[str, Any]:
    return {
        "text": q.text,
        "error": q.error,
        "model": q.model,
        "answers": [{"ref": r, "value": v} for r, v in q.answers],
    }
