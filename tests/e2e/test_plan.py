"""A new marketer's campaign in a real browser: before any model runs, the Generate page shows who
gets which template and who gets none and why; the marketer moves a group to another template,
then generates, and every draft keeps the route that chose its template.

The demo CRM export (Ledgerly, HubSpot) and its activity log are planned as of the demo exports'
send day; the tiny test model writes the slots (tests/helpers_models.py).
"""

from __future__ import annotations

import re

import pytest
from e2e_support import idle, open_page, sign_in

pytestmark = pytest.mark.e2e


def _metric(page, label: str) -> int:
    box = page.locator('[data-testid="stMetric"]').filter(has_text=label).first
    return int(box.locator('[data-testid="stMetricValue"]').inner_text().strip())


def _group(page, label: str):
    """The row of the plan for one group (its label, its count, its "send with" box)."""
    return page.locator('[data-testid="stHorizontalBlock"]').filter(
        has=page.get_by_text(label, exact=True)).first


def _newest_job(home) -> int:
    import sqlalchemy as sa

    from brandvoice.config import Settings
    from brandvoice.store import Store, jobs

    with Store(Settings(home=home)).read() as conn:
        return conn.execute(sa.select(sa.func.max(jobs.c.id)).where(jobs.c.kind == "generate")).scalar()


def _routes(home, job_id: int) -> list[dict]:
    """The route each draft of the job keeps in its settings, with its template's name."""
    import sqlalchemy as sa

    from brandvoice.config import Settings
    from brandvoice.store import Store, drafts

    store = Store(Settings(home=home))
    with store.read() as conn:
        rows = conn.execute(sa.select(drafts.c.template_name, drafts.c.settings)
                            .where(drafts.c.job_id == job_id)).all()
    return [{"name": r.template_name, **(r.settings or {}).get("route", {})} for r in rows]


def test_marketer_sees_who_gets_what_moves_a_group_and_generates(app_server, page, shots):
    sign_in(page, app_server["url"], "mark")
    open_page(page, "Generate")
    page.get_by_role("heading", name="Who gets what").wait_for()
    idle(page)
    # The brand's six templates are the campaign; no model has run, every contact is accounted for.
    contacts, routed, none = (_metric(page, n) for n in ("In the plan", "Get a draft", "Get none"))
    assert (contacts, routed, none) == (40, 33, 7)
    for label, n in (("ledgerly_after_demo", "6 contacts"), ("no template: too old", "4 contacts"),
                     ("no template: missing field", "2 contacts"),
                     ("no template: opted out", "1 contact")):
        assert _group(page, label).get_by_text(n, exact=True).count(), label
    # Who and why, per group: the too-old downloads with their dates.
    page.get_by_text(re.compile(r"^Who: Hannah Lindqvist")).first.click()
    page.get_by_text(re.compile(r"150 days ago \(window 30 days\)")).first.wait_for(state="attached")
    shots(page, "plan_01_who_gets_what")

    # The marketer sends the too-old group the re-engagement email instead.
    box = _group(page, "no template: too old").get_by_role("combobox")
    box.click()
    box.fill("ledgerly_reengage")  # the list filters as one types
    page.get_by_role("option", name="ledgerly_reengage_cold_lead").first.click()
    idle(page)
    assert _metric(page, "Get a draft") == 37 and _metric(page, "Get none") == 3
    go = page.get_by_role("button", name="Generate 37 drafts")
    go.wait_for()
    shots(page, "plan_02_group_moved")

    go.click()
    # the job's panel: wait until it names the campaign's job, then until the job ends
    page.get_by_text("37 drafts so far", exact=False).first.wait_for(timeout=600_000)
    job = _newest_job(app_server["home"])
    page.get_by_text(re.compile(rf"Job #{job} (finished|failed|was cancelled)")).first.wait_for(
        timeout=120_000)
    assert page.get_by_text(f"Job #{job} finished").count()
    shots(page, "plan_03_generated")

    routes = _routes(app_server["home"], job)
    assert len(routes) == 37 and all(r["name"] == r["template"] for r in routes)
    moved = [r for r in routes if r.get("by") == "moved"]
    assert len(moved) == 4 and {r["template"] for r in moved} == {"ledgerly_reengage_cold_lead"}
    assert all(r["from"] == "none:too_old" and r["as_of"].startswith("2026-11-22") for r in moved)
    assert {r["template"] for r in routes if r.get("by") == "audience"} >= {
        "ledgerly_after_demo", "ledgerly_trial_ending", "ledgerly_after_content_download"}
