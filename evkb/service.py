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
        self.store = Store.open(db_url)
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
        """A StatusNotification reporting a fault: open (or find) the work order for
        it, with the diagnosis for the error. Returns (order, created)."""
        actor = f"station:{sid}"
        station = self.store.station(sid)
        model = (f"{station.vendor} {station.model}".strip() if station else "") or None
        codes = [c for c in (vendor_error_code, error_code) if c and c != "NoError"]
        known = {e.code for e in self.kb.error_codes} | {a.code for a in self.kb.code_aliases}
        error = next((c for c in codes if c in known), codes[0] if codes else "")
        text = info or f"station reported {status}" + (f" ({', '.join(codes)})" if codes else "")
        port = connector or None
        key = f"{sid}|{connector}|{error or status}"
        existing = self.store.find_open_fault(key)
        if existing is not None:
            self.store.add_event(existing.id, "reported again", text, actor=actor)
            return self.store.get(existing.id), False
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
