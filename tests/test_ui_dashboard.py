"""Dashboard: pass precision over time from reviewer decisions, whole-number count axes, reasons in
plain words."""

from __future__ import annotations

import json

from helpers_drafts import make_drafts
from ui_harness import (
    fast_passwords,  # noqa: F401 - autouse fixture
    no_exception,
    page,
    texts,
)


def _reviewed(store, reviewer):
    from brandvoice import review

    ids = make_drafts(store, 4, created_by="mark")
    review.approve(store, reviewer, ids[0], expected_version=1)
    review.reject(store, reviewer, ids[1], expected_version=1, reason_code="off-brand")
    return ids


def test_pass_precision_over_time(store, demo_people):

    from brandvoice import review
    from brandvoice.store import reviews

    ids = make_drafts(store, 14, created_by="mark")  # every verdict a pass
    for i, d in enumerate(ids):
        if i in (3, 13):
            review.reject(store, demo_people[1], d, expected_version=1, reason_code="off-brand")
        else:
            review.approve(store, demo_people[1], d, expected_version=1)
    with store.tx() as conn:  # the first four decisions a week earlier: two weeks of decisions
        conn.execute(reviews.update().where(reviews.c.draft_id.in_(ids[:4]))
                     .values(created_at="2026-11-20T10:00:00.000000Z"))
        conn.execute(reviews.update().where(reviews.c.draft_id.in_(ids[4:]))
                     .values(created_at="2026-11-27T10:00:00.000000Z"))
    assert [(p["period"], p["precision"]) for p in review.pass_precision(store)] == [
        ("2026-W47", 0.75), ("2026-W48", 0.9), ("all", round(12 / 14, 4))]
    at = page("dashboard", demo_people[1]).run()
    no_exception(at)
    values = {m.label: str(m.value) for m in at.metric}
    assert values["Pass precision"] == "86%"
    assert any("14 reviewer judgements" in c for c in texts(at, "caption"))
    spec = next(json.loads(c.proto.spec) for c in at.get("vega_lite_chart")
                if "approved among passed" in c.proto.spec)
    assert spec["encoding"]["y"]["axis"]["format"] == "%"


def test_count_axes_are_whole_numbers_and_reasons_plain(store, demo_people):
    _reviewed(store, demo_people[1])
    at = page("dashboard", demo_people[1]).run()
    no_exception(at)
    specs = [c.proto.spec for c in at.get("vega_lite_chart")]
    counted = [s for s in specs if '"sum(drafts)"' in s or "sum_drafts" in s or '"drafts"' in s]
    assert counted and all('"tickMinStep": 1' in s or '"tickMinStep":1' in s for s in counted)
    # The data travels beside the spec (Arrow): the reason's plain words are in it.
    assert any(b"Does not sound like the brand" in d.data.data
               for c in at.get("vega_lite_chart") for d in c.proto.datasets)


def test_bulk_approvals_are_not_reviewer_judgements(store, demo_people):
    """Bulk approve takes what passed without reading it: the pass precision leaves it out and the
    Dashboard counts it apart (it once read 100 % from bulk approvals alone)."""
    from brandvoice import review

    bulk = make_drafts(store, 6, created_by="mark")
    assert review.bulk_approve_passed(store, demo_people[1], bulk) == 6
    overall = review.pass_precision(store)[-1]
    assert overall["period"] == "all"
    assert (overall["approved"], overall["bulk_approved"], overall["precision"]) == (0, 6, None)
    at = page("dashboard", demo_people[1]).run()
    no_exception(at)
    assert "Pass precision" not in {m.label for m in at.metric}
    assert any("6 were bulk-approved, which is not a judgement" in c for c in texts(at, "caption"))
    judged = make_drafts(store, 2, created_by="mark")
    review.approve(store, demo_people[1], judged[0], expected_version=1)
    review.reject(store, demo_people[1], judged[1], expected_version=1, reason_code="off-brand")
    at.run()
    values = {m.label: str(m.value) for m in at.metric}
    assert values["Pass precision"] == "50%" and values["Bulk-approved passes"] == "6"
    assert any("2 reviewer judgements" in c and "the 6 bulk approvals are left out" in c
               for c in texts(at, "caption"))
