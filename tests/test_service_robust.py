"""The service under hostile or heavy use: injection, path traversal, concurrency."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from evkb.web import create_app
from tests.auth import BASE, bearer, login, people
from tests.live import live_server

HOSTILE = [
    "<script>alert(1)</script> cable hangs loose",
    '"><img src=x onerror=alert(1)> cord on the ground',
    "{{ 7*7 }} {% raw %} ${7*7} cable hangs loose",
]


@pytest.fixture
def session(seed_kb_file: Path, tmp_path: Path) -> Iterator[tuple[TestClient, str]]:
    """An admin logged in to the web app, and the session's CSRF token."""
    db = f"sqlite:///{tmp_path / 'o.sqlite3'}"
    people(db).user("root", "admin")
    with TestClient(create_app(seed_kb_file, db), base_url=BASE) as c:
        yield c, login(c, "root")


@pytest.mark.parametrize("text", HOSTILE)
def test_injected_text_is_inert_in_every_page(session: tuple[TestClient, str], text: str) -> None:
    client, csrf = session
    page = client.get("/", params={"text": text, "error": "CP-ERR-RET"}).text
    r = client.post(
        "/workorders",
        data={"text": text, "error": "CP-ERR-RET", "station": text[:60], "csrf_token": csrf},
        follow_redirects=False,
    )
    order = client.get(r.headers["location"]).text
    printable = client.get(r.headers["location"] + "/print").text
    listing = client.get("/workorders").text
    for html in (page, order, printable, listing):
        assert "<script>alert" not in html
        assert "<img src=x" not in html
    if "<script>" in text:
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    if "7*7" in text:  # shown as typed, never evaluated
        assert "{{ 7*7 }}" in page and "{{ 7*7 }}" in order and "{{ 7*7 }}" in printable


def test_text_injected_through_a_manual_is_inert(tmp_path: Path) -> None:
    """A manual carrying markup and template syntax: rendered as text in the UI. HTML
    tags are markup, not text, so ingest keeps their content only; characters that
    are special in HTML are shown escaped."""
    from tests.conftest import ROOT

    src = (ROOT / "manuals" / "chargepoint-ct4000-cable-retractor.md").read_text(encoding="utf-8")
    evil = src.replace(
        "Cable hangs loose, won't retract",
        "Cable hangs loose <script>window.__pwn=1</script> {{ config }} 1 < 2 > 0 & 3, "
        "won't retract",
        1,
    )
    assert evil != src
    manual = tmp_path / "manuals" / "evil.md"
    manual.parent.mkdir()
    manual.write_text(evil, encoding="utf-8")
    from evkb import api

    kb_file = tmp_path / "kb.json"
    api.build([manual], kb_file)
    db = f"sqlite:///{tmp_path / 'o.sqlite3'}"
    people(db).user("root", "admin")
    with TestClient(create_app(kb_file, db), base_url=BASE) as c:
        login(c, "root")
        page = c.get("/", params={"text": "cable hangs loose"}).text
        assert "<script>window.__pwn" not in page
        assert "1 &lt; 2 &gt; 0 &amp; 3" in page
        assert "{{ config }}" in page  # literal, not evaluated


TRAVERSAL = [
    "../../../../etc/passwd",
    "..%2f..%2f..%2fetc%2fpasswd",
    "/etc/passwd",
    "....//....//etc/passwd",
    "%2e%2e/%2e%2e/pyproject.toml",
    "../pyproject.toml",
    "web/../../pyproject.toml",
]


@pytest.mark.parametrize("bad", TRAVERSAL)
def test_no_file_can_be_read_through_a_parameter(session: tuple[TestClient, str], bad: str) -> None:
    client, _csrf = session
    responses = [
        client.get(f"/{bad}"),
        client.get(f"/api/kb/error-codes/{bad}"),
        client.get("/api/kb/symptoms", params={"q": bad}),
        client.get("/api/kb/parts", params={"q": bad}),
        client.get("/api/kb/causes", params={"equipment": bad, "part": bad}),
        client.get("/api/workorders", params={"station": bad}),
        client.get(f"/workorders/{bad}"),
        client.get(f"/workorders/{bad}/print"),
        client.get("/", params={"text": bad, "error": bad, "model": bad}),
        client.get("/workorders", params={"status": bad}),
        client.post("/api/diagnose", json={"text": bad, "error": bad, "model": bad}),
    ]
    for r in responses:
        assert r.status_code < 500, (r.url, r.status_code)
        assert "root:x:0:0" not in r.text
        assert "[build-system]" not in r.text  # pyproject.toml


def test_100_concurrent_diagnose_requests(
    seed_kb_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    texts = [
        ("cable hangs loose and will not retract", "CP-ERR-RET"),
        ("no bars, station offline since the storm", "CP-ERR-WIFI"),
        ("PP-PE 482 ohm, release button stuck", None),
        ("retracts fine but sessions fail", "CP-ERR-RET"),
    ]

    async def run(base: str, headers: dict[str, str]) -> tuple[list[int], list[float], list[str]]:
        limits = httpx.Limits(max_connections=100)
        async with httpx.AsyncClient(
            base_url=base, timeout=60, limits=limits, headers=headers
        ) as c:

            async def one(i: int) -> tuple[int, float, str]:
                text, error = texts[i % len(texts)]
                t0 = time.perf_counter()
                r = await c.post("/api/diagnose", json={"text": text, "error": error})
                top = r.json()["causes"][0]["id"] if r.status_code == 200 else ""
                return r.status_code, time.perf_counter() - t0, top

            out = await asyncio.gather(*(one(i) for i in range(100)))
        return [s for s, _t, _c in out], [t for _s, t, _c in out], [c for _s, _t, c in out]

    db = f"sqlite:///{tmp_path / 'o.sqlite3'}"
    headers = bearer(people(db).token("load", "technician"))
    with live_server(seed_kb_file, db) as base:
        statuses, times, tops = asyncio.run(run(base, headers))
        # the same answers as one request at a time
        serial = [
            httpx.post(
                f"{base}/api/diagnose", json={"text": t, "error": e}, headers=headers
            ).json()["causes"][0]["id"]
            for t, e in texts
        ]
    assert statuses == [200] * 100
    assert tops == [serial[i % len(texts)] for i in range(100)]
    times.sort()
    p50 = statistics.median(times)
    p95 = times[94]
    with capsys.disabled():
        print(
            f"\n100 concurrent POST /api/diagnose: 0 errors, "
            f"latency median {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms (2-core machine)"
        )
