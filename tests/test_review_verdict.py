"""Review follows the verdict: checked text only, overrides with a reason, the admin's review
policy (self-approval, own edits), bulk preview = bulk approval, pass precision, reason codes."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from helpers_drafts import PassingGuard, make_drafts, mark_checked

from brandvoice import review
from brandvoice.errors import ConflictError, InputError, PermissionDenied, StateError
from brandvoice.guardrails import CheckResult, Verdict, store_results
from brandvoice.store import audit, drafts, guardrail_results, reviews

pytestmark = [pytest.mark.usefixtures("fast_hashes"), pytest.mark.all_databases]


def _v(store, draft_id):
    return review.get_draft(store, draft_id)["row_version"]


def _events(store, action):
    with store.read() as conn:
        return [dict(r) for r in conn.execute(sa.select(audit).where(audit.c.action == action)
                                              .order_by(audit.c.id)).mappings()]


def test_text_changed_since_its_check_is_not_approved_until_checked_again(store, people):
    a, b = make_drafts(store, 2)
    review.edit(store, people["rev"], a, subject="New subject", body="New body", expected_version=1)
    with pytest.raises(StateError, match="changed since its last guardrail check.*check it again "
                                         "first") as err:
        review.approve(store, people["rev2"], a, expected_version=2)
    assert f"brandvoice review check {a}" in err.value.hint
    guard = PassingGuard()
    res = review.recheck(store, people["rev2"], a, guard=guard)
    assert res == {"id": a, "row_version": 2, "verdict": "pass", "reasons": []}
    assert guard.checked[0][2] == 2  # the leakage check saw every contact of the job
    assert review.approve(store, people["rev2"], a, expected_version=2)["state"] == "approved"
    # a state change alone (reject, reopen) keeps the text: no new check needed
    review.reject(store, people["rev"], b, expected_version=1, reason_code="tone")
    review.reopen(store, people["rev"], b, expected_version=2)
    assert review.approve(store, people["rev2"], b, expected_version=3)["state"] == "approved"


def test_a_verdict_is_never_written_onto_newer_text(store, people):
    (d,) = make_drafts(store, 1)
    review.edit(store, people["rev"], d, subject="Edited", body="Edited body", expected_version=1)
    verdict = Verdict.of([CheckResult("policy", "footer", "pass", "ok")])
    with pytest.raises(ConflictError, match="changed while it was being checked"), \
            store.tx() as conn:
        store_results(store, conn, d, 1, verdict)  # a check of version 1, stored after the edit
    with store.read() as conn:
        versions = {r[0] for r in conn.execute(sa.select(guardrail_results.c.row_version)
                                               .where(guardrail_results.c.draft_id == d))}
    assert versions == {1}  # only the generation's own results
    with store.tx() as conn:
        store_results(store, conn, d, 2, verdict)


def test_failing_verdict_is_approved_only_with_a_reason(store, people):
    (d,) = make_drafts(store, 1, verdicts=("fail",))
    with pytest.raises(InputError, match=r"failed its guardrails \(tone/similarity, policy/footer\)"):
        review.approve(store, people["rev"], d, expected_version=1)
    with pytest.raises(InputError, match="needs a reason"):
        review.approve(store, people["rev"], d, expected_version=1, reason="   ")
    r = review.approve(store, people["rev"], d, expected_version=1, note="fine",
                       reason="the footer is in the signature image")
    assert r["state"] == "approved"
    dec = review.get_draft(store, d)["reviews"][-1]
    assert (dec["reason_code"], dec["reason_text"], dec["verdict"]) == (
        "override", "the footer is in the signature image", "fail")
    (event,) = _events(store, "approve")
    assert event["details"]["override"] is True
    assert event["details"]["failed_rules"] == ["tone/similarity", "policy/footer"]
    assert event["details"]["reason"] == "the footer is in the signature image"


def test_review_policy_lives_in_the_store_set_by_an_admin(store, people, monkeypatch):
    assert {k: v for k, v in review.get_review_policy(store).items() if k.startswith("allow")} == {
        "allow_self_approval": False, "allow_own_edit_approval": False}
    with pytest.raises(PermissionDenied, match="only admins can set the review policy"):
        review.set_review_policy(store, people["rev"], allow_self_approval=True,
                                 allow_own_edit_approval=True)
    with pytest.raises(InputError):
        review.set_review_policy(store, people["admin"], allow_self_approval="yes",
                                 allow_own_edit_approval=False)
    got = review.set_review_policy(store, people["admin"], allow_self_approval=False,
                                   allow_own_edit_approval=True)
    assert got["updated_by"] == "root"
    policy = review.get_review_policy(store)
    assert policy["allow_own_edit_approval"] and policy["updated_by"] == "root"
    (event,) = _events(store, "review_policy")
    assert event["details"]["old"]["allow_own_edit_approval"] is False
    assert event["details"]["new"]["allow_own_edit_approval"] is True


def test_own_edit_is_approved_only_when_the_policy_allows(store, people):
    a, b = make_drafts(store, 2)
    for d in (a, b):
        cur = review.get_draft(store, d)
        review.edit(store, people["rev"], d, subject=cur["subject"], body=cur["body"] + " Thanks!",
                    expected_version=1)
    mark_checked(store, [a, b])
    with pytest.raises(PermissionDenied, match="holds rita's own edit"):
        review.approve(store, people["rev"], a, expected_version=2)
    res = review.bulk_approve_passed(store, people["rev"], [a, b])
    assert res == 0 and {s["reason"] for s in res.skipped} == {
        "holds rita's own edit (no approval of one's own edit)"}
    assert review.approve(store, people["rev2"], a, expected_version=2)["state"] == "approved"
    review.set_review_policy(store, people["admin"], allow_self_approval=False,
                             allow_own_edit_approval=True)
    assert review.approve(store, people["rev"], b, expected_version=2)["state"] == "approved"


def test_bulk_preview_lists_exactly_what_bulk_approval_approves(store, people):
    ids = make_drafts(store, 8, verdicts=("pass", "pass", "warn", "fail"))
    mine = make_drafts(store, 2, created_by="rita")
    other_job = make_drafts(store, 2)
    review.edit(store, people["rev2"], ids[0], subject="Edited", body="Edited body", expected_version=1)
    review.edit(store, people["rev2"], ids[1], subject="Edited", body="Edited body", expected_version=1)
    mark_checked(store, [ids[1]])  # checked again after the edit, and passed
    review.reject(store, people["rev"], ids[4], expected_version=1, reason_code="tone")
    job = review.get_draft(store, ids[0])["job_id"]
    preview = review.bulk_preview(store, people["rev"], job_id=job)
    assert [p["id"] for p in preview] == [ids[1], ids[5]]
    assert set(preview[0]) == {"id", "row_version", "email", "first_name", "last_name",
                               "company", "subject", "body", "verdict", "tone_score"}
    assert preview[1]["email"].endswith("@example.com") and preview[1]["verdict"] == "pass"
    everything = review.bulk_preview(store, people["rev"])
    assert [p["id"] for p in everything] == [ids[1], ids[5], *other_job]  # not rita's own drafts
    res = review.bulk_approve_passed(store, people["rev"], job_id=job)
    assert res.approved == [p["id"] for p in preview]
    assert review.bulk_approve_passed(store, people["rev"], mine).skipped[0]["reason"] == \
        "generated by rita (no self-approval)"
    with pytest.raises(PermissionDenied):
        review.bulk_preview(store, people["mkt"])


def test_pass_precision_per_week_and_overall(store, people):
    ids = make_drafts(store, 7, verdicts=("pass", "pass", "pass", "pass", "warn", "fail", "pass"))
    rev = people["rev"]
    for d in (ids[0], ids[1], ids[6]):
        review.approve(store, rev, d, expected_version=1)
    review.reject(store, rev, ids[2], expected_version=1, reason_code="incoherent")
    review.reject(store, rev, ids[3], expected_version=1, reason_code="tone")
    review.reopen(store, rev, ids[3], expected_version=2)  # undecided again: not counted
    review.reject(store, rev, ids[4], expected_version=1, reason_code="tone")  # warn: not counted
    review.approve(store, rev, ids[5], expected_version=1, reason="fine")  # fail: not counted
    with store.tx() as conn:  # a superseded variant still counts as approved
        conn.execute(drafts.update().where(drafts.c.id == ids[6]).values(state="superseded"))
        conn.execute(reviews.update().where(reviews.c.draft_id.in_([ids[0], ids[2]]))
                     .values(created_at="2026-11-02T10:00:00.000000Z"))  # ISO week 45
        conn.execute(reviews.update().where(reviews.c.draft_id.in_([ids[1], ids[6]]))
                     .values(created_at="2026-11-10T10:00:00.000000Z"))  # ISO week 46
    rows = review.pass_precision(store)
    assert rows == [
        {"period": "2026-W45", "approved": 1, "rejected": 1, "bulk_approved": 0, "precision": 0.5},
        {"period": "2026-W46", "approved": 2, "rejected": 0, "bulk_approved": 0, "precision": 1.0},
        {"period": "all", "approved": 3, "rejected": 1, "bulk_approved": 0, "precision": 0.75}]
    assert [r["period"] for r in review.pass_precision(store, by="month")] == ["2026-11", "all"]
    with pytest.raises(InputError, match="Unknown period"):
        review.pass_precision(store, by="year")


def test_reason_codes_and_the_old_alias(store, people):
    assert review.REASON_CODES == ("incoherent", "off-brief", "wrong-name", "cut-off", "placeholder",
                                   "invented-facts", "off-brand", "tone", "compliance", "other")
    a, b = make_drafts(store, 2)
    review.reject(store, people["rev"], a, expected_version=1, reason_code="wrong-facts")
    assert review.get_draft(store, a)["reviews"][-1]["reason_code"] == "invented-facts"
    review.reject(store, people["rev"], b, expected_version=1, reason_code="placeholder")
    with store.tx() as conn:  # a decision stored by an earlier version keeps its old code
        conn.execute(reviews.update().where(reviews.c.draft_id == b)
                     .values(reason_code="wrong-facts"))
    (m,) = review.adapter_metrics(store)
    assert m["rejection_reasons"] == {"invented-facts": 2}
    assert {n["reason_code"] for n in review.negative_examples(store, "ledgerly")} == {"invented-facts"}


def test_get_draft_returns_every_column(store, people):
    (d,) = make_drafts(store, 1)
    parts = [{"where": "subject", "kind": "slot", "name": "subject", "text": "Hi", "source": "model"}]
    with store.tx() as conn:
        conn.execute(drafts.update().where(drafts.c.id == d).values(parts=parts))
    got = review.get_draft(store, d)
    assert {c.name for c in drafts.c} <= set(got) and got["parts"] == parts
    assert got["text_row_version"] == 1


def test_edit_refuses_a_line_break_in_the_subject(store, people):
    (d,) = make_drafts(store, 1)
    for subject in ("Hi\r\nBcc: everyone@example.com", "Hi\nthere", "x" * 1000):
        with pytest.raises(InputError, match="subject"):
            review.edit(store, people["rev"], d, subject=subject, body="Body", expected_version=1)
    assert _v(store, d) == 1
