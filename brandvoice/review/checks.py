"""Checking a draft's current text again (after an edit), stored for exactly that text version."""

from __future__ import annotations

import sqlalchemy as sa

from brandvoice.review.actions import REVIEW_ROLES
from brandvoice.review.queue import get_draft
from brandvoice.store import Store, contacts
from brandvoice.users import User, require_role


def job_contacts(store: Store, job_id: int) -> list[dict]:
    """Every contact snapshot of a generation job: what the leakage check compares a draft with."""
    with store.read() as conn:
        return [r[0] for r in conn.execute(sa.select(contacts.c.data)
                                           .where(contacts.c.job_id == job_id)
                                           .order_by(contacts.c.id))]


def recheck(store: Store, actor: User, draft_id: int, *, guard=None) -> dict:
    """Run the brand's guardrails on the draft's current text and store the verdict for that version.

    `guard` (a guardrails.Guard) saves building one; without it the brand's guard is built from the
    draft's adapter. The verdict is refused (ConflictError) if the text changed while it was checked.
    """
    from brandvoice.guardrails import store_results

    with store.read() as conn:
        require_role(conn, actor, *REVIEW_ROLES, action="check drafts")
    d = get_draft(store, draft_id)
    if guard is None:
        from brandvoice.generation import open_guard

        guard = open_guard(store.settings, d["brand"] or "", store=store, adapter=d["adapter_id"])
    contact = (d.get("contact") or {}).get("data") or {}
    verdict = guard.check(d["subject"], d["body"], contact,
                          batch_contacts=job_contacts(store, d["job_id"]))
    with store.tx() as conn:
        require_role(conn, actor, *REVIEW_ROLES, action="check drafts")
        store_results(store, conn, draft_id, d["row_version"], verdict)
        store.audit(conn, "recheck", actor=actor.username, draft_id=draft_id,
                    row_version=d["row_version"], verdict=verdict.status)
    return {"id": draft_id, "row_version": d["row_version"], "verdict": verdict.status,
            "reasons": verdict.reasons()}
