"""Bulk approve approves what was previewed: each draft at the version the preview showed; a draft
edited (and checked again) after the preview is left out and named."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from helpers_drafts import PassingGuard, make_drafts

from brandvoice import review
from brandvoice.cli import main
from brandvoice.store import audit

pytestmark = [pytest.mark.usefixtures("fast_hashes"), pytest.mark.all_databases]
PW = "correct horse"


def _edit_and_recheck(store, people, draft_id):
    d = review.get_draft(store, draft_id)
    review.edit(store, people["rev2"], draft_id, subject=d["subject"],
                body=d["body"].replace("Want a", "Would you like a"),
                expected_version=d["row_version"])
    review.recheck(store, people["rev2"], draft_id, guard=PassingGuard())
    assert review.get_draft(store, draft_id)["verdict"] == "pass"


def test_a_draft_changed_after_the_preview_is_left_out_and_named(store, people):
    ids = make_drafts(store, 3)
    shown = review.bulk_preview(store, people["rev"])
    assert [r["id"] for r in shown] == ids and all(r["row_version"] == 1 for r in shown)
    _edit_and_recheck(store, people, ids[1])  # after the preview: passes again, text is new
    res = review.bulk_approve_passed(store, people["rev"],
                                     versions={r["id"]: r["row_version"] for r in shown})
    assert res.approved == [ids[0], ids[2]]
    (skip,) = res.skipped
    assert skip["id"] == ids[1] and "changed since it was previewed (version 1 then" in skip["reason"]
    assert review.get_draft(store, ids[1])["state"] == "pending"
    with store.read() as conn:
        (event,) = conn.execute(audit.select().where(audit.c.action == "bulk_approve")).all()
    assert event.details["previewed"] is True and event.details["changed"] == [ids[1]]
    # looked at again, it is approved at its new version
    again = review.bulk_preview(store, people["rev"])
    assert [(r["id"], r["row_version"]) for r in again] == [(ids[1], 2)]
    assert review.bulk_approve_passed(store, people["rev"], versions={ids[1]: 2}).approved == [ids[1]]


def test_the_cli_approves_the_pairs_its_preview_lists(store, people, monkeypatch):
    monkeypatch.setenv("BRANDVOICE_USER", "rita")
    monkeypatch.setenv("BRANDVOICE_PASSWORD", PW)
    ids = make_drafts(store, 2)
    runner = CliRunner()
    shown = runner.invoke(main, ["review", "bulk-approve", "--preview"])
    assert shown.exit_code == 0, shown.output
    line = next(x for x in shown.output.splitlines() if x.startswith("Approve exactly these:"))
    pairs = line.split("bulk-approve ", 1)[1].split()
    assert pairs == [f"{ids[0]}@1", f"{ids[1]}@1"]
    _edit_and_recheck(store, people, ids[0])
    res = runner.invoke(main, ["review", "bulk-approve", *pairs])
    assert res.exit_code == 0, res.output
    assert "Approved 1 draft(s)." in res.output
    assert f"skipped {ids[0]}: changed since it was previewed" in res.output
    bad = runner.invoke(main, ["review", "bulk-approve", f"{ids[0]}@x"])
    assert bad.exit_code != 0 and "is not an id" in bad.output
