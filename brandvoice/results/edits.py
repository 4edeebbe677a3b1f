"""Edits measured: how much reviewers change the drafts, per adapter version, template and week.

For every draft a reviewer decided on (its latest approval or rejection, still standing): approved
as written or edited, the words changed between the generated text and the approved one, and the
reason of a rejection. "Words changed" counts, over the subject and the body split into words,
the words a reviewer replaced, deleted or inserted (difflib's opcodes: a replacement of 3 words by
5 counts 5). The normalized character distance the review recorded at approval
(reviews.edit_distance) is kept beside it, as its median.

This module owns the concept: the dashboard's "edits drop" chart and `brandvoice review metrics`
read it from here.
"""

from __future__ import annotations

import difflib
import statistics
from collections import Counter, defaultdict
from datetime import date
from typing import Any

import sqlalchemy as sa

from brandvoice.errors import InputError
from brandvoice.review import canonical_reason, email_text
from brandvoice.review.feedback import APPROVED_STATES
from brandvoice.store import Store, drafts, reviews
from brandvoice.textio import compact_key
from brandvoice.training import brand_keys

KEYS = ("period", "adapter", "template")
PERIODS = ("week", "month", "all")


def words_changed(old_subject: str, old_body: str, new_subject: str, new_body: str) -> int:
    """Words a reviewer replaced, deleted or inserted between two versions of an email."""
    a = email_text(old_subject, old_body).split()
    b = email_text(new_subject, new_body).split()
    if a == b:
        return 0
    n = 0
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "replace":
            n += max(i2 - i1, j2 - j1)
        elif tag == "delete":
            n += i2 - i1
        elif tag == "insert":
            n += j2 - j1
    return n


def period_of(stamp: str, by: str) -> str:
    """The period a decision falls in: ISO week ("2026-W48"), month ("2026-11") or "all"."""
    if by == "all":
        return "all"
    if by == "month":
        return stamp[:7]
    year, week, _ = date.fromisoformat(stamp[:10]).isocalendar()
    return f"{year}-W{week:02d}"


def decisions(store: Store, *, brand: str | None = None) -> list[dict[str, Any]]:
    """Every standing decision: draft, adapter, template, when, approved or rejected, the words
    changed (approved) or the reason (rejected)."""
    last = (sa.select(sa.func.max(reviews.c.id).label("rid"))
            .where(reviews.c.action.in_(("approve", "reject"))).group_by(reviews.c.draft_id)
            .subquery())
    q = (sa.select(reviews.c.action, reviews.c.created_at, reviews.c.reason_code,
                   reviews.c.edit_distance, drafts.c.id, drafts.c.state, drafts.c.brand,
                   drafts.c.adapter_label, drafts.c.template_name, drafts.c.subject, drafts.c.body,
                   drafts.c.generated_subject, drafts.c.generated_body)
         .join(drafts, drafts.c.id == reviews.c.draft_id)
         .where(reviews.c.id.in_(sa.select(last.c.rid))).order_by(reviews.c.id))
    want = brand_keys(brand) if brand else None
    out = []
    with store.read() as conn:
        for r in conn.execute(q):
            if want and compact_key(r.brand) not in want:
                continue
            approved = r.action == "approve" and r.state in APPROVED_STATES
            if not approved and not (r.action == "reject" and r.state == "rejected"):
                continue  # reopened since: undecided again
            changed = (words_changed(r.generated_subject, r.generated_body, r.subject, r.body)
                       if approved else None)
            out.append({"draft_id": r.id, "adapter": r.adapter_label, "template": r.template_name,
                        "decided_at": r.created_at, "approved": approved, "words_changed": changed,
                        "edit_distance": r.edit_distance if approved else None,
                        "reason": None if approved else canonical_reason(r.reason_code)
                        or "unspecified"})
    return out


def edit_metrics(store: Store, *, by: tuple[str, ...] = KEYS, period: str = "week",
                 brand: str | None = None) -> list[dict[str, Any]]:
    """Per group of `by` (period, adapter, template): decided, approved, approved as is and its
    share, median and mean words changed, median edit distance, rejected and rejects by reason."""
    if period not in PERIODS:
        raise InputError(f"Unknown period {period!r}.", hint="Use week, month or all.")
    unknown = [k for k in by if k not in KEYS]
    if unknown:
        raise InputError(f"Unknown grouping {', '.join(unknown)}.",
                         hint=f"Group by {', '.join(KEYS)}.")
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for d in decisions(store, brand=brand):
        row = {**d, "period": period_of(d["decided_at"], period)}
        groups[tuple(row[k] for k in by)].append(row)
    return [_aggregate(dict(zip(by, key, strict=True)), rows) for key, rows in sorted(groups.items())]


def _aggregate(head: dict, rows: list[dict]) -> dict[str, Any]:
    approved = [r for r in rows if r["approved"]]
    changed = [r["words_changed"] for r in approved]
    dists = [r["edit_distance"] for r in approved if r["edit_distance"] is not None]
    as_is = sum(c == 0 for c in changed)
    reasons = Counter(r["reason"] for r in rows if not r["approved"])
    return {**head, "decided": len(rows), "approved": len(approved), "approved_as_is": as_is,
            "share_as_is": round(as_is / len(approved), 4) if approved else None,
            "median_words_changed": statistics.median(changed) if changed else None,
            "mean_words_changed": round(statistics.fmean(changed), 2) if changed else None,
            "median_edit_distance": round(statistics.median(dists), 4) if dists else None,
            "rejected": len(rows) - len(approved), "rejects_by_reason": dict(reasons.most_common())}


def edit_summary(store: Store) -> list[dict[str, Any]]:
    """Per adapter version, over all time: the dashboard's and `review metrics`' edit figures."""
    return edit_metrics(store, by=("adapter",), period="all")
