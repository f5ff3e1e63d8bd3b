"""Work-order store: SQLite by default, PostgreSQL by URL, one schema with migrations.

A work order carries the station, port, error code, observations and a snapshot
of the diagnosis; its status moves open -> assigned -> closed, and closing it
records the repair log the manuals ask for (root cause, parts with serial numbers,
cable length, notes, verification checklist).

Records are business records:

- every change appends an event (who, when, what changed) to ``workorder_events``
  or, for accounts, tokens and stations, to ``audit_log``; both tables are
  append-only, enforced by the database (triggers), not only by this module;
- a closed order is immutable (a trigger refuses any update that keeps it closed
  or changes its observations or diagnosis); reopening needs a reason and copies
  the closed version (observations, diagnosis, repair log, who closed it) into the
  reopen event.

Closed orders are the repair history the diagnosis learns from, but only those
closed by a technician's own account with the verification checklist complete
(``learn``). Their counts are kept incrementally in ``repair_counts`` per closing
account, in the same transaction as the close or reopen, and ``history()`` caches
them behind a version number: a diagnosis costs one indexed read however many
orders were closed. An account's closures count at most ``PER_ACCOUNT`` times per
(equipment, error code, cause).

Several service processes may share one PostgreSQL database: migrations run under
an advisory lock, the "one open order per fault" rule of the OCPP intake is a
partial unique index, and station and counter updates are upserts.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qsl, urlsplit

from evkb.limits import EVENTS_PAGE, MAX_LIST
from kb.errors import KBError

if TYPE_CHECKING:
    import psycopg

STATUSES = ("open", "assigned", "closed")
# allowed status changes; closed -> open is a reopen (with a reason)
TRANSITIONS = {
    "open": {"assigned", "closed"},
    "assigned": {"open", "closed"},
    "closed": {"open"},
}
DEFAULT_DB = "sqlite:///build/evkb-orders.sqlite3"
# how many closures of one account count per (equipment, error code, cause)
PER_ACCOUNT = 1

History = dict[tuple[str, str], dict[str, int]]
List = list  # Store.list shadows the builtin inside the class


class StoreError(KBError):
    """A work-order operation that cannot be done (unknown id, bad transition, bad URL)."""


class NotFound(StoreError):
    pass


class Conflict(StoreError):
    """The record's state forbids the change (e.g. editing a closed work order)."""


class Unavailable(StoreError):
    """The database cannot be reached; the request may succeed later."""


def _status_check() -> str:
    return "CHECK (status IN (" + ", ".join(f"'{s}'" for s in STATUSES) + "))"


# Each migration is a list of statements: a string for both dialects, or a
# {"sqlite": ..., "postgresql": ...} pair. {pk} differs per dialect.
Statement = str | dict[str, str]
_APPEND_ONLY = ("workorder_events", "audit_log")

MIGRATIONS: list[list[Statement]] = [
    [
        f"""CREATE TABLE workorders (
            id {{pk}},
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            station TEXT NOT NULL DEFAULT '',
            port INTEGER,
            equipment TEXT NOT NULL DEFAULT '',
            error TEXT NOT NULL DEFAULT '',
            observations TEXT NOT NULL DEFAULT '',
            diagnosis TEXT NOT NULL DEFAULT '{{{{}}}}',
            status TEXT NOT NULL DEFAULT 'open'
                {_status_check()},
            assignee TEXT NOT NULL DEFAULT '',
            origin TEXT NOT NULL DEFAULT 'api',
            fault_key TEXT,
            root_cause TEXT NOT NULL DEFAULT '',
            repair_log TEXT NOT NULL DEFAULT '{{{{}}}}',
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
    # accounts, tokens, sessions, audit trail, station passwords, learning rules
    [
        """CREATE TABLE accounts (
            name TEXT PRIMARY KEY,
            role TEXT NOT NULL,
            password_hash TEXT NOT NULL,
            enabled INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL
        )""",
        """CREATE TABLE api_tokens (
            name TEXT PRIMARY KEY,
            role TEXT NOT NULL,
            token_hash TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL,
            revoked_at TEXT
        )""",
        """CREATE TABLE sessions (
            id_hash TEXT PRIMARY KEY,
            account TEXT NOT NULL REFERENCES accounts (name),
            csrf TEXT NOT NULL,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL
        )""",
        """CREATE TABLE audit_log (
            id {pk},
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            subject TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT '{{}}'
        )""",
        "ALTER TABLE workorder_events ADD COLUMN actor TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE workorder_events ADD COLUMN data TEXT NOT NULL DEFAULT '{{}}'",
        "ALTER TABLE workorders ADD COLUMN created_by TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE workorders ADD COLUMN closed_by TEXT NOT NULL DEFAULT ''",
        # 1 when the closure counts in the repair history (technician, checklist done)
        "ALTER TABLE workorders ADD COLUMN learn INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE stations ADD COLUMN password_hash TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE stations ADD COLUMN enabled INTEGER NOT NULL DEFAULT 1",
        """CREATE TABLE repair_counts (
            equipment TEXT NOT NULL,
            error TEXT NOT NULL,
            root_cause TEXT NOT NULL,
            account TEXT NOT NULL,
            n INTEGER NOT NULL,
            PRIMARY KEY (equipment, error, root_cause, account)
        )""",
        "CREATE TABLE store_meta (key TEXT PRIMARY KEY, value BIGINT NOT NULL)",
        "INSERT INTO store_meta (key, value) VALUES ('history', 0)",
        """CREATE TABLE connector_states (
            station TEXT NOT NULL,
            connector INTEGER NOT NULL,
            last_change TEXT NOT NULL,
            PRIMARY KEY (station, connector)
        )""",
        # append-only tables and immutable closed orders, enforced by the database
        {
            "postgresql": """CREATE FUNCTION evkb_append_only() RETURNS trigger
                LANGUAGE plpgsql AS $$ BEGIN
                RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$""",
            "sqlite": "",
        },
        *(
            {
                # one PostgreSQL trigger per table covers both operations
                "postgresql": f"""CREATE TRIGGER {t}_append_only BEFORE UPDATE OR DELETE
                    ON {t} FOR EACH ROW EXECUTE FUNCTION evkb_append_only()"""
                if op == "UPDATE"
                else "",
                "sqlite": f"""CREATE TRIGGER {t}_append_only_{op} BEFORE {op} ON {t}
                    BEGIN SELECT RAISE(ABORT, '{t} is append-only'); END""",
            }
            for t in _APPEND_ONLY
            for op in ("UPDATE", "DELETE")
        ),
        {
            "postgresql": """CREATE FUNCTION evkb_closed_immutable() RETURNS trigger
                LANGUAGE plpgsql AS $$ BEGIN
                IF OLD.status = 'closed' AND (NEW.status = 'closed'
                    OR NEW.observations IS DISTINCT FROM OLD.observations
                    OR NEW.diagnosis IS DISTINCT FROM OLD.diagnosis) THEN
                    RAISE EXCEPTION 'work order % is closed: it cannot be changed', OLD.id;
                END IF;
                RETURN NEW; END $$""",
            "sqlite": """CREATE TRIGGER workorders_closed_immutable BEFORE UPDATE ON workorders
                WHEN OLD.status = 'closed' AND (NEW.status = 'closed'
                    OR NEW.observations IS NOT OLD.observations
                    OR NEW.diagnosis IS NOT OLD.diagnosis)
                BEGIN SELECT RAISE(ABORT, 'a closed work order cannot be changed'); END""",
        },
        {
            "postgresql": """CREATE TRIGGER workorders_closed_immutable BEFORE UPDATE
                ON workorders FOR EACH ROW EXECUTE FUNCTION evkb_closed_immutable()""",
            "sqlite": "",
        },
        {
            "postgresql": """CREATE TRIGGER workorders_no_delete BEFORE DELETE
                ON workorders FOR EACH ROW EXECUTE FUNCTION evkb_append_only()""",
            "sqlite": """CREATE TRIGGER workorders_no_delete BEFORE DELETE ON workorders
                BEGIN SELECT RAISE(ABORT, 'workorders is append-only'); END""",
        },
    ],
    # OCPP 2.0.1: connector availability, replay clocks per reported subject (an
    # EVSE's connector, a component), a station's history read by subject
    [
        """CREATE TABLE connector_status (
            station TEXT NOT NULL,
            evse INTEGER NOT NULL,
            connector INTEGER NOT NULL,
            status TEXT NOT NULL,
            at TEXT NOT NULL,
            PRIMARY KEY (station, evse, connector)
        )""",
        """CREATE TABLE state_clocks (
            station TEXT NOT NULL,
            subject TEXT NOT NULL,
            last_change TEXT NOT NULL,
            PRIMARY KEY (station, subject)
        )""",
        "CREATE INDEX audit_log_subject ON audit_log (subject, id)",
    ],
]
# the upgrade lock shared by every process migrating the same PostgreSQL database
_MIGRATION_LOCK = 4242001


@dataclass(frozen=True)
class Event:
    at: str
    kind: str
    text: str
    actor: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"at": self.at, "kind": self.kind, "text": self.text}
        out["actor"] = self.actor
        if self.data:
            out["data"] = self.data
        return out


@dataclass(frozen=True)
class WorkOrder:
    """One row of ``workorders``: the field order is the column order (the one list
    of work-order columns; SELECTs and the row decoder are derived from it)."""

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
    created_by: str
    closed_by: str
    learn: bool
    events: tuple[Event, ...] = ()
    events_total: int = 0

    def to_json(self, *, events: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            f.name: getattr(self, f.name) for f in COLUMNS if f.name not in ("fault_key",)
        }
        if events:
            out["events"] = [e.to_json() for e in self.events]
            out["events_total"] = self.events_total
        return out


COLUMNS = tuple(f for f in fields(WorkOrder) if f.name not in ("events", "events_total"))
_JSON_COLUMNS = {"diagnosis", "repair_log"}
_SELECT = ", ".join(f.name for f in COLUMNS)


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
    enabled: bool = True

    def to_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(Station)}


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: str
    actor: str
    action: str
    subject: str
    detail: dict[str, Any]


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Cursor(Protocol):
    """Rows of a query (sqlite3 or psycopg cursor); column values are the database's."""

    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...


class Conn(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ...) -> Cursor: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    def close(self) -> None: ...


class Store:
    """The work-order store. ``Store.open(url)``: ``sqlite:///path``, a bare file
    path, ``sqlite://:memory:`` or ``postgresql://...``."""

    def __init__(self, url: str, *, keep_idle: int = 0) -> None:
        self.url = url
        # PostgreSQL: up to this many connections are kept open between transactions
        # and reused (a new connection costs the server a process and the client an
        # authentication round: ~10 ms, more than most transactions); 0 opens one per
        # transaction. A long-running service keeps some; short-lived users do not.
        # SQLite: with keep_idle, each thread keeps its connection between
        # transactions (opening one costs more than a short transaction).
        self.keep_idle = keep_idle
        self._sqlite_kept = threading.local()
        self._pg_idle: list[Any] = []
        self._pg_lock = threading.Lock()
        self.dialect = "postgresql" if re.match(r"postgres(?:ql)?(\+\w+)?://", url) else "sqlite"
        scheme = re.match(r"([A-Za-z][\w+.-]*)://", url)
        if scheme and self.dialect == "sqlite" and scheme.group(1) != "sqlite":
            raise StoreError(
                f"{redact(url)}: unsupported database URL; use sqlite:///PATH, "
                "postgresql://USER@HOST/DB or a file path"
            )
        self.path = ""
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
        self._history: tuple[int, History] | None = None
        self._history_lock = threading.Lock()
        try:
            self.migrate()
        except sqlite3.Error as e:
            raise StoreError(f"{self.path}: cannot open the work-order database ({e})") from e

    @classmethod
    def open(cls, url: str | None = None, *, keep_idle: int = 0) -> Store:
        return cls(url or DEFAULT_DB, keep_idle=keep_idle)

    @property
    def safe_url(self) -> str:
        """The URL without its password, for messages and logs."""
        return redact(self.url)

    # ------------------------------------------------------------ connections

    @contextmanager
    def tx(self, write: bool = True) -> Iterator[Conn]:
        """One transaction on a fresh connection (cheap for SQLite, and safe across
        threads); PostgreSQL connections come from psycopg. A database that cannot
        be reached raises ``Unavailable``, with the URL's password removed."""
        with ExitStack() as stack:
            conn = self._connect(stack, write)
            try:
                yield conn
                conn.commit()
            except BaseException as e:
                with suppress(Exception):  # the connection is gone: the error says so
                    conn.rollback()
                self._raise_unavailable(e)
                raise
            finally:
                with suppress(Exception):
                    conn.close()

    def _connect(self, stack: ExitStack, write: bool) -> Conn:
        if self.dialect == "postgresql":
            return self._pg_connection()
        if self.path == ":memory:":  # one shared connection, one caller at a time
            stack.enter_context(self._memory_lock)
            if self._memory is None:
                self._memory = sqlite3.connect(":memory:", check_same_thread=False)
                self._memory.isolation_level = None
            self._memory.execute("BEGIN")
            return _SqliteConn(self._memory, close=False)
        try:
            raw = self._kept_sqlite()
            if raw is None:
                raw = sqlite3.connect(self.path, timeout=30, isolation_level=None)
                raw.execute("PRAGMA foreign_keys=ON")
            # writers take the lock up front (no deadlock between two upgrading
            # readers); readers do not block each other or the writer (WAL)
            raw.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        except sqlite3.OperationalError as e:
            raise Unavailable(f"{self.path}: cannot use the work-order database ({e})") from None
        return _SqliteConn(raw, keep=self._keep_sqlite if self.keep_idle else None)

    def _kept_sqlite(self) -> sqlite3.Connection | None:
        """This thread's kept connection, if it is still this process's connection
        to the file now at ``path`` (a file moved or replaced gets a new one)."""
        kept: tuple[int, int, sqlite3.Connection] | None = getattr(self._sqlite_kept, "c", None)
        self._sqlite_kept.c = None
        if kept is None:
            return None
        pid, ino, raw = kept
        try:
            same = pid == os.getpid() and os.stat(self.path).st_ino == ino
        except OSError:
            same = False
        if same:
            return raw
        with suppress(Exception):
            raw.close()
        return None

    def _keep_sqlite(self, raw: sqlite3.Connection) -> None:
        try:
            ino = os.stat(self.path).st_ino
        except OSError:
            raw.close()
            return
        self._sqlite_kept.c = (os.getpid(), ino, raw)

    def _pg_connection(self) -> _PgConn:
        """An idle connection that still answers, else a new one."""
        import psycopg

        while True:
            with self._pg_lock:
                raw = self._pg_idle.pop() if self._pg_idle else None
            if raw is None:
                break
            try:
                raw.execute("SELECT 1")  # one the server has ended fails here
                return _PgConn(raw, self._pg_release)
            except psycopg.Error:
                with suppress(Exception):
                    raw.close()
        try:
            pg = psycopg.connect(self.url, connect_timeout=10)
        except psycopg.Error as e:
            raise Unavailable(
                f"{self.safe_url}: the work-order database is unavailable: cannot connect: "
                f"{self.scrub(str(e)).strip()}"
            ) from None
        return _PgConn(pg, self._pg_release)

    def _pg_release(self, raw: Any) -> None:
        """Keep a connection for the next transaction when it is sound and idle."""
        from psycopg.pq import TransactionStatus

        sound = not raw.closed and not raw.broken
        if sound and raw.info.transaction_status == TransactionStatus.IDLE:
            with self._pg_lock:
                if len(self._pg_idle) < self.keep_idle:
                    self._pg_idle.append(raw)
                    return
        raw.close()

    def close_idle(self) -> None:
        """Close the connections kept between transactions (at shutdown)."""
        with self._pg_lock:
            idle, self._pg_idle = self._pg_idle, []
        for raw in idle:
            with suppress(Exception):
                raw.close()

    def _raise_unavailable(self, e: BaseException) -> None:
        if isinstance(e, sqlite3.OperationalError) and re.search(
            r"locked|unable to open|disk I/O|readonly", str(e)
        ):
            raise Unavailable(
                f"{self.path}: the work-order database is unavailable ({e})"
            ) from None
        if type(e).__module__.startswith("psycopg") and type(e).__name__ in (
            "OperationalError",
            "InterfaceError",
            "AdminShutdown",
            "CannotConnectNow",
        ):
            raise Unavailable(
                f"{self.safe_url}: the work-order database is unavailable "
                f"({self.scrub(str(e)).strip()})"
            ) from None

    def scrub(self, text: str) -> str:
        """``text`` with this store's database password removed."""
        secret = _password_of(self.url)
        return text.replace(secret, "***") if secret else text

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
        with self.tx() as c:
            if self.dialect == "postgresql":
                c.execute(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
            c.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
            )
            row = c.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
            have = row[0] or 0
            if have > len(MIGRATIONS):
                raise StoreError(
                    f"{self.safe_url}: schema version {have} is newer than this evkb "
                    f"({len(MIGRATIONS)}); upgrade evkb"
                )
            for version, statements in enumerate(MIGRATIONS[have:], have + 1):
                for st in statements:
                    sql = st if isinstance(st, str) else st[self.dialect]
                    if sql:
                        c.execute(sql.format(pk=pk))
                c.execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
                    (version, now()),
                )
            return len(MIGRATIONS)

    def version(self) -> int:
        with self.tx(write=False) as c:
            return int(c.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0])

    def ping(self) -> None:
        """Raise ``Unavailable`` when the database cannot be reached."""
        with self.tx(write=False) as c:
            c.execute("SELECT 1").fetchone()

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
        actor: str = "",
    ) -> WorkOrder:
        t = now()
        with self.tx() as c:
            row = c.execute(
                "INSERT INTO workorders (created_at, updated_at, station, port, equipment, "
                "error, observations, diagnosis, status, assignee, origin, fault_key, "
                "created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    t,
                    t,
                    station,
                    port,
                    equipment,
                    error,
                    observations,
                    _dumps(diagnosis or {}),
                    "assigned" if assignee else "open",
                    assignee,
                    origin,
                    fault_key,
                    actor,
                ),
            ).fetchone()
            oid = int(row[0])
            data = {"assignee": assignee} if assignee else {}
            event(c, oid, "created", f"created from {origin}", actor, data)
        return self.get(oid)

    def open_fault(
        self, fault_key: str, *, actor: str = "", **fields: Any
    ) -> tuple[WorkOrder, bool]:
        """The open order for an OCPP fault, creating it if there is none.
        Returns (order, created). Safe against concurrent callers."""
        text = str(fields.get("observations", ""))
        existing = self.find_open_fault(fault_key)
        if existing is not None:
            self.add_event(existing.id, "reported again", text, actor=actor)
            return self.get(existing.id), False
        try:
            return self.create(fault_key=fault_key, actor=actor, **fields), True
        except Exception as e:  # a concurrent process won the race on the unique index
            if not _is_integrity_error(e):
                raise
            again = self.find_open_fault(fault_key)
            if again is None:
                raise
            self.add_event(again.id, "reported again", text, actor=actor)
            return self.get(again.id), False

    def find_open_fault(self, fault_key: str) -> WorkOrder | None:
        with self.tx(write=False) as c:
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
        with self.tx(write=False) as c:
            ids = [int(r[0]) for r in c.execute(sql + " ORDER BY id", params).fetchall()]
        return [self.get(i) for i in ids]

    def get(self, oid: int, *, events: int = EVENTS_PAGE) -> WorkOrder:
        """One order with its latest ``events`` events (oldest first) and the total."""
        with self.tx(write=False) as c:
            row = c.execute(f"SELECT {_SELECT} FROM workorders WHERE id = ?", (oid,)).fetchone()
            if row is None:
                raise NotFound(f"work order {oid} not found")
            total = int(
                c.execute(
                    "SELECT COUNT(*) FROM workorder_events WHERE workorder_id = ?", (oid,)
                ).fetchone()[0]
            )
            rows = c.execute(
                "SELECT at, kind, text, actor, data FROM workorder_events "
                "WHERE workorder_id = ? ORDER BY id DESC LIMIT ?",
                (oid, max(0, events)),
            ).fetchall()
        return _order(row, [_event_of(r) for r in reversed(rows)], total)

    def events(self, oid: int, *, limit: int = EVENTS_PAGE, offset: int = 0) -> list[Event]:
        """A page of an order's events, oldest first."""
        with self.tx(write=False) as c:
            _status_of(c, oid)
            rows = c.execute(
                "SELECT at, kind, text, actor, data FROM workorder_events "
                "WHERE workorder_id = ? ORDER BY id LIMIT ? OFFSET ?",
                (oid, max(0, min(limit, MAX_LIST)), max(0, offset)),
            ).fetchall()
        return [_event_of(r) for r in rows]

    def list(
        self,
        *,
        status: str | None = None,
        station: str | None = None,
        assignee: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[WorkOrder]:
        if status is not None and status not in STATUSES:
            raise StoreError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
        where, params = [], []
        for col, value in (("status", status), ("station", station), ("assignee", assignee)):
            if value:
                where.append(f"{col} = ?")
                params.append(value)
        sql = f"SELECT {_SELECT} FROM workorders"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC LIMIT ? OFFSET ?"
        with self.tx(write=False) as c:
            rows = c.execute(
                sql, [*params, max(0, min(limit, MAX_LIST)), max(0, offset)]
            ).fetchall()
        return [_order(r, [], 0) for r in rows]

    def update(
        self,
        oid: int,
        *,
        status: str | None = None,
        assignee: str | None = None,
        observations: str | None = None,
        diagnosis: dict[str, Any] | None = None,
        note: str | None = None,
        actor: str = "",
    ) -> WorkOrder:
        """Change an order's status (not to "closed": use ``close``; not from
        "closed": use ``reopen``), assignee, observations or diagnosis, or add a
        note. A closed order cannot be changed: ``Conflict``."""
        with self.tx() as c:
            cur = self._current(c, oid)
            if cur["status"] == "closed":
                raise Conflict(
                    f"work order {oid} is closed: its record cannot be changed; "
                    "reopen it with a reason first"
                )
            sets: list[str] = []
            params: list[Any] = []
            changed: dict[str, list[Any]] = {}
            if assignee is not None and assignee != cur["assignee"]:
                sets.append("assignee = ?")
                params.append(assignee)
                changed["assignee"] = [cur["assignee"], assignee]
                if status is None and assignee and cur["status"] == "open":
                    status = "assigned"
            if status is not None and status != cur["status"]:
                if status == "closed":
                    raise StoreError(
                        f"work order {oid}: close it with its repair log (root cause), "
                        "not by setting the status"
                    )
                _check_transition(oid, cur["status"], status)
                sets.append("status = ?")
                params.append(status)
                changed["status"] = [cur["status"], status]
            if observations is not None and observations != cur["observations"]:
                sets.append("observations = ?")
                params.append(observations)
                changed["observations"] = [cur["observations"], observations]
            if diagnosis is not None:
                sets.append("diagnosis = ?")
                params.append(_dumps(diagnosis))
                changed["likely_cause"] = [cur["likely_cause"], _likely(diagnosis)]
            if "status" in changed:
                event(c, oid, "status", " -> ".join(changed["status"]), actor, changed)
            elif "assignee" in changed:
                event(c, oid, "assigned", f"assigned to {assignee or 'nobody'}", actor, changed)
            elif changed:
                event(c, oid, "rediagnosed", "observations or diagnosis changed", actor, changed)
            if note:
                event(c, oid, "note", note, actor)
            sets.append("updated_at = ?")
            params.append(now())
            c.execute(f"UPDATE workorders SET {', '.join(sets)} WHERE id = ?", [*params, oid])
        return self.get(oid)

    def close(
        self,
        oid: int,
        *,
        root_cause: str,
        parts: Sequence[Mapping[str, str]] = (),
        cable_length: str = "",
        notes: str = "",
        port: int | None = None,
        checklist: Sequence[str] = (),
        checklist_complete: bool = False,
        learn: bool = False,
        actor: str = "",
    ) -> WorkOrder:
        """Close with the repair log: root cause (a cause id of the knowledge base),
        parts used with serial numbers, cable length as installed, notes, the
        verification items done. ``learn``: the closure counts in the repair
        history (the caller decides: a technician, checklist complete)."""
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
            "verification": list(checklist),
            "verification_complete": checklist_complete,
        }
        t = now()
        with self.tx() as c:
            cur = self._current(c, oid)
            _check_transition(oid, cur["status"], "closed")
            sets = (
                "status = 'closed', root_cause = ?, repair_log = ?, closed_at = ?, "
                "updated_at = ?, closed_by = ?, learn = ?"
            )
            params: list[Any] = [root_cause, _dumps(log), t, t, actor, int(learn)]
            if port is not None:
                sets += ", port = ?"
                params.append(port)
            c.execute(f"UPDATE workorders SET {sets} WHERE id = ?", [*params, oid])
            if learn:
                self._count(c, cur["equipment"], cur["error"], root_cause, actor, +1)
            event(
                c,
                oid,
                "closed",
                f"root cause: {root_cause}"
                + ("" if learn else " (not counted in the repair history)"),
                actor,
                {"root_cause": root_cause, "learn": learn},
            )
        return self.get(oid)

    def reopen(self, oid: int, *, reason: str, actor: str = "") -> WorkOrder:
        """Reopen a closed order. The closed version (observations, diagnosis,
        repair log, who closed it and when) is kept in the reopen event; the order
        stops counting in the repair history."""
        if not reason.strip():
            raise StoreError(f"work order {oid}: reopening needs a reason")
        with self.tx() as c:
            row = c.execute(f"SELECT {_SELECT} FROM workorders WHERE id = ?", (oid,)).fetchone()
            if row is None:
                raise NotFound(f"work order {oid} not found")
            o = _order(row, [], 0)
            if o.status != "closed":
                raise Conflict(f"work order {oid} is {o.status}, not closed: nothing to reopen")
            closed = {
                k: getattr(o, k)
                for k in (
                    "observations",
                    "diagnosis",
                    "root_cause",
                    "repair_log",
                    "closed_by",
                    "closed_at",
                    "learn",
                    "port",
                )
            }
            c.execute(
                "UPDATE workorders SET status = 'open', closed_at = NULL, root_cause = '', "
                "repair_log = '{}', closed_by = '', learn = 0, updated_at = ? WHERE id = ?",
                (now(), oid),
            )
            if o.learn:
                self._count(c, o.equipment, o.error, o.root_cause, o.closed_by, -1)
            event(c, oid, "reopened", reason, actor, {"closed_version": closed})
        return self.get(oid)

    def add_event(self, oid: int, kind: str, text: str = "", *, actor: str = "") -> None:
        """Note something on an order (a repeat report, a recovery, a stale message);
        a closed order takes the note but stays as it was."""
        with self.tx() as c:
            cur = _status_of(c, oid)
            event(c, oid, kind, text, actor)
            if cur != "closed":
                c.execute("UPDATE workorders SET updated_at = ? WHERE id = ?", (now(), oid))

    def _current(self, c: Conn, oid: int) -> dict[str, Any]:
        row = c.execute(
            "SELECT status, assignee, observations, equipment, error, diagnosis "
            "FROM workorders WHERE id = ?",
            (oid,),
        ).fetchone()
        if row is None:
            raise NotFound(f"work order {oid} not found")
        status, assignee, obs, equipment, error, diag = row
        return {
            "status": str(status),
            "assignee": str(assignee),
            "observations": str(obs),
            "equipment": str(equipment),
            "error": str(error),
            "likely_cause": _likely(json.loads(diag or "{}")),
        }

    # ------------------------------------------------------------ repair history

    def _count(self, c: Conn, eq: str, error: str, cause: str, account: str, d: int) -> None:
        c.execute(
            "INSERT INTO repair_counts (equipment, error, root_cause, account, n) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (equipment, error, root_cause, account) "
            "DO UPDATE SET n = repair_counts.n + excluded.n",
            (eq, error, cause, account, d),
        )
        c.execute("UPDATE store_meta SET value = value + 1 WHERE key = 'history'")

    def history(self) -> History:
        """Repair history: (equipment, error code) -> {root cause: count}, counting
        only closures that ``learn``, at most ``PER_ACCOUNT`` per closing account.
        Cached behind a version number bumped by every close and reopen, so the
        cost does not grow with the number of closed orders."""
        with self.tx(write=False) as c:
            version = int(
                c.execute("SELECT value FROM store_meta WHERE key = 'history'").fetchone()[0]
            )
            cached = self._history
            if cached is not None and cached[0] == version:
                return cached[1]
            rows = c.execute(
                "SELECT equipment, error, root_cause, n FROM repair_counts WHERE n > 0"
            ).fetchall()
        out: History = {}
        for equipment, error, cause, n in rows:
            per = out.setdefault((str(equipment), str(error)), {})
            per[str(cause)] = per.get(str(cause), 0) + min(int(n), PER_ACCOUNT)
        with self._history_lock:
            self._history = (version, out)
        return out

    # ------------------------------------------------------------ stations

    def station_add(self, sid: str, password_hash: str, *, actor: str = "") -> Station:
        with self.tx() as c:
            if c.execute("SELECT 1 FROM stations WHERE id = ?", (sid,)).fetchone():
                raise Conflict(f"station {sid!r} exists already")
            c.execute(
                "INSERT INTO stations (id, last_seen, password_hash) VALUES (?, '', ?)",
                (sid, password_hash),
            )
            audit(c, actor, "station added", f"station:{sid}")
        found = self.station(sid)
        assert found is not None
        return found

    def station_password_hash(self, sid: str) -> str | None:
        """The stored password hash of an enabled station; None if unknown."""
        with self.tx(write=False) as c:
            row = c.execute(
                "SELECT password_hash FROM stations WHERE id = ? AND enabled = 1", (sid,)
            ).fetchone()
        return str(row[0]) if row and row[0] else None

    def stations(self) -> List[Station]:
        with self.tx(write=False) as c:
            rows = c.execute(f"SELECT {_STATION} FROM stations ORDER BY id").fetchall()
        return [_station(r) for r in rows]

    def station_seen(self, sid: str, *, boot: dict[str, str] | None = None) -> Station:
        """Record a Heartbeat or BootNotification (an upsert: concurrent first
        messages of one station in several processes cannot collide)."""
        t = now()
        with self.tx() as c:
            c.execute(
                "INSERT INTO stations (id, last_seen) VALUES (?, ?) "
                "ON CONFLICT (id) DO UPDATE SET last_seen = excluded.last_seen",
                (sid, t),
            )
            if boot is not None:
                c.execute(
                    "UPDATE stations SET vendor = ?, model = ?, equipment = ?, serial = ?, "
                    "firmware = ?, booted_at = ? WHERE id = ?",
                    (
                        boot.get("vendor", ""),
                        boot.get("model", ""),
                        boot.get("equipment", ""),
                        boot.get("serial", ""),
                        boot.get("firmware", ""),
                        t,
                        sid,
                    ),
                )
        found = self.station(sid)
        assert found is not None
        return found

    def station(self, sid: str) -> Station | None:
        with self.tx(write=False) as c:
            row = c.execute(f"SELECT {_STATION} FROM stations WHERE id = ?", (sid,)).fetchone()
        return _station(row) if row else None

    def accept_state_change(self, sid: str, connector: int, at: str) -> bool:
        """True when ``at`` (the station's own ISO timestamp) is newer than the last
        state change accepted for this connector, and records it; False for a stale
        or replayed message (nothing is recorded)."""
        with self.tx() as c:
            row = c.execute(
                "UPDATE connector_states SET last_change = ? "
                "WHERE station = ? AND connector = ? AND last_change < ? RETURNING connector",
                (at, sid, connector, at),
            ).fetchone()
            if row is not None:
                return True
            row = c.execute(
                "INSERT INTO connector_states (station, connector, last_change) VALUES (?, ?, ?) "
                "ON CONFLICT (station, connector) DO NOTHING RETURNING connector",
                (sid, connector, at),
            ).fetchone()
            return row is not None

    def accept_subject_change(self, sid: str, subject: str, at: str) -> bool:
        """As ``accept_state_change``, for anything else a station reports state
        changes of (an OCPP 2.0.1 connector or component): True when ``at`` is newer
        than the last change accepted for that subject, and records it."""
        with self.tx() as c:
            row = c.execute(
                "UPDATE state_clocks SET last_change = ? "
                "WHERE station = ? AND subject = ? AND last_change < ? RETURNING subject",
                (at, sid, subject, at),
            ).fetchone()
            if row is not None:
                return True
            row = c.execute(
                "INSERT INTO state_clocks (station, subject, last_change) VALUES (?, ?, ?) "
                "ON CONFLICT (station, subject) DO NOTHING RETURNING subject",
                (sid, subject, at),
            ).fetchone()
            return row is not None

    def connector_seen(self, sid: str, evse: int, connector: int, status: str, at: str) -> None:
        """Record a connector's availability (Available, Occupied, Faulted, ...)."""
        with self.tx() as c:
            c.execute(
                "INSERT INTO connector_status (station, evse, connector, status, at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (station, evse, connector) "
                "DO UPDATE SET status = excluded.status, at = excluded.at",
                (sid, evse, connector, status, at),
            )

    def connectors(self, sid: str) -> List[tuple[int, int, str, str]]:
        """(evse, connector, status, at) of a station's connectors, as last reported."""
        with self.tx(write=False) as c:
            rows = c.execute(
                "SELECT evse, connector, status, at FROM connector_status "
                "WHERE station = ? ORDER BY evse, connector",
                (sid,),
            ).fetchall()
        return [(int(e), int(n), str(s), str(a)) for e, n, s, a in rows]

    # ------------------------------------------------------------ audit

    def audit(self, actor: str, action: str, subject: str, **detail: Any) -> None:
        with self.tx() as c:
            audit(c, actor, action, subject, detail)

    def audit_log(
        self, *, limit: int = 100, offset: int = 0, subject: str | None = None
    ) -> List[AuditEntry]:
        """The audit trail, newest first; ``subject`` (e.g. ``station:ID``) keeps only
        what concerns it (a station's history: refused connections, security events)."""
        where, params = ("WHERE subject = ? ", [subject]) if subject is not None else ("", [])
        with self.tx(write=False) as c:
            rows = c.execute(
                "SELECT id, at, actor, action, subject, detail FROM audit_log "
                f"{where}ORDER BY id DESC LIMIT ? OFFSET ?",
                (*params, max(0, min(limit, MAX_LIST)), max(0, offset)),
            ).fetchall()
        return [
            AuditEntry(int(i), str(a), str(who), str(act), str(s), json.loads(d or "{}"))
            for i, a, who, act, s, d in rows
        ]


# ------------------------------------------------------------------ helpers

_STATION = "id, vendor, model, equipment, serial, firmware, last_seen, booted_at, enabled"


def _station(row: Sequence[Any]) -> Station:
    sid, vendor, model, equipment, serial, firmware, last_seen, booted_at, enabled = row
    return Station(
        str(sid),
        str(vendor),
        str(model),
        str(equipment),
        str(serial),
        str(firmware),
        str(last_seen),
        None if booted_at is None else str(booted_at),
        bool(enabled),
    )


def _status_of(c: Conn, oid: int) -> str:
    row = c.execute("SELECT status FROM workorders WHERE id = ?", (oid,)).fetchone()
    if row is None:
        raise NotFound(f"work order {oid} not found")
    return str(row[0])


def _check_transition(oid: int, cur: str, new: str) -> None:
    if new not in STATUSES:
        raise StoreError(f"status must be one of {', '.join(STATUSES)}, not {new!r}")
    if cur == "closed" and new == "closed":
        raise Conflict(f"work order {oid} is closed: it cannot become closed again")
    if new not in TRANSITIONS[cur]:
        raise StoreError(f"work order {oid} is {cur}: it cannot become {new}")


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False)


def _likely(diagnosis: Mapping[str, Any]) -> str | None:
    causes = diagnosis.get("causes") or []
    return str(causes[0].get("id")) if causes else None


def event(
    c: Conn,
    oid: int,
    kind: str,
    text: str,
    actor: str = "",
    data: Mapping[str, Any] | None = None,
) -> None:
    c.execute(
        "INSERT INTO workorder_events (workorder_id, at, kind, text, actor, data) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (oid, now(), kind, text, actor, _dumps(dict(data or {}))),
    )


def audit(
    c: Conn, actor: str, action: str, subject: str, detail: Mapping[str, Any] | None = None
) -> None:
    c.execute(
        "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)",
        (now(), actor, action, subject, _dumps(dict(detail or {}))),
    )


def _event_of(r: Sequence[Any]) -> Event:
    at, kind, text, actor, data = r
    return Event(str(at), str(kind), str(text), str(actor or ""), json.loads(data or "{}"))


def _order(row: Sequence[Any], events: Sequence[Event], total: int) -> WorkOrder:
    values: dict[str, Any] = {}
    for f, v in zip(COLUMNS, row, strict=True):
        if f.name in _JSON_COLUMNS:
            values[f.name] = json.loads(v or "{}")
        elif f.name == "learn":
            values[f.name] = bool(v)
        elif f.name in ("id",):
            values[f.name] = int(v)
        elif f.name == "port":
            values[f.name] = None if v is None else int(v)
        elif f.name in ("fault_key", "closed_at"):
            values[f.name] = None if v is None else str(v)
        else:
            values[f.name] = str(v)
    return WorkOrder(**values, events=tuple(events), events_total=total)


def _is_integrity_error(e: Exception) -> bool:
    if isinstance(e, sqlite3.IntegrityError):
        return True
    return type(e).__name__ in ("UniqueViolation", "IntegrityError")


def _password_of(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if parts.password:
        return parts.password
    for k, v in parse_qsl(parts.query):
        if k == "password" and v:
            return v
    return ""


def redact(url: str) -> str:
    """A database URL without its password (user:PASSWORD@ or ?password=...)."""
    out = re.sub(r"//([^:/@?#]*):[^@/?#]*@", r"//\1:***@", url)
    return re.sub(r"([?&]password=)[^&#]*", r"\1***", out)


class _SqliteConn:
    """``keep``: where a sound connection goes after its transaction (else closed);
    one that rolled back is closed."""

    def __init__(
        self,
        raw: sqlite3.Connection,
        close: bool = True,
        keep: Callable[[sqlite3.Connection], None] | None = None,
    ) -> None:
        self.raw = raw
        self._close = close
        self._keep = keep

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        return self.raw.execute(sql, tuple(params))

    def commit(self) -> None:
        if self.raw.in_transaction:
            self.raw.execute("COMMIT")

    def rollback(self) -> None:
        self._keep = None
        if self.raw.in_transaction:
            self.raw.execute("ROLLBACK")

    def close(self) -> None:
        if not self._close:
            return
        if self._keep is not None and not self.raw.in_transaction:
            self._keep(self.raw)
        else:
            self.raw.close()


class _PgConn:
    def __init__(
        self, raw: psycopg.Connection[Any], release: Callable[[Any], None] | None = None
    ) -> None:
        self.raw = raw
        self._release = release

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        return self.raw.execute(sql.replace("%", "%%").replace("?", "%s"), tuple(params))

    def commit(self) -> None:
        self.raw.commit()

    def rollback(self) -> None:
        self.raw.rollback()

    def close(self) -> None:
        if self._release is not None:
            self._release(self.raw)
        else:
            self.raw.close()
