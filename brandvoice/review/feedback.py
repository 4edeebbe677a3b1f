"""The feedback loop: reviewed drafts as training examples, negatives with reasons, adapter metrics."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import TYPE_CHECKING

import sqlalchemy as sa

from brandvoice.errors import InputError
from brandvoice.review.actions import canonical_reason
from brandvoice.store import Store, audit, contacts, draft_versions, drafts, reviews

if TYPE_CHECKING:
    from brandvoice.corpus import Email

APPROVED_WEIGHT = 2.0  # above a past email's 1.0: a reviewer vouched for it
EDITED_WEIGHT = 2.5  # a reviewer's own wording is the strongest signal of the voice
# A reviewer approved these: still approved, or delivered, or set aside for a sibling delivered.
APPROVED_STATES = ("approved", "exported", "superseded", "sending")


def _edited_ids(conn: sa.Connection, ids: list[int]) -> set[int]:
    out: set[int] = set()
    for i in range(0, len(ids), 500):
        out |= {r[0] for r in conn.execute(
            sa.select(draft_versions.c.draft_id).where(draft_versions.c.draft_id.in_(ids[i:i + 500]),
                                                       draft_versions.c.kind == "edit").distinct())}
    return out


def feedback_examples(store: Store, brand: str) -> list[Email]:
    """Approved and exported drafts of a brand as corpus.Email (weight 2.0, 2.5 if a reviewer edited)."""
    from brandvoice.corpus import Email

    q = (sa.select(drafts.c.id, drafts.c.subject, drafts.c.body, drafts.c.brand,
                   drafts.c.template_name, drafts.c.updated_at, drafts.c.generated_subject,
                   drafts.c.generated_body, contacts.c.data)
         .join(contacts, contacts.c.id == drafts.c.contact_id)
         .where(drafts.c.brand == brand, drafts.c.state.in_(APPROVED_STATES))
         .order_by(drafts.c.id))
    with store.read() as conn:
        rows = conn.execute(q).all()
        edited = _edited_ids(conn, [r.id for r in rows])
    out = []
    for r in rows:
        data = r.data or {}
        was_edited = r.id in edited or (r.subject, r.body) != (r.generated_subject, r.generated_body)
        out.append(Email(subject=r.subject, body=r.body, brand=r.brand, campaign=r.template_name,
                         segment=data.get("lifecycle_stage") or None,
                         audience=data.get("job_title") or None, sent_at=r.updated_at,
                         weight=EDITED_WEIGHT if was_edited else APPROVED_WEIGHT,
                         source=f"draft:{r.id}"))
    return out


def negative_examples(store: Store, brand: str) -> list[dict]:
    """Rejected drafts of a brand with the (latest) rejection reason, for analysis or preference data."""
    last_reject = (sa.select(reviews.c.draft_id, sa.func.max(reviews.c.id).label("rid"))
                   .where(reviews.c.action == "reject").group_by(reviews.c.draft_id).subquery())
    q = (sa.select(drafts.c.id, drafts.c.subject, drafts.c.body, drafts.c.template_name,
                   drafts.c.adapter_label, reviews.c.reason_code, reviews.c.reason_text,
                   reviews.c.reviewer, reviews.c.created_at)
         .join(last_reject, last_reject.c.draft_id == drafts.c.id)
         .join(reviews, reviews.c.id == last_reject.c.rid)
         .where(drafts.c.brand == brand, drafts.c.state == "rejected").order_by(drafts.c.id))
    with store.read() as conn:
        return [{"draft_id": r.id, "subject": r.subject, "body": r.body, "template": r.template_name,
                 "adapter": r.adapter_label, "reason_code": canonical_reason(r.reason_code),
                 "reason_text": r.reason_text, "reviewer": r.reviewer, "rejected_at": r.created_at,
                 "source": f"draft:{r.id}"} for r in conn.execute(q)]


def adapter_metrics(store: Store) -> list[dict]:
    """Per adapter version: drafts, decisions, approval rate, rejection reasons.

    approval_rate = approved / (approved + rejected) over drafts with a decision (exported drafts
    count as approved). How much reviewers edit is `results.edit_summary`'s.
    """
    with store.read() as conn:
        states = conn.execute(sa.select(drafts.c.adapter_label, drafts.c.adapter_id, drafts.c.state,
                                        sa.func.count()).group_by(drafts.c.adapter_label,
                                                                  drafts.c.adapter_id,
                                                                  drafts.c.state)).all()
        reasons = conn.execute(
            sa.select(drafts.c.adapter_label, reviews.c.reason_code, sa.func.count())
            .join(reviews, reviews.c.draft_id == drafts.c.id)
            .where(reviews.c.action == "reject", drafts.c.state == "rejected")
            .group_by(drafts.c.adapter_label, reviews.c.reason_code)).all()
    out: dict[str, dict] = {}
    for label, adapter_id, state, n in states:
        m = out.setdefault(label, {"adapter": label, "adapter_id": adapter_id, "drafts": 0,
                                   "pending": 0, "approved": 0, "rejected": 0, "exported": 0,
                                   "superseded": 0, "sending": 0})
        m["drafts"] += n
        m[state] = m.get(state, 0) + n
    by_reason: dict[str, Counter] = defaultdict(Counter)
    for label, code, n in reasons:
        by_reason[label][canonical_reason(code) or "unspecified"] += n
    for label, m in out.items():
        ok = sum(m[s] for s in APPROVED_STATES)
        decided = ok + m["rejected"]
        m["decided"] = decided
        m["approval_rate"] = round(ok / decided, 4) if decided else None
        m["rejection_reasons"] = dict(by_reason[label].most_common())
    return sorted(out.values(), key=lambda m: m["adapter"])


def reviewed_examples(store: Store, brand: str) -> list[Email]:
    """`feedback_examples` under every name a brand's drafts may carry (as given to generation:
    its name, slug or older compact name), each draft once."""
    from brandvoice import training

    seen: dict[str, Email] = {}
    names = [brand, training.slugify(brand), *sorted(training.brand_keys(brand))]
    for name in dict.fromkeys(names):
        for e in feedback_examples(store, name):
            seen.setdefault(e.source or f"{e.subject}\n{e.body}", e)
    return list(seen.values())


def submit_training(store: Store, settings, config, actor) -> int:
    """Queue a training job as `actor` (a marketer or an admin); with `config.include_approved` the
    brand's approved and edited drafts join the training side (the feedback loop), collected here
    and frozen with the job."""
    from brandvoice import training

    feedback = reviewed_examples(store, config.brand) if config.include_approved else None
    return training.submit(store, settings, config, actor, feedback=feedback)


def dashboard(store: Store) -> dict:
    """The dashboard's aggregates: adapter metrics, drafts per day and state, tone scores by verdict.

    One small grouped query each, so that a large queue never comes into memory (tone scores are
    binned in SQL to 0.05).
    """
    day = sa.func.substr(drafts.c.created_at, 1, 10)
    binned = sa.func.round(drafts.c.tone_score * 20) / 20
    with store.read() as conn:
        per_day = [{"day": d, "state": s, "drafts": n} for d, s, n in conn.execute(
            sa.select(day, drafts.c.state, sa.func.count()).group_by(day, drafts.c.state))]
        tone = [{"tone": t, "verdict": v or "unchecked", "drafts": n} for t, v, n in conn.execute(
            sa.select(binned, drafts.c.verdict, sa.func.count())
            .where(drafts.c.tone_score.is_not(None)).group_by(binned, drafts.c.verdict))]
    return {"adapters": adapter_metrics(store), "per_day": per_day, "tone": tone}


PERIODS = {"day": 10, "month": 7}


def _period(stamp: str, by: str) -> str:
    if by == "week":
        from datetime import date

        year, week, _ = date.fromisoformat(stamp[:10]).isocalendar()
        return f"{year}-W{week:02d}"
    return stamp[:PERIODS[by]]


def _bulk_approved(conn, draft_ids: list[int]) -> set[int]:
    """The drafts whose latest approval was a bulk approval (the lifecycle's audit says so)."""
    out: dict[int, bool] = {}
    for i in range(0, len(draft_ids), 500):
        q = (sa.select(audit.c.draft_id, audit.c.details)
             .where(audit.c.action == "approve", audit.c.draft_id.in_(draft_ids[i:i + 500]))
             .order_by(audit.c.id))
        for draft_id, details in conn.execute(q):
            out[draft_id] = bool((details or {}).get("bulk"))
    return {d for d, bulk in out.items() if bulk}


def pass_precision(store: Store, *, by: str = "week") -> list[dict]:
    """How often "pass" meant usable, per period (day, week or month) and overall ("all").

    Among drafts whose guardrail verdict was pass when a reviewer decided (their latest approval
    or rejection), a reviewer's own judgement: approved (still approved, delivered, or superseded
    after approval), rejected, and precision = approved / (approved + rejected), None without
    judgements. A bulk approval approves what passed without reading it: it is counted apart
    (`bulk_approved`), never as a judgement. A draft counts in the period of that decision.
    """
    if by not in ("day", "week", "month"):
        raise InputError(f"Unknown period {by!r}.", hint="Use day, week or month.")
    last = (sa.select(sa.func.max(reviews.c.id).label("rid"))
            .where(reviews.c.action.in_(("approve", "reject"))).group_by(reviews.c.draft_id)
            .subquery())
    q = (sa.select(reviews.c.draft_id, reviews.c.action, reviews.c.created_at, drafts.c.state)
         .join(drafts, drafts.c.id == reviews.c.draft_id)
         .where(reviews.c.id.in_(sa.select(last.c.rid)), reviews.c.verdict == "pass"))
    counts: dict[str, Counter] = defaultdict(Counter)
    with store.read() as conn:
        rows = conn.execute(q).all()
        bulk = _bulk_approved(conn, sorted({r.draft_id for r in rows if r.action == "approve"}))
    for draft_id, action, created_at, state in rows:
        if action == "approve" and state in APPROVED_STATES:
            outcome = "bulk_approved" if draft_id in bulk else "approved"
        elif action == "reject" and state == "rejected":
            outcome = "rejected"
        else:  # reopened since: undecided again
            continue
        counts[_period(created_at, by)][outcome] += 1
        counts["all"][outcome] += 1
    out = []
    for period in [*sorted(p for p in counts if p != "all"), "all"]:
        c = counts[period]
        decided = c["approved"] + c["rejected"]
        out.append({"period": period, "approved": c["approved"], "rejected": c["rejected"],
                    "bulk_approved": c["bulk_approved"],
                    "precision": round(c["approved"] / decided, 4) if decided else None})
    return out
