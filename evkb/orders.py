"""Work-order store: SQLite by default, PostgreSQL by URL, one schema with migrations.

A work order carries the station, port, error code, observations and a snapshot
of the diagnosis; its status moves open -> assigned -> closed, and closing it
records the repair log the manuals ask for (root cause, parts with serial numbers,
cable length, notes). Closed orders are the repair history the diagnosis learns
from: ``history()`` recomputes the counts from the rows every time, so reopening
or correcting an order undoes its effect (nothing is edited in place).

Several service processes may share one PostgreSQL database: migrations run under
an advisory lock, and the "one open order per fault" rule of the OCPP intake is a
partial unique index, so two processes cannot both open an order for one fault.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from kb.errors import KBError

STATUSES = ("open", "assigned", "closed")
# allowed status changes; closed -> open is a reopen (the repair log stays, but the
# order stops counting in the repair history)
TRANSITIONS = {
    "open": {"assigned", "closed"},
    "assigned": {"open", "closed"},
    "closed": {"open"},
}
DEFAULT_DB = "sqlite:///build/evkb-orders.sqlite3"


class StoreError(KBError):
    """A work-order operation that cannot be done (unknown id, bad transition, bad URL)."""


class NotFound(StoreError):
    pass


# Each migration is a list of statements; {pk} and {ts} differ per dialect.
MIGRATIONS: list[list[str]] = [
    [
        """CREATE TABLE workorders (
            id {pk},
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            station TEXT NOT NULL DEFAULT '',
            port INTEGER,
            equipment TEXT NOT NULL DEFAULT '',
            error TEXT NOT NULL DEFAULT '',
            observations TEXT NOT NULL DEFAULT '',
            diagnosis TEXT NOT NULL DEFAULT '{{}}',
            status TEXT NOT NULL DEFAULT 'open'
                CHECK (status IN ('open', 'assigned', 'closed')),
            assignee TEXT NOT NULL DEFAULT '',
            origin TEXT NOT NULL DEFAULT 'api',
            fault_key TEXT,
            root_cause TEXT NOT NULL DEFAULT '',
            repair_log TEXT NOT NULL DEFAULT '{{}}',
            closed_at TEXT
        )""",
        "CREATE INDEX workorders_status ON workorders (status)",
        "CREATE INDEX workorders_history ON workorders (equipment, error, status)",
        # one open order per OCPP fault (station, connector, error code)
        """CREATE UNIQUE INDEX workorders_open_fault ON workorders (fault_key)
            WHERE fault_key IS NOT NULL AND status <> 'closed'""",
        """CREATE TABLE workorder_events (
            id {pk},
            workorder_id INTEGER NOT NULL REFERENCES workorders (id),
            at TEXT NOT NULL,
            kind TEXT NOT NULL,
            text TEXT NOT NULL DEFAULT ''
        )""",
        "CREATE INDEX workorder_events_order ON workorder_events (workorder_id)",
        """CREATE TABLE stations (
            id TEXT PRIMARY KEY,
            vendor TEXT NOT NULL DEFAULT '',
            model TEXT NOT NULL DEFAULT '',
            equipment TEXT NOT NULL DEFAULT '',
            serial TEXT NOT NULL DEFAULT '',
            firmware TEXT NOT NULL DEFAULT '',
            last_seen TEXT NOT NULL,
            booted_at TEXT
        )""",
    ],
]


@dataclass(frozen=True)
class WorkOrder:
    id: int
    created_at: str
    updated_at: str
    station: str
    port: int | None
    equipment: str
    error: str
    observations: str
    diagnosis: dict[str, Any]
    status: str
    assignee: str
    origin: str
    fault_key: str | None
    root_cause: str
    repair_log: dict[str, Any]
    closed_at: str | None
    events: tuple[dict[str, str], ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "station": self.station,
            "port": self.port,
            "equipment": self.equipment,
            "error": self.error,
            "observations": self.observations,
            "status": self.status,
            "assignee": self.assignee,
            "origin": self.origin,
            "root_cause": self.root_cause,
            "repair_log": self.repair_log,
            "closed_at": self.closed_at,
            "diagnosis": self.diagnosis,
            "events": list(self.events),
        }


@dataclass(frozen=True)
class Station:
    id: str
    vendor: str
    model: str
    equipment: str
    serial: str
    firmware: str
    last_seen: str
    booted_at: str | None


_COLUMNS = (
    "id, created_at, updated_at, station, port, equipment, error, observations, diagnosis, "
    "status, assignee, origin, fault_key, root_cause, repair_log, closed_at"
)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class _Conn(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ...) -> Any: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    def close(self) -> None: ...


class Store:
    """The work-order store. ``Store.open(url)``: ``sqlite:///path``, a bare file
    path, ``sqlite://:memory:`` or ``postgresql://...``."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.dialect = "postgresql" if re.match(r"postgres(?:ql)?(\+\w+)?://", url) else "sqlite"
        scheme = re.match(r"([A-Za-z][\w+.-]*)://", url)
        if scheme and self.dialect == "sqlite" and scheme.group(1) != "sqlite":
            raise StoreError(
                f"{_redact(url)}: unsupported database URL; use sqlite:///PATH, "
                "postgresql://USER@HOST/DB or a file path"
            )
        if self.dialect == "sqlite":
            # sqlite:///rel/path -> rel/path, sqlite:////abs/path -> /abs/path,
            # sqlite://:memory:, or a bare file path
            path = url.removeprefix("sqlite://") if url.startswith("sqlite://") else url
            if url.startswith("sqlite:///"):
                path = path[1:]
            self.path = path or ":memory:"
            if self.path != ":memory:":
                try:
                    Path(self.path).parent.mkdir(parents=True, exist_ok=True)
                except OSError as e:
                    raise StoreError(f"{self.path}: cannot create the database here ({e})") from e
            self._memory: sqlite3.Connection | None = None
            self._memory_lock = threading.Lock()
        try:
            self.migrate()
        except sqlite3.Error as e:
            raise StoreError(f"{self.path}: cannot open the work-order database ({e})") from e

    @classmethod
    def open(cls, url: str | None = None) -> Store:
        return cls(url or DEFAULT_DB)

    # ------------------------------------------------------------ connections

    @contextmanager
    def _tx(self, write: bool = True) -> Iterator[_Conn]:
        """One transaction on a fresh connection (cheap for SQLite, and safe across
        threads); PostgreSQL connections come from psycopg."""
        with ExitStack() as stack:
            if self.dialect == "postgresql":
                import psycopg

                try:
                    pg = psycopg.connect(self.url)
                except psycopg.Error as e:
                    raise StoreError(f"{_redact(self.url)}: cannot connect: {e}") from e
                conn: _Conn = _PgConn(pg)
            elif self.path == ":memory:":  # one shared connection, one caller at a time
                stack.enter_context(self._memory_lock)
                if self._memory is None:
                    self._memory = sqlite3.connect(":memory:", check_same_thread=False)
                conn = _SqliteConn(self._memory, close=False)
            else:
                raw = sqlite3.connect(self.path, timeout=30, isolation_level=None)
                raw.execute("PRAGMA foreign_keys=ON")
                # writers take the lock up front (no deadlock between two upgrading
                # readers); readers do not block each other or the writer (WAL)
                raw.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                conn = _SqliteConn(raw)
            try:
                yield conn
                conn.commit()
            except BaseException:
                conn.rollback()
                raise
            finally:
                conn.close()

    # ------------------------------------------------------------ schema

    def migrate(self) -> int:
        """Apply the migrations this database has not seen; returns the schema version."""
        pk = (
            "BIGSERIAL PRIMARY KEY"
            if self.dialect == "postgresql"
            else "INTEGER PRIMARY KEY AUTOINCREMENT"
        )
        if self.dialect == "sqlite" and self.path != ":memory:":
            with sqlite3.connect(self.path, timeout=30) as raw:
                raw.execute("PRAGMA journal_mode=WAL")  # persistent: set once per file
        with self._tx() as c:
            if self.dialect == "postgresql":
                c.execute("SELECT pg_advisory_xact_lock(4242001)")
            c.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
            )
            row = c.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
            have = row[0] or 0
            if have > len(MIGRATIONS):
                raise StoreError(
                    f"{_redact(self.url)}: schema version {have} is newer than this evkb "
                    f"({len(MIGRATIONS)}); upgrade evkb"
                )
            for version, statements in enumerate(MIGRATIONS[have:], have + 1):
                for sql in statements:
                    c.execute(sql.format(pk=pk))
                c.execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
                    (version, now()),
                )
            return len(MIGRATIONS)

    def version(self) -> int:
        with self._tx(write=False) as c:
            return int(c.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0])

    # ------------------------------------------------------------ work orders

    def create(
        self,
        *,
        station: str = "",
        port: int | None = None,
        equipment: str = "",
        error: str = "",
        observations: str = "",
        diagnosis: dict[str, Any] | None = None,
        origin: str = "api",
        fault_key: str | None = None,
        assignee: str = "",
    ) -> WorkOrder:
        t = now()
        with self._tx() as c:
            row = c.execute(
                "INSERT INTO workorders (created_at, updated_at, station, port, equipment, "
                "error, observations, diagnosis, status, assignee, origin, fault_key) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    t,
                    t,
                    station,
                    port,
                    equipment,
                    error,
                    observations,
                    json.dumps(diagnosis or {}, ensure_ascii=False),
                    "assigned" if assignee else "open",
                    assignee,
                    origin,
                    fault_key,
                ),
            ).fetchone()
            oid = int(row[0])
            _event(c, oid, "created", f"created from {origin}")
        return self.get(oid)

    def open_fault(self, fault_key: str, **fields: Any) -> tuple[WorkOrder, bool]:
        """The open order for an OCPP fault, creating it if there is none.
        Returns (order, created). Safe against concurrent callers."""
        existing = self.find_open_fault(fault_key)
        if existing is not None:
            self.add_event(existing.id, "reported again", fields.get("observations", ""))
            return self.get(existing.id), False
        try:
            return self.create(fault_key=fault_key, **fields), True
        except Exception as e:  # a concurrent process won the race on the unique index
            if not _is_integrity_error(e):
                raise
            again = self.find_open_fault(fault_key)
            if again is None:
                raise
            self.add_event(again.id, "reported again", fields.get("observations", ""))
            return self.get(again.id), False

    def find_open_fault(self, fault_key: str) -> WorkOrder | None:
        with self._tx(write=False) as c:
            row = c.execute(
                "SELECT id FROM workorders WHERE fault_key = ? AND status <> 'closed'",
                (fault_key,),
            ).fetchone()
        return self.get(int(row[0])) if row else None

    def open_faults_of(self, station: str, port: int | None = None) -> list[WorkOrder]:
        sql = (
            "SELECT id FROM workorders "
            "WHERE station = ? AND status <> 'closed' AND fault_key IS NOT NULL"
        )
        params: list[Any] = [station]
        if port is not None:
            sql += " AND port = ?"
            params.append(port)
        with self._tx(write=False) as c:
            ids = [int(r[0]) for r in c.execute(sql + " ORDER BY id", params).fetchall()]
        return [self.get(i) for i in ids]

    def get(self, oid: int) -> WorkOrder:
        with self._tx(write=False) as c:
            row = c.execute(f"SELECT {_COLUMNS} FROM workorders WHERE id = ?", (oid,)).fetchone()
            if row is None:
                raise NotFound(f"work order {oid} not found")
            events = c.execute(
                "SELECT at, kind, text FROM workorder_events WHERE workorder_id = ? ORDER BY id",
                (oid,),
            ).fetchall()
        return _order(row, events)

    def list(
        self,
        *,
        status: str | None = None,
        station: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[WorkOrder]:
        if status is not None and status not in STATUSES:
            raise StoreError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
        where, params = [], []
        if status:
            where.append("status = ?")
            params.append(status)
        if station:
            where.append("station = ?")
            params.append(station)
        sql = f"SELECT {_COLUMNS} FROM workorders"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC LIMIT ? OFFSET ?"
        with self._tx(write=False) as c:
            rows = c.execute(sql, [*params, max(0, min(limit, 1000)), max(0, offset)]).fetchall()
        return [_order(r, []) for r in rows]

    def update(
        self,
        oid: int,
        *,
        status: str | None = None,
        assignee: str | None = None,
        observations: str | None = None,
        diagnosis: dict[str, Any] | None = None,
        note: str | None = None,
    ) -> WorkOrder:
        """Change an order's status (not to "closed": use ``close``), assignee,
        observations or diagnosis, or add a note."""
        with self._tx() as c:
            cur = _status_of(c, oid)
            sets: list[str] = []
            params: list[Any] = []
            if assignee is not None:
                sets.append("assignee = ?")
                params.append(assignee)
                if status is None and assignee and cur == "open":
                    status = "assigned"
            if status is not None and status != cur:
                if status == "closed":
                    raise StoreError(
                        f"work order {oid}: close it with its repair log (root cause), "
                        "not by setting the status"
                    )
                _check_transition(oid, cur, status)
                sets.append("status = ?")
                params.append(status)
                if cur == "closed":
                    sets.append("closed_at = NULL")
                _event(c, oid, "status", f"{cur} -> {status}")
            if observations is not None:
                sets.append("observations = ?")
                params.append(observations)
            if diagnosis is not None:
                sets.append("diagnosis = ?")
                params.append(json.dumps(diagnosis, ensure_ascii=False))
            if note:
                _event(c, oid, "note", note)
            sets.append("updated_at = ?")
            params.append(now())
            c.execute(f"UPDATE workorders SET {', '.join(sets)} WHERE id = ?", [*params, oid])
        return self.get(oid)

    def close(
        self,
        oid: int,
        *,
        root_cause: str,
        parts: Sequence[dict[str, str]] = (),
        cable_length: str = "",
        notes: str = "",
        port: int | None = None,
    ) -> WorkOrder:
        """Close with the repair log: root cause (a cause id of the knowledge base,
        so it counts in the repair history), parts used with serial numbers, cable
        length as installed, notes."""
        if not root_cause.strip():
            raise StoreError(f"work order {oid}: closing needs the root cause")
        log = {
            "root_cause": root_cause,
            "parts": [
                {"name": str(p.get("name", "")), "serial": str(p.get("serial", ""))}
                for p in parts
                if p.get("name") or p.get("serial")
            ],
            "cable_length": cable_length,
            "notes": notes,
        }
        t = now()
        with self._tx() as c:
            cur = _status_of(c, oid)
            _check_transition(oid, cur, "closed")
            sets = (
                "status = 'closed', root_cause = ?, repair_log = ?, closed_at = ?, updated_at = ?"
            )
            params: list[Any] = [root_cause, json.dumps(log, ensure_ascii=False), t, t]
            if port is not None:
                sets += ", port = ?"
                params.append(port)
            c.execute(f"UPDATE workorders SET {sets} WHERE id = ?", [*params, oid])
            _event(c, oid, "closed", f"root cause: {root_cause}")
        return self.get(oid)

    def add_event(self, oid: int, kind: str, text: str = "") -> None:
        with self._tx() as c:
            _status_of(c, oid)
            _event(c, oid, kind, text)
            c.execute("UPDATE workorders SET updated_at = ? WHERE id = ?", (now(), oid))

    def history(self) -> dict[tuple[str, str], dict[str, int]]:
        """Repair history, recomputed from the closed orders:
        (equipment, error code) -> {root cause: number of closed orders}."""
        out: dict[tuple[str, str], dict[str, int]] = {}
        with self._tx(write=False) as c:
            rows = c.execute(
                "SELECT equipment, error, root_cause, COUNT(*) FROM workorders "
                "WHERE status = 'closed' AND root_cause <> '' "
                "GROUP BY equipment, error, root_cause"
            ).fetchall()
        for equipment, error, cause, n in rows:
            out.setdefault((str(equipment), str(error)), {})[str(cause)] = int(n)
        return out

    # ------------------------------------------------------------ stations

    def station_seen(self, sid: str, *, boot: dict[str, str] | None = None) -> Station:
        t = now()
        with self._tx() as c:
            row = c.execute("SELECT id FROM stations WHERE id = ?", (sid,)).fetchone()
            if row is None:
                c.execute(
                    "INSERT INTO stations (id, last_seen) VALUES (?, ?)",
                    (sid, t),
                )
            if boot is not None:
                c.execute(
                    "UPDATE stations SET vendor = ?, model = ?, equipment = ?, serial = ?, "
                    "firmware = ?, booted_at = ?, last_seen = ? WHERE id = ?",
                    (
                        boot.get("vendor", ""),
                        boot.get("model", ""),
                        boot.get("equipment", ""),
                        boot.get("serial", ""),
                        boot.get("firmware", ""),
                        t,
                        t,
                        sid,
                    ),
                )
            else:
                c.execute("UPDATE stations SET last_seen = ? WHERE id = ?", (t, sid))
        found = self.station(sid)
        assert found is not None
        return found

    def station(self, sid: str) -> Station | None:
        with self._tx(write=False) as c:
            row = c.execute(
                "SELECT id, vendor, model, equipment, serial, firmware, last_seen, booted_at "
                "FROM stations WHERE id = ?",
                (sid,),
            ).fetchone()
        return Station(*row) if row else None


# ------------------------------------------------------------------ helpers


def _status_of(c: _Conn, oid: int) -> str:
    row = c.execute("SELECT status FROM workorders WHERE id = ?", (oid,)).fetchone()
    if row is None:
        raise NotFound(f"work order {oid} not found")
    return str(row[0])


def _check_transition(oid: int, cur: str, new: str) -> None:
    if new not in STATUSES:
        raise StoreError(f"status must be one of {', '.join(STATUSES)}, not {new!r}")
    if new not in TRANSITIONS[cur]:
        raise StoreError(f"work order {oid} is {cur}: it cannot become {new}")


def _event(c: _Conn, oid: int, kind: str, text: str) -> None:
    c.execute(
        "INSERT INTO workorder_events (workorder_id, at, kind, text) VALUES (?, ?, ?, ?)",
        (oid, now(), kind, text),
    )


def _order(row: Sequence[Any], events: Sequence[Sequence[Any]]) -> WorkOrder:
    (oid, created, updated, station, port, equipment, error, obs, diag, status, assignee,
     origin, fault_key, root_cause, log, closed_at) = row  # fmt: skip
    return WorkOrder(
        int(oid),
        str(created),
        str(updated),
        str(station),
        None if port is None else int(port),
        str(equipment),
        str(error),
        str(obs),
        json.loads(diag or "{}"),
        str(status),
        str(assignee),
        str(origin),
        fault_key,
        str(root_cause),
        json.loads(log or "{}"),
        closed_at,
        tuple({"at": str(a), "kind": str(k), "text": str(t)} for a, k, t in events),
    )


def _is_integrity_error(e: Exception) -> bool:
    if isinstance(e, sqlite3.IntegrityError):
        return True
    return type(e).__name__ in ("UniqueViolation", "IntegrityError")


def _redact(url: str) -> str:
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)


class _SqliteConn:
    def __init__(self, raw: sqlite3.Connection, close: bool = True) -> None:
        self.raw = raw
        self._close = close

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.raw.execute(sql, tuple(params))

    def commit(self) -> None:
        if self.raw.in_transaction:
            self.raw.execute("COMMIT")

    def rollback(self) -> None:
        if self.raw.in_transaction:
            self.raw.execute("ROLLBACK")

    def close(self) -> None:
        if self._close:
            self.raw.close()


class _PgConn:
    def __init__(self, raw: Any) -> None:
        self.raw = raw

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.raw.execute(sql.replace("%", "%%").replace("?", "%s"), tuple(params))

    def commit(self) -> None:
        self.raw.commit()

    def rollback(self) -> None:
        self.raw.rollback()

    def close(self) -> None:
        self.raw.close()
