"""Accounts for the service tests: people, tokens and stations created the way an
operator would (evkb.accounts over the same database), and logins through the
real /login form."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient

from evkb.accounts import Accounts
from evkb.orders import Store
from evkb.security import ASGIApp
from evkb.service import Service

PASSWORD = "correct horse battery staple"
STATION_PASSWORD = "station-secret-0123456789"  # a key chosen by a person (argon2id)
STATIONS: dict[str, str] = {}  # station id -> its password, as registered last
BASE = "http://localhost"  # a host name the service serves by default
CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')
LOGIN_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class People:
    """The accounts of one test database."""

    url: str
    accounts: Accounts

    def user(self, name: str, role: str) -> str:
        if name not in {a.name for a in self.accounts.users()}:
            self.accounts.add_user(name, role, PASSWORD, actor="test")
        return name

    def token(self, name: str, role: str) -> str:
        return self.accounts.create_token(name, role, actor="test")

    def station(self, sid: str, password: str | None = None) -> str:
        """Register a station (a generated key unless ``password`` is given, as
        `evkb station add` does); its password is kept in STATIONS for ``basic``."""
        _st, secret = self.accounts.add_station(sid, password, actor="test")
        STATIONS[sid] = secret
        return secret


def people(db_url: str) -> People:
    return People(db_url, Accounts(Store.open(db_url)))


def login(client: TestClient | httpx.Client, name: str, password: str = PASSWORD) -> str:
    """Log in through the form; returns the session's CSRF token."""
    form = client.get("/login")
    assert form.status_code == 200, form.text
    m = LOGIN_CSRF.search(form.text)
    assert m, form.text
    r = client.post(
        "/login",
        data={"username": name, "password": password, "csrf_token": m.group(1), "next": "/"},
        follow_redirects=False,
    )
    assert r.status_code == 303, (r.status_code, r.text[:500])
    page = client.get("/")
    found = CSRF.search(page.text)
    assert found, page.text[:500]
    return found.group(1)


def web_client(app: ASGIApp, name: str, **kw: Any) -> tuple[TestClient, str]:
    """A TestClient logged in as ``name``, and its CSRF token."""
    c = TestClient(app, base_url=BASE, **kw)
    return c, login(c, name)


def basic(station: str, password: str | None = None) -> dict[str, str]:
    """HTTP Basic auth of a station (security profile 1), with its registered
    password unless one is given."""
    import base64

    secret = password if password is not None else STATIONS.get(station, STATION_PASSWORD)
    token = base64.b64encode(f"{station}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def fastapi_app(asgi: object) -> FastAPI:
    """The FastAPI app inside the middleware layers of ``create_app``."""
    while not isinstance(asgi, FastAPI):
        asgi = getattr(asgi, "app")  # noqa: B009 - a middleware wraps the next app
    return asgi


def service_of(asgi: object) -> Service:
    service: Service = fastapi_app(asgi).state.service()
    return service
