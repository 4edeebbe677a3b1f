"""Review queue page: roles, edit + approve, reject, conflicts, empty state, large queues."""

from __future__ import annotations

import time

import pytest
from helpers_drafts import make_drafts
from ui_harness import (
    demo_users,
    fast_passwords,  # noqa: F401 - autouse fixture
    no_exception,
    page,
    texts,
)


@pytest.fixture
def people(store):
    return demo_users(store)


def _buttons(at) -> list[str]:
    return [b.label for b in at.button]


def test_empty_queue_says_how_to_fill_it(store, people):
    at = page("review", people[1]).run()
    no_exception(at)
    assert any("queue is empty" in i for i in texts(at, "info"))


def test_marketer_reads_but_cannot_approve(store, people):
    make_drafts(store, 3, created_by="mark")
    at = page("review", people[2]).run()
    no_exception(at)
    assert "Approve" not in _buttons(at) and "Save edit" not in _buttons(at)
    assert at.text_area[0].disabled
    assert any("reviewers approve" in c for c in texts(at, "caption"))


def test_reviewer_edits_and_approves(store, people):
    from brandvoice import review

    ids = make_drafts(store, 3, created_by="mark")
    at = page("review", people[1]).run()
    no_exception(at)
    assert "Approve" in _buttons(at)
    body = at.text_area[0]
    body.input(body.value.replace("walkthrough", "short call"))
    at.run()
    # The diff against the generated text is shown before saving.
    assert any("+" in c and "short call" in c for c in texts(at, "code"))
    next(b for b in at.button if b.label == "Approve").click()
    at.run()
    no_exception(at)
    # The core approves neither text its editor wrote (the admin's review policy) nor text whose
    # guardrails did not run: the edit is saved, the approval is refused with the reason.
    d = review.get_draft(store, ids[0])
    assert d["state"] == "pending" and "short call" in d["body"]
    assert any("own edit" in s for s in texts(at, "error"))


def test_reject_with_reason(store, people):
    from brandvoice import review

    ids = make_drafts(store, 2, created_by="mark")
    at = page("review", people[1]).run()
    at.selectbox(key=f"reason_{ids[0]}").select("tone")
    at.button(key=f"reject_{ids[0]}").click()
    at.run()
    no_exception(at)
    d = review.get_draft(store, ids[0])
    assert d["state"] == "rejected" and d["reviews"][-1]["reason_code"] == "tone"


def test_conflict_is_shown_and_the_text_kept(store, people):
    from brandvoice import review

    admin, reviewer, _ = people
    ids = make_drafts(store, 1, created_by="mark")
    at = page("review", reviewer).run()
    at.text_area[0].input("My careful rewrite of this email, with enough words in it.")
    # Another reviewer saves first.
    review.edit(store, admin, ids[0], subject="Changed elsewhere", body="Other text " * 5,
                expected_version=1)
    at.button(key=f"save_{ids[0]}").click()
    at.run()
    no_exception(at)
    warning = " ".join(texts(at, "warning"))
    assert "changed by admin" in warning and "reload" in warning.lower()
    assert at.text_area(key=f"body_{ids[0]}").value.startswith("My careful rewrite")  # never lost
    assert review.get_draft(store, ids[0])["subject"] == "Changed elsewhere"
    at.button(key=f"reload_{ids[0]}").click()
    at.run()
    assert at.text_input(key=f"subj_{ids[0]}").value == "Changed elsewhere"
    assert not texts(at, "warning")


def test_bulk_approve_passed(store, people):
    from brandvoice import review

    make_drafts(store, 6, verdicts=("pass", "warn", "fail"), created_by="mark")
    at = page("review", people[1]).run()
    at.button(key="bulk_approve").click()
    at.run()
    no_exception(at)
    assert any("Approved 2 drafts" in s for s in texts(at, "success"))
    assert review.list_queue(store, state="approved")[1] == 2


def test_filters_and_guardrail_badges(store, people):
    make_drafts(store, 4, verdicts=("pass", "fail"), created_by="mark")
    at = page("review", people[1]).run()
    at.selectbox(key="q_verdict").select("fail")
    at.run()
    no_exception(at)
    assert "2 drafts match" in " ".join(texts(at, "caption"))
    badges = " ".join(texts(at, "markdown"))
    assert ":red-badge" in badges


def test_ten_thousand_drafts_render_fast(store, people):
    make_drafts(store, 10_000, verdicts=("pass", "warn"), created_by="mark")
    at = page("review", people[1])
    at.run()  # warm-up: imports and caches
    start = time.perf_counter()
    at.run()
    elapsed = time.perf_counter() - start
    no_exception(at)
    assert "10,000 drafts match" in " ".join(texts(at, "caption"))
    print(f"review page with 10,000 drafts: {elapsed:.3f} s")
    assert elapsed < 1.0, f"review page took {elapsed:.2f} s with 10,000 drafts"


def test_reviewer_rechecks_an_edited_draft(store, people):
    from brandvoice import review

    admin, reviewer, _ = people
    ids = make_drafts(store, 1, brand="Ledgerly", adapter=False, created_by="mark")
    review.edit(store, admin, ids[0], subject="Quick question, Dana",
                body="Hi Dana, this is the best deal ever!!! Buy now.", expected_version=1)
    at = page("review", reviewer).run()
    no_exception(at)
    assert any("text changed since" in c for c in texts(at, "caption"))
    at.button(key=f"recheck_{ids[0]}").click()
    at.run(timeout=120)
    no_exception(at)
    d = review.get_draft(store, ids[0])
    assert {r["row_version"] for r in d["guardrails"]} >= {1, 2}
    assert not any("text changed since" in c for c in texts(at, "caption"))
