"""The view models people read (engine/views.py): their examples hold, and a work
order's view keeps what a technician needs first."""

from __future__ import annotations

import doctest

from engine import views
from evkb import api
from kb.schema import KnowledgeBase


def test_doctests() -> None:
    result = doctest.testmod(views)
    assert result.attempted > 5 and result.failed == 0


def test_view_has_top_cause_and_next_step(seed_kb: KnowledgeBase) -> None:
    d = api.diagnose(seed_kb, "cable hangs loose and will not retract", "CP-ERR-RET")
    view = api.workorder_context(seed_kb, d, text="cable hangs loose")
    assert view.top_cause is not None and view.top_cause == view.causes[0]
    assert view.next_step is not None and view.next_step.reason != "verification"
    assert view.shown[0] == view.top_cause
    assert view.repair_log is None


def test_a_closed_order_shows_what_it_was_closed_with_not_a_next_step(
    seed_kb: KnowledgeBase,
) -> None:
    from dataclasses import replace

    from engine.views import RepairLog

    d = api.diagnose(seed_kb, "cable hangs loose and will not retract", "CP-ERR-RET")
    view = api.workorder_context(seed_kb, d, text="cable hangs loose")
    log = RepairLog("Retractor spring broken", "18 ft", (), "spring kit fitted", "2026-12-02")
    closed = replace(view, repair_log=log)
    assert view.next_step is not None and closed.next_step is None
    from evkb.render import render

    page = render("workorder.html.j2", closed.context())
    assert 'id="next-step"' not in page and 'id="closed-with"' in page
    assert "Retractor spring broken" in page.split('id="closed-with"', 1)[1].split("</p>", 1)[0]
    assert 'id="next-step"' in render("workorder.html.j2", view.context())
