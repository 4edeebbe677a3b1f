"""Campaign results in a real browser: a marketer uploads the email tool's activity export for the
seeded history's export batch, sees what worked (rates with intervals, a sentence per comparison)
and the edits trend week by week."""

from __future__ import annotations

import csv
import random
import re
from datetime import datetime, timedelta, timezone

import pytest
from e2e_support import idle, open_page, sign_in

pytestmark = pytest.mark.e2e


def _exported(home) -> list[tuple[str, str]]:
    """(address, adapter) of every draft of the seeded history's export batch."""
    import sqlalchemy as sa

    from brandvoice.config import Settings
    from brandvoice.store import Store, contacts, drafts, export_items

    store = Store(Settings(home=home))
    with store.read() as conn:
        rows = conn.execute(sa.select(contacts.c.email, drafts.c.adapter_label)
                            .join(drafts, drafts.c.contact_id == contacts.c.id)
                            .join(export_items, export_items.c.draft_id == drafts.c.id)
                            .where(export_items.c.batch_id == 1)).all()
    return [(r.email, r.adapter_label) for r in rows]


def _activity_file(path, sent: list[tuple[str, str]]) -> None:
    """A Mailchimp activity export: every recipient opened; Ledgerly v3's drafts got clicks."""
    rng = random.Random(22)
    when = (datetime.now(timezone.utc) + timedelta(hours=2)).strftime("%Y-%m-%d %H:%M:%S")
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["Email Address", "Action", "Timestamp", "URL"])
        for email, adapter in sent:
            w.writerow([email, "open", when, ""])
            if adapter.endswith("v3") or rng.random() < 0.1:
                w.writerow([email, "click", when, "https://ledgerly.example/demo"])
        w.writerow(["nobody@unknown.example", "open", when, ""])


def test_marketer_imports_results_and_sees_what_worked_and_the_edits_trend(app_server, page,
                                                                          shots, tmp_path):
    sent = _exported(app_server["home"])
    assert sent, "the seeded history has an export batch"
    path = tmp_path / "mailchimp-activity.csv"
    _activity_file(path, sent)
    sign_in(page, app_server["url"], "mark")
    open_page(page, "Results")
    page.get_by_role("tab", name="Import results").click()
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(path))
    idle(page)
    page.get_by_role("button", name="Import results").click()
    page.get_by_text(re.compile(r"Import #\d+ \(mailchimp\): \d+ of \d+ rows matched")).first.wait_for()
    # the row it could not match is listed (in the table's grid) with its reason
    page.get_by_text("1 row matched no sent draft").first.wait_for()
    idle(page)
    shots(page, "results_01_import")

    page.get_by_role("tab", name="What worked").click()
    page.locator('[data-testid="stRadio"]').filter(has_text="Outcome").get_by_text(
        "Clicks", exact=True).click()
    idle(page)
    page.get_by_role("heading", name="Adapter version").wait_for()
    page.get_by_text(re.compile(r"ledgerly v3 earns more clicks than ledgerly v1", re.I)).first.wait_for()
    assert not page.locator('[data-testid="stException"]').count()
    shots(page, "results_02_what_worked")

    page.get_by_role("tab", name="Edits").click()
    page.get_by_role("heading", name="Approved without edits").wait_for()
    page.get_by_role("heading", name="Words changed before approval").wait_for()
    idle(page)
    assert page.locator('[data-testid="stVegaLiteChart"]').count() >= 3
    shots(page, "results_03_edits")
