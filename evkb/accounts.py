"""Accounts, roles, API tokens, web sessions and station passwords, kept in the
work-order database (``evkb.orders.Store``).

- Passwords (people and OCPP stations) are hashed with argon2id (argon2-cffi),
  a memory-hard KDF; a login with an unknown name costs as much as a wrong password.
- API tokens and session ids are random 256-bit secrets, stored as SHA-256 digests
  (a stolen database does not yield usable tokens); a token is shown once.
- Every change to an account, token or station appends to the audit log.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from evkb.limits import MAX_NAME, MAX_PASSWORD, MIN_PASSWORD, SESSION_HOURS
from evkb.orders import Conflict, NotFound, Station, Store, StoreError, audit, now


class Role(StrEnum):
    technician = "technician"
    dispatcher = "dispatcher"
    writer = "writer"
    admin = "admin"


class Perm(StrEnum):
    diagnose = "diagnose"  # diagnosis, knowledge-base lookups
    read_orders = "read orders"
    create_orders = "create orders"
    assign_orders = "assign orders"
    reopen_orders = "reopen orders"
    note_orders = "note and re-diagnose orders"
    close_orders = "close orders with the repair log"
    picklist = "pick lists"
    kb_tools = "knowledge-base and manual tools"
    admin = "users, stations and tokens"


PERMISSIONS: dict[Role, frozenset[Perm]] = {
    # technicians work the orders assigned to them (checked per order)
    Role.technician: frozenset(
        {Perm.diagnose, Perm.read_orders, Perm.note_orders, Perm.close_orders}
    ),
    Role.dispatcher: frozenset(
        {
            Perm.diagnose,
            Perm.read_orders,
            Perm.create_orders,
            Perm.assign_orders,
            Perm.reopen_orders,
            Perm.note_orders,
            Perm.picklist,
        }
    ),
    Role.writer: frozenset({Perm.diagnose, Perm.kb_tools}),
    Role.admin: frozenset(Perm),
}

_hasher = PasswordHasher()  # argon2id, 64 MiB, t=3 (argon2-cffi's RFC 9106 profile)
_DUMMY = _hasher.hash("not a password of anyone")
# each argon2 computation takes 64 MiB: at most this many at once, so a burst of
# logins or station connections cannot take the server's memory
_KDF_SLOTS = threading.BoundedSemaphore(2)
# generated station keys are 192 random bits: a SHA-256 digest protects them as well
# as a KDF would, at no cost per connection; a key chosen by a person gets argon2id
_SHA = "sha256$"
NAME_RE = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._@-]{{0,{MAX_NAME - 1}}}")


class AuthError(StoreError):
    """Wrong credentials, a disabled account, or a refused action."""


@dataclass(frozen=True)
class Principal:
    """Who is asking: a person (``user``), an integration (``token``) or a station."""

    name: str
    role: Role
    kind: str = "user"
    csrf: str = ""  # the session's CSRF token (web logins only)

    @property
    def actor(self) -> str:
        """How the audit trail names this principal."""
        return self.name if self.kind == "user" else f"{self.kind}:{self.name}"

    def can(self, perm: Perm) -> bool:
        return perm in PERMISSIONS[self.role]

    @property
    def counts_for_learning(self) -> bool:
        """Only a technician's own account trains the repair history."""
        return self.kind == "user" and self.role is Role.technician


@dataclass(frozen=True)
class Account:
    name: str
    role: Role
    enabled: bool
    created_at: str


@dataclass(frozen=True)
class Token:
    name: str
    role: Role
    created_at: str
    revoked_at: str | None


def hash_password(password: str) -> str:
    check_password(password)
    with _KDF_SLOTS:
        return _hasher.hash(password)


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise StoreError(f"password too short (at least {MIN_PASSWORD} characters)")
    if len(password.encode("utf-8")) > MAX_PASSWORD:
        raise StoreError(f"password too long (at most {MAX_PASSWORD} bytes)")


def verify_password(stored: str | None, password: str) -> bool:
    """Constant work whether or not the account exists."""
    if len(password.encode("utf-8", "replace")) > MAX_PASSWORD:
        return False
    if stored is not None and stored.startswith(_SHA):
        return hmac.compare_digest(stored, _SHA + digest(password))
    try:
        with _KDF_SLOTS:
            return _hasher.verify(stored or _DUMMY, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def check_name(name: str, what: str = "name") -> str:
    if not NAME_RE.fullmatch(name):
        raise StoreError(
            f"{what} {name[:MAX_NAME]!r}: use letters, digits and . _ @ - "
            f"(at most {MAX_NAME} characters, starting with a letter or digit)"
        )
    return name


def role_of(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise StoreError(
            f"role must be one of {', '.join(r.value for r in Role)}, not {value!r}"
        ) from None


class Accounts:
    """Account, token, session and station-credential operations over one store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # ------------------------------------------------------------ people

    def add_user(self, name: str, role: str, password: str, *, actor: str) -> Account:
        check_name(name, "user name")
        r = role_of(role)
        h = hash_password(password)
        t = now()
        with self.store.tx() as c:
            if c.execute("SELECT 1 FROM accounts WHERE name = ?", (name,)).fetchone():
                raise Conflict(f"user {name!r} exists already")
            c.execute(
                "INSERT INTO accounts (name, role, password_hash, enabled, created_at) "
                "VALUES (?, ?, ?, 1, ?)",
                (name, r.value, h, t),
            )
            audit(c, actor, "user added", f"user:{name}", {"role": r.value})
        return Account(name, r, True, t)

    def users(self) -> list[Account]:
        with self.store.tx(write=False) as c:
            rows = c.execute(
                "SELECT name, role, enabled, created_at FROM accounts ORDER BY name"
            ).fetchall()
        return [Account(str(n), Role(str(r)), bool(e), str(t)) for n, r, e, t in rows]

    def disable_user(self, name: str, *, actor: str) -> None:
        with self.store.tx() as c:
            row = c.execute(
                "UPDATE accounts SET enabled = 0 WHERE name = ? RETURNING name", (name,)
            ).fetchone()
            if row is None:
                raise NotFound(f"user {name!r} not found")
            c.execute("DELETE FROM sessions WHERE account = ?", (name,))
            audit(c, actor, "user disabled", f"user:{name}")

    def has_admin(self) -> bool:
        with self.store.tx(write=False) as c:
            row = c.execute(
                "SELECT 1 FROM accounts WHERE role = 'admin' AND enabled = 1"
            ).fetchone()
        return row is not None

    def login(self, name: str, password: str) -> Principal:
        with self.store.tx(write=False) as c:
            row = c.execute(
                "SELECT role, password_hash, enabled FROM accounts WHERE name = ?",
                (name[:MAX_NAME],),
            ).fetchone()
        ok = verify_password(str(row[1]) if row else None, password)
        if not ok or row is None or not row[2]:
            self.store.audit(name[:MAX_NAME], "login refused", f"user:{name[:MAX_NAME]}")
            raise AuthError("wrong user name or password")
        return Principal(name, Role(str(row[0])))

    # ------------------------------------------------------------ sessions

    def start_session(self, who: Principal) -> tuple[str, str]:
        """A new session for ``who``: (cookie value, CSRF token)."""
        sid, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        t = datetime.now(UTC)
        expires = (t + timedelta(hours=SESSION_HOURS)).isoformat(timespec="seconds")
        with self.store.tx() as c:
            c.execute("DELETE FROM sessions WHERE expires_at < ?", (t.isoformat(),))
            c.execute(
                "INSERT INTO sessions (id_hash, account, csrf, created_at, expires_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (digest(sid), who.name, csrf, now(), expires),
            )
            audit(c, who.actor, "logged in", f"user:{who.name}")
        return sid, csrf

    def session(self, sid: str) -> Principal | None:
        if not sid or len(sid) > 100:
            return None
        with self.store.tx(write=False) as c:
            row = c.execute(
                "SELECT a.name, a.role, s.csrf, s.expires_at FROM sessions s "
                "JOIN accounts a ON a.name = s.account "
                "WHERE s.id_hash = ? AND a.enabled = 1",
                (digest(sid),),
            ).fetchone()
        if row is None or str(row[3]) < datetime.now(UTC).isoformat(timespec="seconds"):
            return None
        return Principal(str(row[0]), Role(str(row[1])), "user", str(row[2]))

    def end_session(self, sid: str, who: Principal) -> None:
        with self.store.tx() as c:
            c.execute("DELETE FROM sessions WHERE id_hash = ?", (digest(sid),))
            audit(c, who.actor, "logged out", f"user:{who.name}")

    # ------------------------------------------------------------ API tokens

    def create_token(self, name: str, role: str, *, actor: str) -> str:
        """A new bearer token; the secret is returned once and stored only hashed."""
        check_name(name, "token name")
        r = role_of(role)
        secret = "evkb_" + secrets.token_urlsafe(32)
        with self.store.tx() as c:
            if c.execute("SELECT 1 FROM api_tokens WHERE name = ?", (name,)).fetchone():
                raise Conflict(f"token {name!r} exists already (revoke it, or choose a new name)")
            c.execute(
                "INSERT INTO api_tokens (name, role, token_hash, created_at) VALUES (?, ?, ?, ?)",
                (name, r.value, digest(secret), now()),
            )
            audit(c, actor, "token created", f"token:{name}", {"role": r.value})
        return secret

    def revoke_token(self, name: str, *, actor: str) -> None:
        with self.store.tx() as c:
            row = c.execute(
                "UPDATE api_tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL "
                "RETURNING name",
                (now(), name),
            ).fetchone()
            if row is None:
                raise NotFound(f"no active token named {name!r}")
            audit(c, actor, "token revoked", f"token:{name}")

    def tokens(self) -> list[Token]:
        with self.store.tx(write=False) as c:
            rows = c.execute(
                "SELECT name, role, created_at, revoked_at FROM api_tokens ORDER BY name"
            ).fetchall()
        return [
            Token(str(n), Role(str(r)), str(t), None if v is None else str(v))
            for n, r, t, v in rows
        ]

    def bearer(self, secret: str) -> Principal | None:
        if not secret.startswith("evkb_") or len(secret) > 100:
            return None
        with self.store.tx(write=False) as c:
            row = c.execute(
                "SELECT name, role FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL",
                (digest(secret),),
            ).fetchone()
        return Principal(str(row[0]), Role(str(row[1])), "token") if row else None

    # ------------------------------------------------------------ stations

    def add_station(self, sid: str, password: str | None, *, actor: str) -> tuple[Station, str]:
        """Register an OCPP station; returns it and its password (generated when
        none is given: 24 random bytes, within OCPP 1.6's 16-40 byte AuthorizationKey)."""
        check_name(sid, "station id")
        if password is None:
            secret = secrets.token_urlsafe(24)
            stored = _SHA + digest(secret)
        else:
            secret = password
            if not 16 <= len(secret.encode("utf-8")) <= 40:
                raise StoreError("an OCPP station password must be 16 to 40 bytes (OCPP 1.6)")
            with _KDF_SLOTS:
                stored = _hasher.hash(secret)
        return self.store.station_add(sid, stored, actor=actor), secret

    def station_login(self, sid: str, password: str) -> bool:
        return verify_password(self.store.station_password_hash(sid), password)
