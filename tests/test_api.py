"""The JSON API and the server-rendered pages, in process (FastAPI TestClient)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from evkb import api
from evkb.security import ASGIApp
from evkb.web import MAX_BODY, create_app
from kb.schema import KnowledgeBase
from tests.auth import BASE, bearer, people, service_of, web_client
from tests.conftest import evkb

RET = "chargepoint-ct4000-cable-retractor/cause/"
SPRING = RET + "retractor-spring-broken"
LATCH = RET + "broken-latch"


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'orders.sqlite3'}"


@pytest.fixture
def app(seed_kb_file: Path, db: str) -> ASGIApp:
    return create_app(seed_kb_file, db)


@pytest.fixture
def client(app: ASGIApp, db: str) -> Iterator[TestClient]:
    """An integration with an admin API token."""
    token = people(db).token("ci-admin", "admin")
    with TestClient(app, base_url=BASE, headers=bearer(token)) as c:
        yield c


@pytest.fixture
def web(app: ASGIApp, db: str) -> Iterator[tuple[TestClient, str]]:
    """A dispatcher logged in to the web app, and the session's CSRF token."""
    people(db).user("dana", "dispatcher")
    c, csrf = web_client(app, "dana")
    with c:
        yield c, csrf


def ids(result: dict[str, Any]) -> list[str]:
    return [c["id"] for c in result["causes"]]


# ------------------------------------------------------------------ diagnosis


def test_diagnose_returns_exactly_the_cli_json(client: TestClient, seed_kb_file: Path) -> None:
    body = {"text": "cable hangs loose and will not retract", "error": "CP-ERR-RET"}
    r = client.post("/api/diagnose", json=body)
    assert r.status_code == 200
    cli = evkb(
        "diagnose", "--json", "--kb", str(seed_kb_file), "--error", body["error"], body["text"]
    )
    assert cli.returncode == 0, cli.stderr
    assert r.json() == json.loads(cli.stdout)
    assert set(r.json()) >= {"causes", "procedure", "parts", "tools", "questions"}


def test_diagnose_model_and_bad_bodies(client: TestClient) -> None:
    r = client.post("/api/diagnose", json={"text": "no bars on the modem", "model": "CT4000"})
    assert r.status_code == 200 and r.json()["causes"]
    for bad, where in [
        ({}, "text: Field required"),
        ({"text": 3}, "text: Input should be a valid string"),
        ({"text": "x" * 5000}, "text: String should have at most"),
        ({"text": "x", "answers": [{"ref": "r"}]}, "answers.0.value: Field required"),
    ]:
        r = client.post("/api/diagnose", json=bad)
        assert r.status_code == 422, bad
        assert where in r.json()["detail"]
    r = client.post(
        "/api/diagnose", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 422


def test_answering_a_question_reranks(client: TestClient) -> None:
    base = {"text": "cable hangs loose", "error": "CP-ERR-RET"}
    first = client.post("/api/diagnose", json=base).json()
    q = next(q for q in first["questions"] if q["kind"] == "observe")
    assert q["ref"] and q["separates"]
    cause = q["separates"][0]
    conf = {c["id"]: c["confidence"] for c in first["causes"]}
    yes = client.post(
        "/api/diagnose", json={**base, "answers": [{"ref": q["ref"], "value": "yes"}]}
    )
    no = client.post("/api/diagnose", json={**base, "answers": [{"ref": q["ref"], "value": "no"}]})
    conf_yes = {c["id"]: c["confidence"] for c in yes.json()["causes"]}
    conf_no = {c["id"]: c["confidence"] for c in no.json()["causes"]}
    assert conf_yes.get(cause, 0) > conf.get(cause, 0) >= conf_no.get(cause, 0)
    # the answered question is not asked again
    assert q["text"] not in [x["text"] for x in yes.json()["questions"]]


def test_answering_a_measurement_with_a_bare_number_uses_its_unit(
    client: TestClient, seed_kb: KnowledgeBase
) -> None:
    """ "Measure ...: what do you read?" answered with a bare number is a reading in the
    measurement's unit: one outside the expected range raises the cause the question
    is about, one inside lowers it, and the explanation shows the reading with its
    unit."""
    # (a report that already gives the bars, "no bars on the modem", is not asked them)
    base = {"text": "station offline", "error": "CP-ERR-WIFI"}
    first = client.post("/api/diagnose", json=base).json()
    q = next((q for q in first["questions"] if q["kind"] == "measure"), None)
    assert q is not None, first["questions"]
    m = next(m for m in seed_kb.measurements if m.id == q["ref"])
    assert m.low is not None and m.low > 0 and m.unit
    before = {c["id"]: c["confidence"] for c in first["causes"]}

    def answer(value: float) -> dict[str, Any]:
        body = {**base, "answers": [{"ref": q["ref"], "value": f"{value:g}"}]}
        out: dict[str, Any] = client.post("/api/diagnose", json=body).json()
        return out

    for value, up in ((0.0, True), (m.low * 2, False)):
        after = answer(value)
        conf = {c["id"]: c["confidence"] for c in after["causes"]}
        for cause in q["separates"]:
            if up:
                assert conf[cause] > before[cause], (value, cause)
                evidence = next(c for c in after["causes"] if c["id"] == cause)["evidence"]
                readings = [e for e in evidence if e["weight"] > 0 and m.unit in e["observation"]]
                assert readings, evidence
            else:
                assert conf.get(cause, 0.0) < before[cause], (value, cause)


# ------------------------------------------------------------------ knowledge base


def test_kb_queries_by_symptom_code_and_part(client: TestClient) -> None:
    hits = client.get("/api/kb/symptoms", params={"q": "cord won't go back"}).json()
    assert hits[0]["text"] == "Cable hangs loose, won't retract"
    assert hits[0]["causes"][0]["id"] == SPRING
    assert hits[0]["source"]["path"] == "manuals/chargepoint-ct4000-cable-retractor.md"
    # suggestions follow typing: an incomplete last word is a prefix
    assert any("retract" in h["text"].lower() for h in client.get(
        "/api/kb/symptoms", params={"q": "cable ret"}).json())  # fmt: skip

    code = client.get("/api/kb/error-codes/CP-ERR-RET").json()
    assert code["equipment"] == ["ChargePoint CT4000"]
    assert SPRING in [c["id"] for c in code["causes"]] and code["triggers"][0]["conditions"]
    ocpp = client.get("/api/kb/error-codes/EVCommunicationError").json()
    assert ocpp["means"] == ["CP-ERR-RET"]
    # the station code's causes, and what the code catalogue says the OCPP code means
    own = [c for c in ocpp["causes"] if c not in code["causes"]]
    assert [c for c in ocpp["causes"] if c in code["causes"]] == code["causes"]
    assert [c["title"] for c in own] == [
        "Communication failure with the vehicle (control pilot or other protocol)"
    ]
    mrec = client.get("/api/kb/error-codes/CX002").json()
    assert [c["title"] for c in mrec["causes"]] == [
        "Ground fault circuit interrupter has been activated"
    ]
    assert mrec["triggers"][0]["source"]["path"] == "manuals/station-error-codes.md"
    missing = client.get("/api/kb/error-codes/NOPE-1")
    assert missing.status_code == 404 and "NOPE-1" in missing.json()["detail"]

    parts = client.get("/api/kb/parts", params={"q": "spring"}).json()
    assert [p["name"] for p in parts] == ["Replacement retractor spring kit"]
    spring_causes = [c["id"] for c in parts[0]["causes"]]
    assert SPRING in spring_causes and all("retractor" in c for c in spring_causes)
    by_part = client.get("/api/kb/causes", params={"part": "J1772 cable"}).json()
    assert RET + "cp-signal-break-in-cable" in [c["id"] for c in by_part]
    assert SPRING not in [c["id"] for c in by_part]


def test_openapi_schema_lists_the_api(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for p in [
        "/api/diagnose",
        "/api/kb/symptoms",
        "/api/kb/error-codes/{code}",
        "/api/kb/parts",
        "/api/workorders",
        "/api/workorders/{oid}",
        "/api/workorders/{oid}/close",
    ]:
        assert p in paths, p
    assert {"get", "post"} <= set(paths["/api/workorders"])
    assert "patch" in paths["/api/workorders/{oid}"]


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_api_docs_need_no_other_host(client: TestClient, page: str) -> None:
    """The docs pages load their scripts, styles and icon from this service (offline,
    no CDN, no web fonts, no online validator), and each asset is served."""
    r = client.get(page)
    assert r.status_code == 200
    refs = re.findall(r"""(?:src|href|url|spec-url)\s*[=:]\s*["']([^"']+)["']""", r.text)
    assert len(refs) >= 3, refs
    for ref in refs:
        assert ref.startswith("/") and not ref.startswith("//"), ref
        assert client.get(ref).status_code == 200, ref
    assert not re.search(r"https?://", r.text), "the page names another host"
    assert "default-src 'self'" in r.headers["content-security-policy"]


# ------------------------------------------------------------------ work orders


def test_workorder_lifecycle_over_the_api(client: TestClient) -> None:
    r = client.post(
        "/api/workorders",
        json={
            "text": "cord lying on the ground",
            "error": "CP-ERR-RET",
            "station": "CT-7",
            "port": 2,
        },
    )
    assert r.status_code == 201
    o = r.json()
    assert (o["status"], o["station"], o["port"], o["equipment"]) == (
        "open", "CT-7", 2, "ChargePoint CT4000")  # fmt: skip
    assert o["diagnosis"]["causes"][0]["id"] == SPRING
    assert client.get("/api/workorders").json()[0]["likely_cause"] == "Retractor spring broken"

    r = client.patch(f"/api/workorders/{o['id']}", json={"assignee": "dana", "note": "on my way"})
    assert r.json()["status"] == "assigned"
    r = client.patch(f"/api/workorders/{o['id']}", json={"status": "closed"})
    assert r.status_code == 422 and "repair log" in r.json()["detail"]

    r = client.post(
        f"/api/workorders/{o['id']}/close",
        json={
            "root_cause": "Retractor spring broken",  # a title is accepted too
            "parts": [{"name": "Replacement retractor spring kit", "serial": "RSK-2-0042"}],
            "cable_length": "18 ft",
            "notes": "Gen 2 kit",
        },
    )
    assert r.status_code == 200
    closed = r.json()
    assert closed["status"] == "closed" and closed["root_cause"] == SPRING
    assert closed["repair_log"]["parts"] == [
        {"name": "Replacement retractor spring kit", "serial": "RSK-2-0042"}
    ]
    assert [e["kind"] for e in closed["events"]] == ["created", "status", "note", "closed"]
    assert [x["id"] for x in client.get("/api/workorders", params={"status": "closed"}).json()] == [
        o["id"]
    ]


def test_workorder_errors_are_clear(client: TestClient) -> None:
    assert client.get("/api/workorders/999").status_code == 404
    o = client.post("/api/workorders", json={"text": "cable hangs loose"}).json()
    r = client.post(f"/api/workorders/{o['id']}/close", json={"root_cause": "gremlins"})
    assert r.status_code == 422 and "not a cause of the knowledge base" in r.json()["detail"]
    r = client.patch(f"/api/workorders/{o['id']}", json={"status": "closed", "note": "done"})
    assert r.status_code == 422
    assert client.get(f"/api/workorders/{o['id']}").json() == o  # refused: nothing changed
    r = client.post("/api/workorders", json={"text": " ", "station": "S"})
    assert r.status_code == 422 and "needs an observation or an error code" in r.json()["detail"]
    r = client.get("/api/workorders", params={"status": "done"})
    assert r.status_code == 422 and "must be one of" in r.json()["detail"]


def test_new_observations_redo_the_diagnosis(client: TestClient) -> None:
    o = client.post(
        "/api/workorders", json={"text": "cable hangs loose", "error": "CP-ERR-RET"}
    ).json()
    r = client.patch(
        f"/api/workorders/{o['id']}", json={"text": "latch broken, connector falls out of holster"}
    )
    assert r.json()["observations"].startswith("latch broken")
    assert r.json()["diagnosis"]["causes"][0]["id"] == LATCH


# ------------------------------------------------------------------ learning


def technicians(app: ASGIApp, db: str, n: int) -> list[tuple[TestClient, str, str]]:
    """``n`` technicians, each logged in: (client, csrf token, name)."""
    out = []
    for i in range(n):
        name = people(db).user(f"tech{i}", "technician")
        c, csrf = web_client(app, name)
        out.append((c, csrf, name))
    return out


def close_as(
    client: TestClient, tech: tuple[TestClient, str, str], obs: dict[str, Any], cause: str,
    *, checklist: bool = True,
) -> dict[str, Any]:  # fmt: skip
    """A dispatcher (``client``) opens and assigns an order; the technician closes it
    with the checklist done (or not)."""
    c, csrf, name = tech
    o = client.post("/api/workorders", json={**obs, "assignee": name}).json()
    verified = list(range(len(o["verification"]))) if checklist else [0]
    r = c.post(
        f"/api/workorders/{o['id']}/close",
        json={"root_cause": cause, "verified": verified},
        headers={"X-CSRF-Token": csrf},
    )
    assert r.status_code == 200, r.text
    closed: dict[str, Any] = r.json()
    return closed


def test_closed_orders_raise_a_recurring_cause_and_reopening_undoes_it(
    client: TestClient, app: ASGIApp, db: str
) -> None:
    """Same observation before and after four technicians each closed an order whose
    root cause was the latch: the latch rises; reopening them restores the original
    ranking."""
    obs = {"text": "cable hangs loose, won't retract", "error": "CP-ERR-RET"}
    before = client.post("/api/diagnose", json=obs).json()
    rank_before = ids(before).index(LATCH) if LATCH in ids(before) else 99
    conf_before = {c["id"]: c["confidence"] for c in before["causes"]}

    closed = [close_as(client, t, obs, LATCH) for t in technicians(app, db, 4)]
    assert all(o["learn"] for o in closed)
    after = client.post("/api/diagnose", json=obs).json()
    assert ids(after).index(LATCH) < rank_before
    latch = next(c for c in after["causes"] if c["id"] == LATCH)
    assert latch["confidence"] > conf_before.get(LATCH, 0.0)
    history = [e for e in latch["evidence"] if e["kind"] == "repair history"]
    assert history and "4 of 4 counted closed work orders" in history[0]["observation"]

    # another equipment/error code is not affected
    wifi = {"text": "no bars", "error": "CP-ERR-WIFI"}
    assert client.post("/api/diagnose", json=wifi).json() == api.diagnosis_json(
        api.diagnose(_kb(client), wifi["text"], wifi["error"])
    )

    for o in closed:
        r = client.post(f"/api/workorders/{o['id']}/reopen", json={"reason": "wrong root cause"})
        assert r.status_code == 200, r.text
    assert client.post("/api/diagnose", json=obs).json() == before


def _kb(client: TestClient) -> KnowledgeBase:
    kb: KnowledgeBase = service_of(client.app).kb
    return kb


def test_learning_matches_ocpp_alias_codes(client: TestClient, app: ASGIApp, db: str) -> None:
    """Orders reported with the OCPP code count for the station code and back."""
    obs = {"text": "cable hangs loose", "error": "CP-ERR-RET"}
    before = client.post("/api/diagnose", json=obs).json()
    alias = {"text": "connector fault", "error": "EVCommunicationError"}
    for t in technicians(app, db, 3):
        close_as(client, t, alias, LATCH)
    after = client.post("/api/diagnose", json=obs).json()

    def conf(d: dict[str, Any]) -> float:
        return float(next((c["confidence"] for c in d["causes"] if c["id"] == LATCH), 0.0))

    assert conf(after) > conf(before)


# ------------------------------------------------------------------ web pages


@pytest.fixture
def admin_web(app: ASGIApp, db: str) -> Iterator[tuple[TestClient, str]]:
    """An admin logged in to the web app (may do everything), and the CSRF token."""
    people(db).user("root", "admin")
    c, csrf = web_client(app, "root")
    with c:
        yield c, csrf


def test_pages_render_without_javascript(admin_web: tuple[TestClient, str]) -> None:
    client, csrf = admin_web
    home = client.get("/")
    assert home.status_code == 200 and 'name="text"' in home.text
    assert "Cable hangs loose, won&#39;t retract" in home.text  # datalist of symptoms
    page = client.get("/", params={"text": "cord on the ground", "error": "CP-ERR-RET"})
    assert "Retractor spring broken" in page.text
    assert "manuals/chargepoint-ct4000-cable-retractor.md:" in page.text
    assert "Next question" in page.text and 'name="a"' in page.text

    r = client.post(
        "/workorders",
        data={"text": "cord on the ground", "error": "CP-ERR-RET", "station": "CT-1", "port": "1",
              "csrf_token": csrf},
        follow_redirects=False,
    )  # fmt: skip
    assert r.status_code == 303
    order = client.get(r.headers["location"])
    assert "Work order: CT-1, port 1" in order.text and "Lockout/tagout required" in order.text
    printable = client.get(r.headers["location"] + "/print")
    assert printable.text.startswith("<!doctype html>") and "Repair log" in printable.text

    oid = r.headers["location"].rsplit("/", 1)[1]
    r = client.post(
        f"/workorders/{oid}/close",
        data={
            "root_cause": SPRING,
            "part_name": ["Replacement retractor spring kit", ""],
            "part_serial": ["SN-1", ""],
            "cable_length": "18 ft",
            "port": "1",
            "notes": "",
            "verified": ["0", "1"],
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    closed = client.get(f"/workorders/{oid}")
    assert "Root cause: <strong>Retractor spring broken</strong>" in closed.text
    assert "serial SN-1" in closed.text
    assert "closed" in client.get("/workorders", params={"status": "closed"}).text
    log = client.get(f"/api/workorders/{oid}").json()["repair_log"]
    assert len(log["verification"]) == 2 and log["verification_complete"] is False


def test_page_errors_are_pages(admin_web: tuple[TestClient, str]) -> None:
    client, csrf = admin_web
    r = client.get("/workorders/999", headers={"accept": "text/html"})
    assert r.status_code == 404 and "work order 999 not found" in r.text and "<html" in r.text
    r = client.post(
        "/workorders",
        data={"text": "x", "port": "abc", "csrf_token": csrf},
        headers={"accept": "text/html"},
    )
    assert r.status_code == 422 and "port must be a number" in r.text
    r = client.get("/", params={"text": "x" * 5000})
    assert r.status_code == 422 and "observation too long" in r.text


def test_request_bodies_over_the_limit_get_413(client: TestClient) -> None:
    big = json.dumps({"text": "x" * (MAX_BODY + 10)})
    r = client.post("/api/diagnose", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413 and "too large" in r.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while reading
        for _ in range(MAX_BODY // 1000 + 2):
            yield b"x" * 1000

    r = client.post("/api/diagnose", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert client.post("/api/diagnose", json={"text": "cable hangs loose"}).status_code == 200
