"""Approving many drafts at once: exactly the pending drafts whose current text passed every check.

`bulk_preview` lists what `bulk_approve_passed` would approve, by the same rule (`eligible`): the
approval rule of a single approval (`actions.approval_refusal`: the draft may be approved, the
check of its current text is current, the review policy lets the actor approve it), with a
passing verdict only. The drafts move through the lifecycle (set-based), audited one by one.

What was previewed is what is approved: the preview gives each draft's `row_version`, and
`bulk_approve_passed(..., versions={id: row_version})` approves a draft only at that version; a
draft changed since (edited, re-checked, moved) is left out and named with both versions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from brandvoice.errors import ConflictError
from brandvoice.review.actions import REVIEW_ROLES, approval_refusal, decision_row, own_edits
from brandvoice.review.policy import read_policy
from brandvoice.store import Store, contacts, drafts, guardrail_results, lifecycle, reviews, utcnow
from brandvoice.users import User, require_role

_CHUNK = 500
_RANK = sa.case((guardrail_results.c.status == "fail", 2),
                (guardrail_results.c.status == "warn", 1), else_=0)
_STATUS = {0: "pass", 1: "warn", 2: "fail"}
_COLS = [drafts.c.id, drafts.c.state, drafts.c.verdict, drafts.c.created_by, drafts.c.row_version,
         drafts.c.text_row_version, drafts.c.subject, drafts.c.body, drafts.c.generated_subject,
         drafts.c.generated_body, drafts.c.tone_score, contacts.c.email, contacts.c.first_name,
         contacts.c.last_name, contacts.c.company]


class BulkResult(int):
    """The number of drafts approved (an int), with `.approved` ids and `.skipped` [{id, reason}]."""

    approved: list[int]
    skipped: list[dict]

    def __new__(cls, approved: list[int], skipped: list[dict]) -> BulkResult:
        obj = super().__new__(cls, len(approved))
        obj.approved, obj.skipped = approved, skipped
        return obj


def _checks(conn: Connection, ids: list[int]) -> dict[int, tuple[int, str]]:
    """draft id -> (newest checked row_version, the worst status at that version)."""
    out: dict[int, tuple[int, str]] = {}
    gr = guardrail_results
    for i in range(0, len(ids), _CHUNK):
        chunk = ids[i:i + _CHUNK]
        newest = (sa.select(gr.c.draft_id, sa.func.max(gr.c.row_version).label("v"))
                  .where(gr.c.draft_id.in_(chunk)).group_by(gr.c.draft_id).subquery())
        q = (sa.select(gr.c.draft_id, newest.c.v, sa.func.max(_RANK))
             .join(newest, sa.and_(gr.c.draft_id == newest.c.draft_id, gr.c.row_version == newest.c.v))
             .group_by(gr.c.draft_id, newest.c.v))
        out.update({d: (v, _STATUS[int(rank)]) for d, v, rank in conn.execute(q)})
    return out


def eligible(conn: Connection, actor: User, rows: list[Any]) -> tuple[list[Any], list[dict]]:
    """Split draft rows into those a bulk approval takes and the skipped ones, with the reason."""
    policy = read_policy(conn)
    ids = [r.id for r in rows]
    checks = _checks(conn, ids)
    mine = set() if policy["allow_own_edit_approval"] else own_edits(conn, ids, actor.username)
    todo, skipped = [], []
    for r in rows:
        version, status = checks.get(r.id, (0, None))
        current = status if status is not None and version >= r.text_row_version else None
        refusal = approval_refusal(r.state, current, r.created_by, r.id in mine, actor, policy,
                                   verdicts=("pass",))
        if refusal is None:
            todo.append(r)
        else:
            skipped.append({"id": r.id, "reason": refusal[1]})
    return todo, skipped


def _candidates(conn: Connection, draft_ids: list[int] | None, job_id: int | None, *,
                lock: bool = True) -> tuple[list[Any], list[dict]]:
    q = (sa.select(*_COLS).select_from(drafts.join(contacts, contacts.c.id == drafts.c.contact_id))
         .order_by(drafts.c.id))
    if lock:
        q = q.with_for_update(of=drafts)
    if draft_ids is None:
        q = q.where(drafts.c.state == "pending", drafts.c.verdict == "pass")
        if job_id is not None:
            q = q.where(drafts.c.job_id == job_id)
        return list(conn.execute(q)), []
    wanted = list(dict.fromkeys(int(i) for i in draft_ids))
    rows: list[Any] = []
    for i in range(0, len(wanted), _CHUNK):
        rows += conn.execute(q.where(drafts.c.id.in_(wanted[i:i + _CHUNK]))).all()
    found = {r.id for r in rows}
    return rows, [{"id": i, "reason": "no such draft"} for i in wanted if i not in found]


def bulk_preview(store: Store, actor: User, *, job_id: int | None = None) -> list[dict]:
    """The drafts `bulk_approve_passed(store, actor, job_id=job_id)` would approve now: id, email,
    first_name, last_name, company, subject, body, verdict, tone_score."""
    with store.read() as conn:
        require_role(conn, actor, *REVIEW_ROLES, action="approve drafts")
        rows, _ = _candidates(conn, None, job_id, lock=False)
        todo, _ = eligible(conn, actor, rows)
    keys = ("id", "row_version", "email", "first_name", "last_name", "company", "subject", "body",
            "verdict", "tone_score")
    return [{k: getattr(r, k) for k in keys} for r in todo]


def _unchanged(rows: list[Any], versions: Mapping[int, int]) -> tuple[list[Any], list[dict]]:
    """The rows still at the version previewed, and the others named as skipped."""
    keep, changed = [], []
    for r in rows:
        seen = versions.get(r.id)
        if seen is None or int(seen) == r.row_version:
            keep.append(r)
        else:
            changed.append({"id": r.id, "reason": f"changed since it was previewed (version "
                            f"{seen} then, {r.row_version} now, {r.state}): open it and decide "
                            "on what it says now"})
    return keep, changed


def bulk_approve_passed(store: Store, actor: User, draft_ids: list[int] | None = None, *,
                        job_id: int | None = None, note: str | None = None,
                        versions: Mapping[int, int] | None = None) -> BulkResult:
    """Approve, in one transaction, the pending drafts whose current text passed every guardrail.

    Without draft_ids: every such draft (of job_id if given). With `versions` ({draft id:
    row_version}, as `bulk_preview` gave them): exactly those drafts, each only at the version
    previewed. A listed draft that does not qualify (see `eligible`) or changed since the preview
    is skipped and reported with its reason.
    """
    if versions is not None:
        versions = {int(k): int(v) for k, v in versions.items()}
        draft_ids = sorted(set(versions) | set(int(i) for i in draft_ids or ()))
    with store.tx() as conn:
        require_role(conn, actor, *REVIEW_ROLES, action="approve drafts")
        rows, missing = _candidates(conn, draft_ids, job_id)
        rows, changed = _unchanged(rows, versions or {})
        todo, skipped = eligible(conn, actor, rows)
        skipped = missing + changed + skipped
        now = utcnow()
        decisions = [decision_row(r, actor, "approve", "approved", verdict="pass",
                                  reason_text=note or "bulk approve (all passed)", now=now)
                     for r in todo]
        moved = lifecycle.move_many(conn, [r.id for r in todo], "approve", actor.username,
                                    details={"bulk": True, "verdict": "pass"},
                                    per_draft={d["draft_id"]: {"edit_distance": d["edit_distance"]}
                                               for d in decisions})
        if len(moved) != len(todo):  # the rows are locked: another writer cannot get here
            raise ConflictError("Some drafts changed while bulk-approving; nothing was approved.",
                                hint="Reload the queue and try again.")
        approved = [r.id for r in todo]
        if decisions:
            conn.execute(reviews.insert(), decisions)
        store.audit(conn, "bulk_approve", actor=actor.username, approved=len(approved),
                    skipped=len(skipped), job_id=job_id, previewed=versions is not None,
                    changed=[c["id"] for c in changed])
    return BulkResult(approved, skipped)
