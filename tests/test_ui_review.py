"""Review queue page: roles, edit + approve, reject, conflicts, empty state, large queues."""

from __future__ import annotations

import time

import pytest
from helpers_drafts import make_drafts
from ui_harness import (
    fast_passwords,  # noqa: F401 - autouse fixture
    no_exception,
    page,
    texts,
)


class Guard:
    """Checks every draft with one result: the status it was built with (no model, no embedder)."""

    def __init__(self, status="pass"):
        self.status, self.checked = status, []

    def check(self, subject, body, contact, *a, **kw):
        from brandvoice.guardrails import CheckResult, Verdict

        self.checked.append(body)
        message = "ok" if self.status == "pass" else "Stops mid-sentence: “…and then”"
        return Verdict.of([CheckResult("quality", "cut_off", self.status, message)])


@pytest.fixture
def guard(plugged, monkeypatch):
    """The pages check drafts with this guard (plugged in as "test", chosen by BRANDVOICE_GUARD)."""
    g = Guard()
    plugged("guard", "test", lambda settings, brand, **kw: g)
    monkeypatch.setenv("BRANDVOICE_GUARD", "test")
    return g


def _buttons(at) -> list[str]:
    return [b.label for b in at.button]


def test_empty_queue_says_how_to_fill_it(store, demo_people):
    at = page("review", demo_people[1]).run()
    no_exception(at)
    assert any("queue is empty" in i for i in texts(at, "info"))


def test_marketer_reads_but_cannot_approve(store, demo_people):
    make_drafts(store, 3, created_by="mark")
    at = page("review", demo_people[2]).run()
    no_exception(at)
    assert "Approve" not in _buttons(at) and "Save edit" not in _buttons(at)
    assert at.text_area[0].disabled
    assert any("reviewers approve" in c for c in texts(at, "caption"))


def test_reviewer_edits_checks_and_approves(store, demo_people, guard):
    from brandvoice import review

    ids = make_drafts(store, 3, created_by="mark")
    at = page("review", demo_people[1]).run()
    no_exception(at)
    assert "Approve" in _buttons(at)
    body = at.text_area[0]
    body.input(body.value.replace("walkthrough", "short call"))
    at.run()
    # The diff against the generated text is shown before saving.
    assert any("+" in c and "short call" in c for c in texts(at, "code"))
    # An edited text is checked before it can be approved.
    assert at.button(key=f"approve_{ids[0]}").disabled
    at.button(key=f"save_check_{ids[0]}").click()
    at.run()
    no_exception(at)
    assert guard.checked and "short call" in guard.checked[0]
    # Nobody approves text they wrote (the admin's review policy): the page says so before a
    # click, and the edit stays saved for another reviewer.
    approve = at.button(key=f"approve_{ids[0]}")
    assert approve.disabled and "own edit" in approve.help
    assert any("Another reviewer approves it." in c for c in texts(at, "caption"))
    d = review.get_draft(store, ids[0])
    assert d["state"] == "pending" and "short call" in d["body"]
    other = page("review", demo_people[0]).run()  # the admin, who did not write the edit
    no_exception(other)
    assert not other.button(key=f"approve_{ids[0]}").disabled
    other.button(key=f"approve_{ids[0]}").click()
    other.run()
    no_exception(other)
    assert review.get_draft(store, ids[0])["state"] == "approved"


def test_reject_with_reason(store, demo_people):
    from brandvoice import review

    ids = make_drafts(store, 2, created_by="mark")
    at = page("review", demo_people[1]).run()
    at.selectbox(key=f"reason_{ids[0]}").select("tone")
    at.button(key=f"reject_{ids[0]}").click()
    at.run()
    no_exception(at)
    d = review.get_draft(store, ids[0])
    assert d["state"] == "rejected" and d["reviews"][-1]["reason_code"] == "tone"


def test_conflict_is_shown_and_the_text_kept(store, demo_people):
    from brandvoice import review

    admin, reviewer, _ = demo_people
    ids = make_drafts(store, 1, created_by="mark")
    at = page("review", reviewer).run()
    at.text_area[0].input("My careful rewrite of this email, with enough words in it.")
    at.run()
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


def test_bulk_approve_passed(store, demo_people):
    from brandvoice import review

    make_drafts(store, 6, verdicts=("pass", "warn", "fail"), created_by="mark")
    at = page("review", demo_people[1]).run()
    at.button(key="bulk_preview").click()
    at.run()
    no_exception(at)
    listed = next(d.value for d in at.dataframe if "draft" in d.value.columns)
    assert len(listed) == 2  # the two that passed, listed before anything is approved
    assert review.list_queue(store, state="approved")[1] == 0
    at.button(key="bulk_approve").click()
    at.run()
    no_exception(at)
    assert any("Approved 2 drafts" in s for s in texts(at, "success"))
    assert review.list_queue(store, state="approved")[1] == 2


def test_filters_and_guardrail_badges(store, demo_people):
    make_drafts(store, 4, verdicts=("pass", "fail"), created_by="mark")
    at = page("review", demo_people[1]).run()
    at.selectbox(key="q_verdict").select("fail")
    at.run()
    no_exception(at)
    assert "2 drafts match" in " ".join(texts(at, "caption"))
    badges = " ".join(texts(at, "markdown"))
    assert ":red-badge" in badges


def test_ten_thousand_drafts_render_fast(store, demo_people):
    make_drafts(store, 10_000, verdicts=("pass", "warn"), created_by="mark")
    at = page("review", demo_people[1])
    at.run()  # warm-up: imports and caches
    start = time.perf_counter()
    at.run()
    elapsed = time.perf_counter() - start
    no_exception(at)
    assert "10,000 drafts match" in " ".join(texts(at, "caption"))
    print(f"review page with 10,000 drafts: {elapsed:.3f} s")
    assert elapsed < 1.0, f"review page took {elapsed:.2f} s with 10,000 drafts"


def test_reviewer_rechecks_an_edited_draft(store, demo_people):
    from brandvoice import review

    admin, reviewer, _ = demo_people
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


def test_a_failing_draft_is_approved_only_with_a_reason(store, demo_people):
    from brandvoice import review

    ids = make_drafts(store, 1, verdicts=("fail",), created_by="mark")
    at = page("review", demo_people[1]).run()
    at.button(key=f"approve_{ids[0]}").click()
    at.run()
    no_exception(at)
    warning = " ".join(texts(at, "warning"))
    assert "failed: **Sounds like the brand, Has the brand's footer**" in warning
    assert review.get_draft(store, ids[0])["state"] == "pending"
    assert at.button(key=f"approve_anyway_{ids[0]}").disabled  # no reason yet
    at.text_area(key=f"approve_reason_{ids[0]}").input("The footer check misreads our new "
                                                       "address line; legal approved it.")
    at.run()
    at.button(key=f"approve_anyway_{ids[0]}").click()
    at.run()
    no_exception(at)
    d = review.get_draft(store, ids[0])
    assert d["state"] == "approved"
    assert "legal approved it" in (d["reviews"][-1]["reason_text"] or "")
    assert any("approved (with your reason)" in s for s in texts(at, "success"))


def test_an_edited_draft_is_checked_before_approval(store, demo_people, guard):
    from brandvoice import review

    admin, reviewer, _ = demo_people
    ids = make_drafts(store, 1, created_by="mark")
    review.edit(store, admin, ids[0], subject="Quick question, Dana",
                body="Hi Dana, a short note about the close and then", expected_version=1)
    guard.status = "fail"
    at = page("review", reviewer).run()
    assert at.button(key=f"approve_{ids[0]}").disabled
    assert any("Check this version first" in c for c in texts(at, "caption"))
    at.button(key=f"recheck_{ids[0]}").click()
    at.run()
    no_exception(at)
    assert not at.button(key=f"approve_{ids[0]}").disabled
    assert any(b.label.startswith("Does not stop mid-sentence") for b in at.get("badge")) or \
        any("Does not stop mid-sentence" in m for m in texts(at, "markdown"))
    at.button(key=f"approve_{ids[0]}").click()  # failed its check: a reason is asked for
    at.run()
    assert at.text_area(key=f"approve_reason_{ids[0]}")


def test_checks_are_in_plain_words_with_the_technical_name_in_the_tooltip(store, demo_people):
    make_drafts(store, 1, verdicts=("warn",), created_by="mark")
    at = page("review", demo_people[1]).run()
    no_exception(at)
    badges = " ".join(texts(at, "markdown"))
    assert "Sounds like the brand" in badges and "Has the brand's footer" in badges
    helps = " ".join(str(m.proto.help) for m in at.markdown if m.proto.help)
    assert "“tone/similarity”" in helps and "“policy/footer”" in helps


def test_reject_reasons_are_plain_and_other_needs_words(store, demo_people):
    from brandvoice import review

    ids = make_drafts(store, 1, created_by="mark")
    at = page("review", demo_people[1]).run()
    box = at.selectbox(key=f"reason_{ids[0]}")
    assert box.options[:2] == [labels_of(review.REASON_CODES[0]), labels_of(review.REASON_CODES[1])]
    box.set_value("other")
    at.run()
    assert at.button(key=f"reject_{ids[0]}").disabled
    at.text_area(key=f"reason_text_{ids[0]}").input("Mentions a webinar that was cancelled.")
    at.run()
    at.button(key=f"reject_{ids[0]}").click()
    at.run()
    no_exception(at)
    d = review.get_draft(store, ids[0])
    assert d["state"] == "rejected" and d["reviews"][-1]["reason_code"] == "other"


def labels_of(code: str) -> str:
    from brandvoice.ui import labels

    return labels.reason_label(code)


def test_slot_drafts_show_who_wrote_what_also_after_an_edit(store, demo_people):

    from brandvoice import review
    from brandvoice.store import drafts

    admin, reviewer, _ = demo_people
    ids = make_drafts(store, 1, created_by="mark")
    parts = [{"where": "subject", "kind": "slot", "name": "subject", "text": "Your demo recap",
              "source": "model"},
             {"where": "body", "kind": "text", "text": "Hi Dana,\n\n"},
             {"where": "body", "kind": "slot", "name": "opening", "text": "Thanks for the demo.",
              "source": "fallback"},
             {"where": "body", "kind": "text", "text": " Here is a <b>recap</b> [link](x)."}]
    with store.tx() as conn:
        conn.execute(drafts.update().where(drafts.c.id == ids[0]).values(
            parts=parts, flags=["fallback:opening"]))
    at = page("review", reviewer).run()
    no_exception(at)
    html = " ".join(str(h.proto.body) for h in at.get("html"))
    assert "<mark" in html and "Your demo recap" in html
    assert "Slot “opening”: the model's candidates did not pass" in html
    assert "&lt;b&gt;recap&lt;/b&gt;" in html  # the draft's text is never markup
    assert any("Kept your template's text" in c and "opening" in c for c in texts(at, "caption"))
    review.edit(store, admin, ids[0], subject="Edited", body="Edited body, long enough.",
                expected_version=1)
    again = page("review", reviewer).run()
    no_exception(again)
    assert any("edited since it was generated" in c for c in texts(again, "caption"))
    assert "<mark" in " ".join(str(h.proto.body) for h in again.get("html"))


def test_crm_values_are_shown_as_text_never_as_markdown(store, demo_people):
    import sqlalchemy as sa

    from brandvoice.store import contacts

    make_drafts(store, 1, created_by="mark")
    with store.tx() as conn:
        row = conn.execute(sa.select(contacts.c.id, contacts.c.data)).first()
        data = dict(row.data, company="[Win a prize](http://evil.example)",
                    activities=[{"type": "note", "timestamp": "2026-11-02",
                                 "detail": "![x](http://evil.example/x.png) *urgent*"}])
        conn.execute(contacts.update().where(contacts.c.id == row.id).values(data=data))
    at = page("review", demo_people[1]).run()
    no_exception(at)
    html = " ".join(str(h.proto.body) for h in at.get("html"))
    # As typed in the CRM: no link, no image, no emphasis (and the email address not a link).
    assert "[Win a prize](http://evil.example)" in html
    assert "![x](http://evil.example/x.png) *urgent*" in html
    assert "<a " not in html and "<img" not in html
    assert not any("evil.example" in str(m.value) for m in at.markdown)


def test_an_edit_is_kept_when_its_check_cannot_run(store, demo_people, plugged, monkeypatch):
    from brandvoice import review
    from brandvoice.errors import ModelError
    def broken(settings, brand, **kw):
        raise ModelError("/tmp/Ledgerly/v3/train.jsonl does not exist.",
                         hint="The adapter folder is incomplete; train it again.")

    plugged("guard", "broken", broken)
    monkeypatch.setenv("BRANDVOICE_GUARD", "broken")
    ids = make_drafts(store, 1, created_by="mark")
    at = page("review", demo_people[1]).run()
    at.text_area[0].input("A careful rewrite, long enough to be a real email body.")
    at.run()
    at.button(key=f"save_check_{ids[0]}").click()
    at.run()
    no_exception(at)
    assert any("edit is saved, but the checks could not run" in e and "train it again" in e
               for e in texts(at, "error"))
    assert review.get_draft(store, ids[0])["body"].startswith("A careful rewrite")
    assert at.text_area[0].value.startswith("A careful rewrite")
    assert not at.button(key=f"recheck_{ids[0]}").disabled  # try the check again later
