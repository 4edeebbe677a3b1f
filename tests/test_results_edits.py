"""Edits measured: words changed before approval, the share approved as written and rejections by
reason, per adapter version, template and week; the dashboard and `review metrics` read them."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from helpers_drafts import make_drafts, mark_checked

from brandvoice import results, review
from brandvoice.store import reviews

pytestmark = pytest.mark.usefixtures("fast_hashes")


def test_words_changed_counts_replaced_deleted_and_inserted_words():
    assert results.words_changed("Hi", "one two three", "Hi", "one two three") == 0
    assert results.words_changed("Hi", "one two three", "Hi", "one 2 three") == 1
    assert results.words_changed("Hi", "one two three", "Hi", "one three") == 1
    assert results.words_changed("Hi", "one two", "Hi", "one two three four") == 2
    # a replacement of 1 word by 3 counts 3; the subject counts too
    assert results.words_changed("Hi", "one two", "Hello there", "one a b c") == 5
    # line breaks and spacing alone are no edit
    assert results.words_changed("Hi", "one  two\nthree", "Hi", "one two three") == 0


def _decide(store, people, ids, *, edits: dict[int, str], rejects: dict[int, str]):
    for i, did in enumerate(ids):
        d = review.get_draft(store, did)
        if i in rejects:
            review.reject(store, people["rev"], did, expected_version=1, reason_code=rejects[i])
            continue
        version = 1
        if i in edits:
            r = review.edit(store, people["admin"], did, subject=d["subject"],
                            body=d["body"].replace("walkthrough", edits[i]), expected_version=1)
            mark_checked(store, [did])
            version = r["row_version"]
        review.approve(store, people["rev"], did, expected_version=version)


def _in_week(store, ids, stamp):
    with store.tx() as conn:
        conn.execute(reviews.update().where(reviews.c.draft_id.in_(ids)).values(created_at=stamp))


def test_edit_metrics_week_by_week_per_adapter_and_template(store, people):
    early = make_drafts(store, 4)
    _decide(store, people, early, edits={0: "long and detailed product tour", 1: "tour"},
            rejects={3: "off-brand"})
    late = make_drafts(store, 4, template="demo_recap")
    _decide(store, people, late, edits={}, rejects={2: "tone", 3: "tone"})
    _in_week(store, early, "2026-11-02T10:00:00.000000Z")  # ISO week 45
    _in_week(store, late, "2026-11-23T10:00:00.000000Z")  # ISO week 48
    rows = results.edit_metrics(store, by=("period", "adapter"), period="week")
    assert [(r["period"], r["adapter"]) for r in rows] == [("2026-W45", "ledgerly v1"),
                                                           ("2026-W48", "ledgerly v1")]
    w45, w48 = rows
    # week 45: 3 approved, of which 2 edited (1 word -> 5 words: 5; 1 -> 1: 1), one rejected
    assert (w45["decided"], w45["approved"], w45["approved_as_is"]) == (4, 3, 1)
    assert w45["share_as_is"] == round(1 / 3, 4) and w45["median_words_changed"] == 1
    assert w45["mean_words_changed"] == 2.0
    assert w45["rejects_by_reason"] == {"off-brand": 1} and w45["median_edit_distance"] > 0
    assert (w48["approved"], w48["share_as_is"], w48["median_words_changed"]) == (2, 1.0, 0)
    assert w48["rejects_by_reason"] == {"tone": 2}
    by_template = results.edit_metrics(store, by=("adapter", "template"), period="all")
    assert [(r["template"], r["decided"]) for r in by_template] == [("demo_recap", 4),
                                                                    ("follow_up", 4)]
    months = results.edit_metrics(store, by=("period",), period="month")
    assert [(r["period"], r["decided"]) for r in months] == [("2026-11", 8)]


def test_a_reopened_draft_is_undecided_again(store, people):
    (did,) = make_drafts(store, 1)
    review.reject(store, people["rev"], did, expected_version=1, reason_code="tone")
    assert results.edit_metrics(store, by=("adapter",), period="all")[0]["rejected"] == 1
    review.reopen(store, people["rev"], did, expected_version=2)
    assert results.edit_metrics(store, by=("adapter",), period="all") == []


def test_bad_groupings_are_named(store):
    from brandvoice.errors import InputError

    with pytest.raises(InputError, match="Unknown grouping colour"):
        results.edit_metrics(store, by=("colour",))
    with pytest.raises(InputError, match="Unknown period 'day'"):
        results.edit_metrics(store, period="day")


def test_cli_edits_and_review_metrics_read_the_edit_figures(store, people):
    from click.testing import CliRunner

    from brandvoice.cli import main

    ids = make_drafts(store, 3)
    _decide(store, people, ids, edits={0: "long and detailed product tour"}, rejects={2: "tone"})
    res = CliRunner().invoke(main, ["results", "edits", "--by", "adapter", "--period", "all"])
    assert res.exit_code == 0, res.output
    assert "ledgerly v1" in res.output and "50.0%" in res.output and "tone 1" in res.output
    res = CliRunner().invoke(main, ["review", "metrics"])
    assert res.exit_code == 0, res.output
    header, row = res.output.splitlines()[:2]
    assert "as_is" in header and "median_words_changed" in header and "0.5" in row
    with store.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(reviews)).scalar() == 4


def test_dashboard_edits_chart_shows_words_changed(store, demo_people):
    import json

    from ui_harness import fast_passwords, no_exception, page  # noqa: F401

    admin, reviewer, _ = demo_people
    ids = make_drafts(store, 2, created_by="mark")
    d = review.get_draft(store, ids[0])
    r = review.edit(store, admin, ids[0], subject=d["subject"], body=d["body"] + " One more line.",
                    expected_version=1)
    mark_checked(store, [ids[0]])
    review.approve(store, reviewer, ids[0], expected_version=r["row_version"])
    review.approve(store, reviewer, ids[1], expected_version=1)
    at = page("dashboard", reviewer).run()
    no_exception(at)
    spec = next(json.loads(c.proto.spec) for c in at.get("vega_lite_chart")
                if "median words changed" in c.proto.spec)
    assert spec["encoding"]["y"]["title"] == "median words changed"
