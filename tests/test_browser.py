"""The web UI in a real headless Chromium (issue #5): a technician on a phone, a
keyboard-only user and a browser without JavaScript, against the real service
(uvicorn on a loopback port, seed knowledge base, a fresh SQLite work-order store).

Needs the system Chromium at /usr/bin/chromium (``apt-get install chromium``; never
``playwright install``); without it the whole module is skipped."""

from __future__ import annotations

import os
import re
import weakref
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(
        f"no system Chromium at {CHROMIUM} (install it with `apt-get install chromium`)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip("playwright.sync_api")

from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect  # noqa: E402

from tests.auth import PASSWORD, people  # noqa: E402
from tests.live import live_server  # noqa: E402

LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
}
DESKTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 800}}
ACTION_MS = 10_000  # clicks, fills, selectors
NAVIGATION_MS = 15_000  # page loads: a hung service fails the test instead of hanging it
MIN_TAP = 40  # px: a thumb-sized tap target
USER = "browser-admin"  # may diagnose, open, assign and close orders

FIELD_PHRASE = "cord lying on the ground, won't go back in"
MANUAL_SYMPTOM = "Cable hangs loose, won't retract"
CODE = "CP-ERR-RET"
SPRING = "Retractor spring broken"
RETRACTOR_MANUAL = re.compile(r"manuals/chargepoint-ct4000-cable-retractor\.md:\d+")
DELTA = re.compile(r"[▲▼] [+-]\d+ pts")
# several causes and Yes/No questions (a reading question after the first answer)
OPEN_QUESTION = "/?text=cable+hangs+loose&error=CP-ERR-RET"
# a report asked a yes/no question first and, after a "yes", a reading
YES_THEN_READING = "/?text=charger+won%27t+start+charging"

expect.set_options(timeout=ACTION_MS)


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def base_url(seed_kb_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = tmp_path_factory.mktemp("browser") / "orders.sqlite3"
    people(f"sqlite:///{db}").user(USER, "admin")
    with live_server(seed_kb_file, f"sqlite:///{db}") as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    pw = sync_api.sync_playwright().start()
    try:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS, timeout=60_000)
        try:
            yield b
        finally:
            b.close()
    finally:
        pw.stop()


def log_in(page: Page, user: str = "") -> None:
    """Through the login form, as a person would (works without JavaScript)."""
    page.goto("/login")
    page.get_by_label("User name").fill(user or USER)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


# Content-Security-Policy violations reported on each page's console
_CSP: weakref.WeakKeyDictionary[Page, list[str]] = weakref.WeakKeyDictionary()


def csp(page: Page) -> list[str]:
    """The Content-Security-Policy violations the page reported so far."""
    return _CSP[page]


def new_page(
    browser: Browser, base_url: str, login: bool = True, **options: Any
) -> tuple[BrowserContext, Page]:
    """A fresh browser context (its own cookies), logged in unless ``login`` is False;
    every Content-Security-Policy violation is collected in ``csp(page)``."""
    context = browser.new_context(base_url=base_url, **options)
    context.set_default_timeout(ACTION_MS)
    context.set_default_navigation_timeout(NAVIGATION_MS)
    page = context.new_page()
    violations: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    _CSP[page] = violations
    if login:
        log_in(page)
    return context, page


@pytest.fixture
def phone(browser: Browser, base_url: str) -> Iterator[Page]:
    """A technician's phone (390 x 844, touch)."""
    context, page = new_page(browser, base_url, **PHONE)
    yield page
    context.close()


@pytest.fixture
def desktop(browser: Browser, base_url: str) -> Iterator[Page]:
    context, page = new_page(browser, base_url, **DESKTOP)
    yield page
    context.close()


@pytest.fixture
def no_js(browser: Browser, base_url: str) -> Iterator[Page]:
    """A phone browser with JavaScript turned off."""
    context, page = new_page(browser, base_url, java_script_enabled=False, **PHONE)
    yield page
    context.close()


# ------------------------------------------------------------------ helpers


def causes(page: Page) -> Locator:
    return page.locator("ol.causes > li")


def ranking(page: Page) -> list[str]:
    """The ranked causes as shown: 'title NN %' per cause, best first."""
    expect(causes(page).first).to_be_visible()
    out = []
    for li in causes(page).all():
        title = li.locator("strong").first.inner_text().strip()
        conf = li.locator(".conf").inner_text().strip()
        out.append(f"{title} {conf}")
    return out


def answers_list(page: Page) -> Locator:
    return page.get_by_role("heading", name="Your answers").locator(
        "xpath=following-sibling::ul[1]"
    )


def diagnose(page: Page, text: str, code: str = "") -> None:
    """Type the observation (and code) into the form and submit with the Enter key."""
    page.goto("/")
    symptom = page.get_by_label("Symptom, in your own words")
    symptom.fill(text)
    if code:
        page.get_by_label("Error code (optional)").fill(code)
    page.get_by_label("Error code (optional)").press("Enter")
    expect(page.get_by_role("heading", name="Likely causes")).to_be_visible()


def open_work_order(page: Page, station: str, port: str, tap: bool = False) -> int:
    page.get_by_label("Station").fill(station)
    page.get_by_label("Port", exact=True).fill(port)
    button = page.get_by_role("button", name="Open work order")
    if tap:
        button.tap()
    else:
        button.click()
    expect(page).to_have_url(re.compile(r"/workorders/\d+$"))
    return int(page.url.rsplit("/", 1)[1])


def order_link(page: Page, oid: int) -> Locator:
    """The row of an order in the list: one link, the whole row."""
    return page.locator(f'a.order[href="/workorders/{oid}"]')


def focused(page: Page) -> dict[str, Any]:
    """What a sighted keyboard user sees of the focused element."""
    return dict(
        page.evaluate(
            """() => {
          const e = document.activeElement, s = getComputedStyle(e), r = e.getBoundingClientRect();
          return {
            what: e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + ' '
                  + (e.textContent || e.value || '').trim().slice(0, 40),
            outline: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2,
            onScreen: r.width > 0 && r.height > 0 && r.bottom > 0 && r.right > 0
                      && r.top < innerHeight && r.left < innerWidth,
          };
        }"""
        )
    )


def press_until(page: Page, key: str, target: Locator, limit: int = 40) -> None:
    """Press ``key`` (Tab, Shift+Tab) until ``target`` has the focus; every element
    passed on the way must be on screen with a visible focus outline."""
    for _ in range(limit):
        page.keyboard.press(key)
        now = focused(page)
        assert now["onScreen"], f"the focused element is off screen: {now['what']}"
        assert now["outline"], f"the focused element shows no focus outline: {now['what']}"
        if target.evaluate("e => e === document.activeElement"):
            return
    raise AssertionError(f"{limit} x {key} never reached {target}")


def no_sideways_scroll(page: Page, width: int = 390) -> None:
    """The page fits the phone's width: no sideways scrolling, no zooming out."""
    scroll, inner = page.evaluate("[document.scrollingElement.scrollWidth, innerWidth]")
    if scroll <= width + 1 and inner == width:
        return
    wide = page.evaluate(
        """(w) => {
          const out = (e) => e.getBoundingClientRect().right > w + 1;
          return Array.from(document.querySelectorAll('main *'))
            .filter(e => out(e) && !Array.from(e.children).some(out)).slice(0, 5)
            .map(e => e.tagName.toLowerCase() + ': ' + e.textContent.trim().slice(0, 60));
        }""",
        width,
    )
    raise AssertionError(
        f"{page.url} is {scroll} px wide (layout viewport {inner} px) on a {width} px phone;"
        f" too wide: {wide}"
    )


def small_tap_targets(page: Page) -> list[str]:
    return list(
        page.evaluate(
            """(min) => Array.from(document.querySelectorAll(
                 'button, summary, select, input:not([type=hidden]), textarea, #suggest a'))
               .filter(e => e.getClientRects().length)
               .map(e => [e, e.getBoundingClientRect().height])
               .filter(([e, h]) => h < min)
               .map(([e, h]) => `${e.tagName.toLowerCase()} "${(e.textContent || e.id).trim()
                                  .slice(0, 30)}": ${Math.round(h)} px`)""",
            MIN_TAP,
        )
    )


# ------------------------------------------------------------------ a phone


def test_anonymous_visitor_is_sent_to_the_login_page(browser: Browser, base_url: str) -> None:
    context, page = new_page(browser, base_url, login=False, **PHONE)
    try:
        page.goto(OPEN_QUESTION)
        expect(page).to_have_url(re.compile(r"/login\?next="))
        expect(page.get_by_role("heading", name="Log in")).to_be_visible()
        page.get_by_label("User name").fill(USER)
        page.get_by_label("Password").fill("wrong password")
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("alert")).to_have_text("wrong user name or password")
        page.get_by_label("User name").fill(USER)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        # back where the visitor wanted to go
        expect(page).to_have_url(re.compile(r"/\?text=cable\+hangs\+loose&error=CP-ERR-RET$"))
        expect(causes(page).first).to_be_visible()
        page.get_by_role("button", name="Log out").click()
        expect(page).to_have_url(re.compile(r"/login$"))
        page.goto("/workorders")
        expect(page).to_have_url(re.compile(r"/login\?next=/workorders$"))
        assert csp(page) == []
    finally:
        context.close()


def test_phone_suggestions_diagnosis_and_explanation(phone: Page) -> None:
    page = phone
    page.goto("/")
    symptom = page.get_by_label("Symptom, in your own words")
    symptom.tap()
    symptom.press_sequentially(FIELD_PHRASE)
    # (a) the manual's wording is offered although it shares few words with ours
    suggestions = page.get_by_role("list", name="Known symptoms like yours")
    expect(suggestions.get_by_role("link", name=MANUAL_SYMPTOM, exact=True)).to_be_visible()

    # (b) our own phrasing plus the code, submitted with Enter
    code = page.get_by_label("Error code (optional)")
    code.tap()
    code.fill(CODE)
    code.press("Enter")
    expect(page).to_have_url(re.compile(r"\?text=cord\+lying.*&error=CP-ERR-RET"))
    top = causes(page).first
    expect(top).to_contain_text(SPRING)
    expect(top.locator(".conf")).to_have_text(re.compile(r"^\d+ %$"))
    why = top.get_by_text(re.compile(r"^Why \(\d+ pieces? of evidence\)$"))
    evidence = top.get_by_text(RETRACTOR_MANUAL).first
    expect(evidence).to_be_hidden()
    why.tap()
    expect(evidence).to_be_visible()
    expect(top.get_by_role("listitem").filter(has_text=CODE).first).to_be_visible()
    expect(
        top.get_by_text(re.compile(r"^Manual: manuals/chargepoint-ct4000-cable-retractor\.md:\d+"))
    ).to_be_visible()
    assert csp(page) == []  # the script is a file, not inline


def test_phone_answers_rerank_and_undo(phone: Page) -> None:
    page = phone
    page.goto(YES_THEN_READING)
    initial = ranking(page)
    assert len(initial) > 1
    expect(page.get_by_text(DELTA)).to_have_count(0)

    question = page.locator("form.question").filter(has=page.get_by_role("button", name="Yes"))
    asked = question.first.locator("p").inner_text()
    question.first.get_by_role("button", name="Yes").tap()
    expect(page.get_by_role("heading", name="Your answers")).to_be_visible()
    after_yes = ranking(page)
    assert after_yes != initial, "answering Yes changed no confidence"
    expect(page.get_by_text(DELTA).first).to_be_visible()
    expect(answers_list(page).get_by_role("listitem")).to_have_count(1)
    expect(answers_list(page)).to_contain_text("yes")
    expect(page.locator("form.question").filter(has_text=asked)).to_have_count(0)

    # a reading: the measurement question asks for a value (and a screen reader says which)
    # a voltage question (the pilot), answered with a dead reading
    volts = page.locator("form.question").filter(has_text="in V?")
    reading = volts.first.get_by_label(re.compile("Reading"))
    expect(reading).to_have_accessible_description(re.compile(r"what do you read, in V\?"))
    reading.fill("0 V")
    reading.press("Enter")
    expect(answers_list(page).get_by_role("listitem")).to_have_count(2)
    expect(answers_list(page)).to_contain_text("reading: 0 V")
    after_reading = ranking(page)
    assert after_reading != after_yes, "recording a reading changed no confidence"
    expect(page.get_by_text(DELTA).first).to_be_visible()

    # undo the reading, then the Yes: back to each earlier ranking
    answers_list(page).get_by_role("listitem").nth(1).get_by_role("link", name="undo").tap()
    expect(answers_list(page).get_by_role("listitem")).to_have_count(1)
    assert ranking(page) == after_yes
    answers_list(page).get_by_role("link", name="undo").tap()
    expect(page.get_by_role("heading", name="Your answers")).to_have_count(0)
    assert ranking(page) == initial
    expect(page.get_by_text(DELTA)).to_have_count(0)


def test_phone_work_order_print_assign_close(phone: Page) -> None:
    page = phone
    diagnose(page, FIELD_PHRASE, CODE)
    oid = open_work_order(page, "ST-0042", "2", tap=True)

    # (d) the order: causes, safety, procedure
    expect(page.get_by_role("heading", level=1)).to_have_text("Work order: ST-0042, port 2")
    expect(page.locator("ol.cards > li").first).to_contain_text(SPRING)
    expect(page.get_by_text("Lockout/tagout required")).to_be_visible()
    expect(page.get_by_role("heading", name="Procedure")).to_be_visible()
    expect(page.get_by_text("Retractor Spring Replacement").first).to_be_visible()

    # printing hides the screen-only parts, keeps the order
    print_button = page.get_by_role("button", name="Print")
    expect(print_button).to_be_visible()
    page.emulate_media(media="print")
    expect(print_button).to_be_hidden()
    expect(page.get_by_role("heading", name="Status")).to_be_hidden()
    expect(page.get_by_role("link", name="Work orders")).to_be_hidden()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.get_by_text("Lockout/tagout required")).to_be_visible()
    page.emulate_media(media="screen")

    page.get_by_role("link", name="Printable view").tap()
    expect(page).to_have_url(re.compile(rf"/workorders/{oid}/print$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Work order: ST-0042, port 2")
    expect(page.get_by_role("heading", name="Sign-off")).to_be_visible()
    expect(page.get_by_text(RETRACTOR_MANUAL).first).to_be_visible()
    page.emulate_media(media="print")
    expect(page.get_by_role("button", name="Print")).to_be_hidden()
    page.emulate_media(media="screen")
    page.go_back()

    # (e) assign, then close with the repair log
    page.get_by_label("Assign to").fill("Alex Tech")
    page.get_by_role("button", name="Assign").tap()
    expect(page.get_by_text("assigned to Alex Tech")).to_be_visible()
    page.get_by_label("Root cause", exact=True).select_option(label=SPRING)
    page.get_by_label("Part used", exact=True).fill("Replacement retractor spring kit")
    page.get_by_label("Serial number").first.fill("SN-77-0042")
    page.get_by_label("Cable length (as installed)").fill("18 ft")
    page.get_by_label("Notes").fill("spring snapped at the drum")
    checklist = page.get_by_role("group", name=re.compile("^Verification done"))
    for box in checklist.get_by_role("checkbox").all():
        box.tap()
    page.get_by_role("button", name="Close work order").tap()
    expect(page).to_have_url(re.compile(rf"/workorders/{oid}$"))
    status = page.get_by_role("region", name="Status")
    expect(status).to_contain_text(f"Root cause: {SPRING}; cable length 18 ft.")
    expect(status).to_contain_text("Replacement retractor spring kit, serial SN-77-0042")
    expect(status).to_contain_text("spring snapped at the drum")
    expect(status.get_by_role("button", name="Reopen")).to_be_visible()
    expect(page.get_by_role("button", name="Close work order")).to_have_count(0)
    expect(page.locator(".status").first).to_have_text(re.compile("closed", re.I))

    # the printable view carries the repair log it was closed with
    page.get_by_role("link", name="Printable view").tap()
    log = page.locator("dl.log")
    for value in (SPRING, "18 ft", "SN-77-0042", "spring snapped at the drum"):
        expect(log).to_contain_text(value)
    page.go_back()

    page.get_by_role("link", name="Work orders").tap()
    row = order_link(page, oid)
    expect(row).to_contain_text("ST-0042")
    expect(row).to_contain_text(re.compile("closed", re.I))
    page.get_by_role("link", name="closed", exact=True).tap()
    expect(order_link(page, oid)).to_be_visible()


def test_phone_layout_fits_and_targets_are_thumb_sized(phone: Page) -> None:
    page = phone
    page.goto("/")
    page.get_by_label("Symptom, in your own words").press_sequentially(FIELD_PHRASE)
    expect(page.get_by_role("link", name=MANUAL_SYMPTOM, exact=True)).to_be_visible()
    assert small_tap_targets(page) == []

    page.goto(OPEN_QUESTION)
    page.locator("form.question").first.get_by_role("button", name="Yes").tap()
    expect(page.get_by_text(DELTA).first).to_be_visible()
    causes(page).first.locator("summary").tap()
    no_sideways_scroll(page)
    assert small_tap_targets(page) == []

    oid = open_work_order(page, "ST-7", "1", tap=True)
    no_sideways_scroll(page)
    assert small_tap_targets(page) == []
    page.goto("/workorders")
    expect(order_link(page, oid)).to_be_visible()
    no_sideways_scroll(page)


# ------------------------------------------------------------------ keyboard only


def test_keyboard_only_from_symptom_to_work_order(desktop: Page) -> None:
    page, kb = desktop, desktop.keyboard
    page.goto("/")
    symptom = page.get_by_label("Symptom, in your own words")
    code = page.get_by_label("Error code (optional)")

    kb.press("Tab")  # the skip link comes first and shows itself
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    kb.press("Enter")
    press_until(page, "Tab", symptom, limit=3)

    kb.type(FIELD_PHRASE)
    suggestion = page.get_by_role("link", name=MANUAL_SYMPTOM, exact=True)
    expect(suggestion).to_be_visible()
    # on a loaded machine typing can pause past the debounce: let every answer arrive,
    # or a late one replaces the list under the focus
    page.wait_for_load_state("networkidle")
    press_until(page, "Tab", code)
    kb.type(CODE)
    # back to the manual's wording: picking it keeps the code typed after it appeared
    press_until(page, "Shift+Tab", suggestion)
    kb.press("Enter")
    expect(page).to_have_url(re.compile(r"\?.*error=CP-ERR-RET"))
    expect(symptom).to_have_value(MANUAL_SYMPTOM)
    expect(code).to_have_value(CODE)
    top = causes(page).first
    expect(top).to_contain_text(SPRING)

    why = top.locator("summary")
    press_until(page, "Tab", why)
    kb.press("Space")
    expect(top.get_by_text(RETRACTOR_MANUAL).first).to_be_visible()

    station = page.get_by_label("Station")
    press_until(page, "Tab", station)
    kb.type("ST-0099")
    kb.press("Tab")
    expect(page.get_by_label("Port", exact=True)).to_be_focused()
    kb.type("1")
    kb.press("Tab")
    expect(page.get_by_role("button", name="Open work order")).to_be_focused()
    assert focused(page)["outline"]
    kb.press("Enter")
    expect(page).to_have_url(re.compile(r"/workorders/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Work order: ST-0099, port 1")
    expect(page.get_by_text("Lockout/tagout required")).to_be_visible()

    # and on to the status forms, still by keyboard: they are at the top
    assignee = page.get_by_label("Assign to")
    press_until(page, "Tab", assignee, limit=10)
    kb.type("Kim")
    kb.press("Enter")
    expect(page.get_by_text("assigned to Kim")).to_be_visible()
    close = page.get_by_role("link", name="Close with the repair log")
    press_until(page, "Tab", close, limit=10)
    kb.press("Enter")  # jumps to the form further down; the next Tab is in it
    press_until(page, "Tab", page.get_by_label("Root cause", exact=True), limit=2)


# ------------------------------------------------------------------ no JavaScript


def test_without_javascript_plain_forms_do_the_whole_job(no_js: Page) -> None:
    page = no_js
    page.goto("/")
    page.get_by_label("Symptom, in your own words").fill("cable hangs loose")
    page.get_by_label("Error code (optional)").fill(CODE)
    page.get_by_role("button", name="Diagnose").click()
    initial = ranking(page)
    expect(page.get_by_role("list", name="Known symptoms like yours")).to_be_empty()

    page.locator("form.question").first.get_by_role("button", name="No").click()
    expect(page.get_by_role("heading", name="Your answers")).to_be_visible()
    expect(answers_list(page)).to_contain_text("no")
    assert ranking(page) != initial

    oid = open_work_order(page, "ST-NOJS", "3")
    expect(page.get_by_role("heading", level=1)).to_have_text("Work order: ST-NOJS, port 3")
    page.get_by_label("Root cause", exact=True).select_option(label=SPRING)
    page.get_by_label("Part used", exact=True).fill("Replacement retractor spring kit")
    page.get_by_label("Serial number").first.fill("SN-NOJS")
    page.get_by_label("Cable length (as installed)").fill("5 m")
    page.get_by_role("button", name="Close work order").click()
    expect(page).to_have_url(re.compile(rf"/workorders/{oid}$"))
    status = page.get_by_role("region", name="Status")
    expect(status).to_contain_text(f"Root cause: {SPRING}; cable length 5 m.")
    expect(status).to_contain_text("serial SN-NOJS")


# ------------------------------------------------------------------ injected markup


PAYLOAD = '<script>window.__x=1</script><img src=x onerror="window.__y=1"> {{ 7*7 }}'


def assert_inert(page: Page) -> None:
    page.wait_for_load_state("load")
    ran = page.evaluate("[typeof window.__x, typeof window.__y]")
    assert ran == ["undefined", "undefined"], f"injected script ran on {page.url}"


def test_injected_markup_is_shown_as_text(phone: Page) -> None:
    page = phone
    diagnose(page, PAYLOAD, CODE)
    assert_inert(page)
    expect(page.get_by_label("Symptom, in your own words")).to_have_value(PAYLOAD)
    assert PAYLOAD[:40] in page.title()

    open_work_order(page, "<b>ST</b>", "")
    assert_inert(page)
    reported = page.get_by_role("listitem").filter(has_text="Reported:")
    expect(reported).to_have_text(f"Reported: {PAYLOAD}")
    expect(reported).not_to_contain_text("49")
    expect(page.get_by_role("heading", level=1)).to_have_text("Work order: <b>ST</b>")

    page.get_by_role("link", name="Printable view").tap()
    expect(page).to_have_url(re.compile(r"/workorders/\d+/print$"))
    assert_inert(page)
    expect(page.get_by_role("listitem").filter(has_text="Reported:")).to_have_text(
        f"Reported: {PAYLOAD}"
    )
    page.goto("/workorders")
    assert_inert(page)
    expect(page.locator("a.order .station").filter(has_text="<b>ST</b>").first).to_be_visible()


# ------------------------------------------------------------------ API docs offline


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_api_docs_render_without_another_host(desktop: Page, base_url: str, path: str) -> None:
    """The API docs render from this service alone: a request to any other host is
    refused (as offline) and recorded."""
    page = desktop
    here = urlsplit(base_url).netloc
    elsewhere: list[str] = []

    def only_here(route: Any) -> None:
        if urlsplit(route.request.url).netloc == here:
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", only_here)
    page.goto(path)
    expect(page.get_by_text("/api/diagnose").filter(visible=True).first).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert elsewhere == []


# ------------------------------------------------------------------ phone-first work order


def in_first_screen(page: Page, what: Locator) -> None:
    """``what`` is wholly on the first screen (the page is not scrolled)."""
    assert page.evaluate("scrollY") == 0
    box = what.bounding_box()
    height = page.viewport_size["height"] if page.viewport_size else 0
    assert box is not None, what
    assert box["y"] >= 0 and box["y"] + box["height"] <= height, (
        f"{what} is at {box['y']:.0f}-{box['y'] + box['height']:.0f} px, below the first "
        f"{height} px"
    )


def test_phone_first_screen_has_top_cause_next_step_and_actions(
    phone: Page, tmp_path: Path
) -> None:
    page = phone
    shots = Path(os.environ.get("EVKB_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    diagnose(page, FIELD_PHRASE, CODE)
    oid = open_work_order(page, "ST-FIRST", "1", tap=True)
    page.screenshot(path=shots / "order-open-phone.png")
    top, step = page.locator("#top-cause"), page.locator("#next-step")
    expect(top).to_contain_text(SPRING)
    expect(top).to_contain_text(page.locator("ol.cards > li .conf").first.inner_text())
    first_step = page.locator("ol.procedure > li > strong").first.inner_text()
    expect(step).to_contain_text(first_step)
    assign = page.get_by_role("button", name="Assign")
    close = page.get_by_role("link", name="Close with the repair log")
    pdf = page.get_by_role("link", name="PDF")
    for what in (top, step, page.get_by_label("Assign to"), assign, close, pdf):
        in_first_screen(page, what)
    # the causes are cards, not a table squeezed into 390 px
    expect(page.locator("main table")).to_have_count(0)
    no_sideways_scroll(page)

    close.tap()  # no script: an anchor to the form
    expect(page.get_by_label("Root cause", exact=True)).to_be_in_viewport()
    page.get_by_label("Root cause", exact=True).select_option(label=SPRING)
    page.get_by_label("Cable length (as installed)").fill("16 ft")
    page.get_by_role("button", name="Close work order").tap()
    expect(page).to_have_url(re.compile(rf"/workorders/{oid}$"))
    page.screenshot(path=shots / "order-closed-phone.png")
    for what in (top, page.get_by_role("button", name="Reopen")):
        in_first_screen(page, what)
    expect(page.get_by_role("region", name="Status")).to_contain_text(f"Root cause: {SPRING}")

    # printed, the first screen's cards stay and the buttons go
    page.emulate_media(media="print")
    expect(top).to_be_visible()
    expect(page.get_by_role("button", name="Reopen")).to_be_hidden()
    expect(page.locator("dl.log")).to_contain_text("16 ft")
    page.emulate_media(media="screen")


def test_orders_list_whole_row_is_the_link(phone: Page) -> None:
    page = phone
    diagnose(page, FIELD_PHRASE, CODE)
    oid = open_work_order(page, "ST-ROW", "4", tap=True)
    page.goto("/workorders")
    row = order_link(page, oid)
    expect(row).to_contain_text("ST-ROW, port 4")
    expect(row).to_contain_text(SPRING)
    link, item = row.bounding_box(), row.locator("xpath=..").bounding_box()
    assert link and item
    assert abs(link["width"] - item["width"]) <= 1 and abs(link["height"] - item["height"]) <= 1
    assert link["height"] >= MIN_TAP
    # a tap on the far corner of the row, away from any text, opens the order
    page.touchscreen.tap(link["x"] + link["width"] - 3, link["y"] + link["height"] - 3)
    expect(page).to_have_url(re.compile(rf"/workorders/{oid}$"))


HUMAN_TIME = re.compile(r"^(today|yesterday|\d{1,2} [A-Z][a-z]{2}( \d{4})?) \d\d:\d\d UTC$")


def test_times_read_as_people_say_them_with_the_iso_value_in_the_tooltip(desktop: Page) -> None:
    page = desktop
    diagnose(page, FIELD_PHRASE, CODE)
    oid = open_work_order(page, "ST-TIME", "1")
    for url in (f"/workorders/{oid}", "/workorders"):
        page.goto(url)
        times = page.locator("main time")
        expect(times.first).to_be_visible()
        for t in times.all():
            iso = t.get_attribute("datetime") or ""
            assert t.get_attribute("title") == iso
            assert datetime.fromisoformat(iso).tzinfo is not None, iso
            assert HUMAN_TIME.match(t.inner_text()), t.inner_text()
