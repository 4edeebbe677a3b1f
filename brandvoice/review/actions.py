"""The review workflow: a state machine over drafts, roles, optimistic concurrency, regeneration.

States: pending -> approved | rejected; approved -> exported (by export/send). An edit keeps the
draft pending (an edit of an approved draft sends it back to pending: its guardrail verdict was for
the old text). Every write checks `drafts.row_version` (UPDATE ... WHERE id=? AND row_version=?),
so two reviewers never overwrite each other: the second gets ConflictError "changed by X at T".
Every action appends to the audit table in the same transaction.
"""

from __future__ import annotations

import difflib
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from brandvoice.errors import ConflictError, InputError, NotFoundError, PermissionDenied, StateError
from brandvoice.store import (
    Store,
    contacts,
    draft_versions,
    drafts,
    reviews,
    utcnow,
)
from brandvoice.store import audit as audit_table
from brandvoice.users import User, require_role

STATES = ("pending", "approved", "rejected", "exported")
# state -> {action: next state}. "export" is done by export.py/send.py, never by a reviewer call.
TRANSITIONS: dict[str, dict[str, str]] = {
    "pending": {"approve": "approved", "reject": "rejected", "edit": "pending"},
    "approved": {"reject": "rejected", "edit": "pending", "reopen": "pending", "export": "exported"},
    "rejected": {"reopen": "pending", "regenerate": "rejected"},
    "exported": {},
}
REASON_CODES = ("off-brand", "wrong-facts", "tone", "compliance", "other")
REVIEW_ROLES = ("reviewer", "admin")
GENERATE_ROLES = ("marketer", "reviewer", "admin")


def self_approval_allowed(store: Store) -> bool:
    """Whether a user may approve a draft they generated (Settings.allow_self_approval, off by default)."""
    return bool(store.settings.allow_self_approval)


def allowed_actions(state: str) -> list[str]:
    """The reviewer actions allowed in a state."""
    return [a for a in TRANSITIONS.get(state, {}) if a != "export"]


def email_text(subject: str, body: str) -> str:
    """The text a diff and an edit distance are computed over."""
    return f"Subject: {subject}\n\n{body}"


def text_diff(old_subject: str, old_body: str, new_subject: str, new_body: str, *,
              old_label: str = "generated", new_label: str = "current") -> str:
    """A unified diff (difflib) between two versions of an email."""
    old = email_text(old_subject, old_body).splitlines(keepends=True)
    new = email_text(new_subject, new_body).splitlines(keepends=True)
    return "".join(difflib.unified_diff(old, new, fromfile=old_label, tofile=new_label, lineterm="\n"))


def edit_distance(old_subject: str, old_body: str, new_subject: str, new_body: str) -> float:
    """Normalized Levenshtein distance (0 = identical, 1 = all different), rapidfuzz."""
    from rapidfuzz.distance import Levenshtein

    return float(Levenshtein.normalized_distance(email_text(old_subject, old_body),
                                                 email_text(new_subject, new_body)))


def _load(conn: Connection, draft_id: int, *, lock: bool = True) -> dict[str, Any]:
    q = sa.select(drafts).where(drafts.c.id == draft_id)
    row = conn.execute(q.with_for_update() if lock else q).mappings().first()
    if row is None:
        raise NotFoundError(f"No draft with id {draft_id}.",
                            hint="List drafts with `brandvoice review list`.")
    return dict(row)


def _check(draft: dict, action: str, expected_version: int | None) -> str:
    """Refuse a stale version (ConflictError) or an illegal action (StateError); return next state."""
    if expected_version is not None and draft["row_version"] != expected_version:
        raise ConflictError(
            f"Draft {draft['id']} was changed by {draft['updated_by'] or 'someone'} at "
            f"{draft['updated_at']} (you had version {expected_version}, it is now "
            f"{draft['row_version']}, {draft['state']}); reload it.",
            hint="Reload the draft and repeat your action on the current text.")
    nxt = TRANSITIONS.get(draft["state"], {}).get(action)
    if nxt is None:
        allowed = allowed_actions(draft["state"])
        raise StateError(f"Draft {draft['id']} is {draft['state']}: cannot {action} it. "
                         f"Allowed: {', '.join(allowed) or 'nothing (final state)'}.")
    return nxt


def _update(conn: Connection, draft: dict, actor: User, **values: Any) -> int:
    """Optimistic write: bumps row_version; 0 rows means someone else wrote first."""
    now = utcnow()
    new_version = draft["row_version"] + 1
    n = conn.execute(drafts.update()
                     .where(drafts.c.id == draft["id"], drafts.c.row_version == draft["row_version"])
                     .values(row_version=new_version, updated_at=now, updated_by=actor.username,
                             **values)).rowcount
    if n != 1:
        fresh = _load(conn, draft["id"], lock=False)
        raise ConflictError(f"Draft {draft['id']} was changed by {fresh['updated_by'] or 'someone'} "
                            f"at {fresh['updated_at']}; reload it.")
    return new_version


def _decision(conn: Connection, draft: dict, actor: User, action: str, to_state: str, *,
              reason_code: str | None = None, reason_text: str | None = None,
              subject: str | None = None, body: str | None = None,
              old_label: str = "generated") -> dict:
    subject = draft["subject"] if subject is None else subject
    body = draft["body"] if body is None else body
    base_s, base_b = draft["generated_subject"], draft["generated_body"]
    row = dict(draft_id=draft["id"], action=action, reviewer=actor.username,
               from_state=draft["state"], to_state=to_state, reason_code=reason_code,
               reason_text=reason_text,
               diff=text_diff(base_s, base_b, subject, body, old_label=old_label,
                              new_label="approved" if action == "approve" else "current"),
               edit_distance=edit_distance(base_s, base_b, subject, body), created_at=utcnow())
    conn.execute(reviews.insert().values(**row))
    return row


def _result(draft_id: int, state: str, row_version: int) -> dict:
    return {"id": draft_id, "state": state, "row_version": row_version,
            "allowed_actions": allowed_actions(state)}


def _no_self_approval(store: Store, draft: dict, actor: User) -> None:
    if draft["created_by"] and draft["created_by"] == actor.username and not self_approval_allowed(store):
        raise PermissionDenied(f"Draft {draft['id']} was generated by {actor.username}; nobody "
                               "approves a draft they generated.",
                               hint="Ask another reviewer (or an admin may set "
                                    "BRANDVOICE_ALLOW_SELF_APPROVAL=1).")


def approve(store: Store, actor: User, draft_id: int, *, expected_version: int,
            note: str | None = None) -> dict:
    """Approve a pending draft: reviewer or admin, and (by default) not the draft's own generator."""
    with store.tx() as conn:
        require_role(conn, actor, *REVIEW_ROLES, action="approve drafts")
        draft = _load(conn, draft_id)
        nxt = _check(draft, "approve", expected_version)
        _no_self_approval(store, draft, actor)
        version = _update(conn, draft, actor, state=nxt)
        dec = _decision(conn, draft, actor, "approve", nxt, reason_text=note)
        store.audit(conn, "approve", actor=actor.username, draft_id=draft_id, row_version=version,
                    note=note, edit_distance=dec["edit_distance"])
    return _result(draft_id, nxt, version)


def reject(store: Store, actor: User, draft_id: int, *, expected_version: int, reason_code: str,
           reason_text: str | None = None) -> dict:
    """Reject a draft with a reason from REASON_CODES (+ free text; required for "other")."""
    if reason_code not in REASON_CODES:
        raise InputError(f"Unknown rejection reason {reason_code!r} for draft {draft_id}.",
                         hint=f"Use one of: {', '.join(REASON_CODES)}.")
    if reason_code == "other" and not (reason_text or "").strip():
        raise InputError(f"Rejecting draft {draft_id} as 'other' needs a free-text reason.",
                         hint="Say what is wrong in the reason text.")
    with store.tx() as conn:
        require_role(conn, actor, *REVIEW_ROLES, action="reject drafts")
        draft = _load(conn, draft_id)
        nxt = _check(draft, "reject", expected_version)
        version = _update(conn, draft, actor, state=nxt)
        _decision(conn, draft, actor, "reject", nxt, reason_code=reason_code, reason_text=reason_text)
        store.audit(conn, "reject", actor=actor.username, draft_id=draft_id, row_version=version,
                    reason_code=reason_code, reason_text=reason_text)
    return _result(draft_id, nxt, version)


def edit(store: Store, actor: User, draft_id: int, *, subject: str, body: str,
         expected_version: int) -> dict:
    """Replace the draft's text; the old version is kept in draft_versions (kind "edit")."""
    problems = [f"draft {draft_id}: {name} is empty" for name, v in (("subject", subject), ("body", body))
                if not (v or "").strip()]
    if problems:
        raise InputError("Cannot save the edit:", problems=problems, hint="Write a subject and a body.")
    with store.tx() as conn:
        require_role(conn, actor, *REVIEW_ROLES, action="edit drafts")
        draft = _load(conn, draft_id)
        nxt = _check(draft, "edit", expected_version)
        if subject == draft["subject"] and body == draft["body"]:
            raise InputError(f"Draft {draft_id}: the edit changes nothing.",
                             hint="Change the subject or the body, or approve the draft as it is.")
        last = conn.execute(sa.select(sa.func.max(draft_versions.c.version))
                            .where(draft_versions.c.draft_id == draft_id)).scalar() or 0
        if last == 0:  # a draft inserted without its generated version: keep the original anyway
            conn.execute(draft_versions.insert().values(
                draft_id=draft_id, version=1, subject=draft["generated_subject"],
                body=draft["generated_body"], author=draft["created_by"], kind="generated",
                created_at=draft["created_at"]))
            last = 1
        conn.execute(draft_versions.insert().values(
            draft_id=draft_id, version=last + 1, subject=subject, body=body, author=actor.username,
            kind="edit", created_at=utcnow()))
        version = _update(conn, draft, actor, state=nxt, subject=subject, body=body)
        dec = _decision(conn, draft, actor, "edit", nxt, subject=subject, body=body)
        store.audit(conn, "edit", actor=actor.username, draft_id=draft_id, row_version=version,
                    text_version=last + 1, edit_distance=dec["edit_distance"])
    return _result(draft_id, nxt, version)


def reopen(store: Store, actor: User, draft_id: int, *, expected_version: int,
           note: str | None = None) -> dict:
    """Send an approved or rejected draft back to pending (a reviewer changed their mind)."""
    with store.tx() as conn:
        require_role(conn, actor, *REVIEW_ROLES, action="reopen drafts")
        draft = _load(conn, draft_id)
        nxt = _check(draft, "reopen", expected_version)
        version = _update(conn, draft, actor, state=nxt)
        _decision(conn, draft, actor, "reopen", nxt, reason_text=note)
        store.audit(conn, "reopen", actor=actor.username, draft_id=draft_id, row_version=version,
                    note=note)
    return _result(draft_id, nxt, version)


class BulkResult(int):
    """The number of drafts approved (an int), with `.approved` ids and `.skipped` [{id, reason}]."""

    approved: list[int]
    skipped: list[dict]

    def __new__(cls, approved: list[int], skipped: list[dict]) -> BulkResult:
        obj = super().__new__(cls, len(approved))
        obj.approved, obj.skipped = approved, skipped
        return obj


def bulk_approve_passed(store: Store, actor: User, draft_ids: list[int] | None = None, *,
                        job_id: int | None = None, note: str | None = None) -> BulkResult:
    """Approve, in one transaction, the pending drafts that passed every guardrail (verdict "pass").

    Without draft_ids: every pending passed draft (of job_id if given). Drafts that are not pending,
    did not pass, were edited after the check, or were generated by the actor (self-approval rule)
    are skipped and reported.
    """
    allow_self = self_approval_allowed(store)
    with store.tx() as conn:
        require_role(conn, actor, *REVIEW_ROLES, action="approve drafts")
        q = sa.select(drafts.c.id, drafts.c.state, drafts.c.verdict, drafts.c.created_by,
                      drafts.c.row_version, drafts.c.subject, drafts.c.body,
                      drafts.c.generated_subject, drafts.c.generated_body).order_by(drafts.c.id)
        if draft_ids is not None:
            wanted = list(dict.fromkeys(int(i) for i in draft_ids))
            rows: list[Any] = []
            for i in range(0, len(wanted), 500):
                rows += conn.execute(q.where(drafts.c.id.in_(wanted[i:i + 500])).with_for_update()).all()
            found = {r.id for r in rows}
            skipped = [{"id": i, "reason": "no such draft"} for i in wanted if i not in found]
        else:
            q = q.where(drafts.c.state == "pending", drafts.c.verdict == "pass")
            if job_id is not None:
                q = q.where(drafts.c.job_id == job_id)
            rows, skipped = conn.execute(q.with_for_update()).all(), []
        edited = _edited(conn, [r.id for r in rows])
        todo = []
        for r in rows:
            if r.state != "pending":
                skipped.append({"id": r.id, "reason": f"state is {r.state}"})
            elif r.verdict != "pass":
                skipped.append({"id": r.id, "reason": f"guardrail verdict is {r.verdict or 'not checked'}"})
            elif r.id in edited:
                skipped.append({"id": r.id, "reason": "edited after its guardrail check: approve it "
                                                      "on its own"})
            elif r.created_by == actor.username and not allow_self:
                skipped.append({"id": r.id, "reason": f"generated by {actor.username} (no self-approval)"})
            else:
                todo.append(r)
        now = utcnow()
        approved: list[int] = []
        for i in range(0, len(todo), 500):
            chunk = todo[i:i + 500]
            ids = [r.id for r in chunk]
            # One set-based write; the state guard keeps it exact even under READ COMMITTED.
            n = conn.execute(drafts.update()
                             .where(drafts.c.id.in_(ids), drafts.c.state == "pending")
                             .values(state="approved", row_version=drafts.c.row_version + 1,
                                     updated_at=now, updated_by=actor.username)).rowcount
            if n != len(ids):
                raise ConflictError("Some drafts changed while bulk-approving; nothing was approved.",
                                    hint="Reload the queue and try again.")
            approved += ids
        if todo:
            conn.execute(reviews.insert(), [dict(
                draft_id=r.id, action="approve", reviewer=actor.username, from_state="pending",
                to_state="approved", reason_code=None, reason_text=note or "bulk approve (all passed)",
                diff=text_diff(r.generated_subject, r.generated_body, r.subject, r.body,
                               new_label="approved"),
                edit_distance=edit_distance(r.generated_subject, r.generated_body, r.subject, r.body),
                created_at=now) for r in todo])
            conn.execute(audit_table.insert(), [dict(
                draft_id=r.id, actor=actor.username, action="approve",
                details={"bulk": True, "row_version": r.row_version + 1}, created_at=now)
                for r in todo])
        store.audit(conn, "bulk_approve", actor=actor.username, approved=len(approved),
                    skipped=len(skipped), job_id=job_id)
    return BulkResult(approved, skipped)


def _edited(conn: Connection, ids: list[int]) -> set[int]:
    out: set[int] = set()
    for i in range(0, len(ids), 500):
        out |= {r[0] for r in conn.execute(sa.select(draft_versions.c.draft_id).distinct().where(
            draft_versions.c.draft_id.in_(ids[i:i + 500]), draft_versions.c.kind == "edit"))}
    return out


def request_regeneration(store: Store, actor: User, draft_id: int) -> dict:
    """Record a request to regenerate a rejected draft; returns what the generator needs."""
    with store.tx() as conn:
        require_role(conn, actor, *GENERATE_ROLES, action="regenerate drafts")
        draft = _load(conn, draft_id)
        _check(draft, "regenerate", None)
        last = conn.execute(sa.select(reviews.c.reason_code, reviews.c.reason_text)
                            .where(reviews.c.draft_id == draft_id, reviews.c.action == "reject")
                            .order_by(reviews.c.id.desc()).limit(1)).first()
        attempt = _next_attempt(conn, draft)
        conn.execute(reviews.insert().values(
            draft_id=draft_id, action="regenerate", reviewer=actor.username, from_state="rejected",
            to_state="rejected", reason_code=last.reason_code if last else None,
            reason_text=f"regeneration requested (attempt {attempt})", created_at=utcnow()))
        store.audit(conn, "regenerate_request", actor=actor.username, draft_id=draft_id,
                    attempt=attempt)
        contact = conn.execute(sa.select(contacts.c.data).where(contacts.c.id == draft["contact_id"])
                               ).scalar()
    return {"parent_id": draft_id, "job_id": draft["job_id"], "contact_id": draft["contact_id"],
            "contact": contact, "variant": draft["variant"], "attempt": attempt,
            "brand": draft["brand"], "template_name": draft["template_name"],
            "template_hash": draft["template_hash"], "adapter_id": draft["adapter_id"],
            "adapter_label": draft["adapter_label"], "settings": draft["settings"],
            "rejected": {"reason_code": last.reason_code if last else None,
                         "reason_text": last.reason_text if last else None,
                         "subject": draft["subject"], "body": draft["body"]}}


def _next_attempt(conn: Connection, draft: dict) -> int:
    top = conn.execute(sa.select(sa.func.max(drafts.c.attempt)).where(
        drafts.c.job_id == draft["job_id"], drafts.c.contact_id == draft["contact_id"],
        drafts.c.variant == draft["variant"])).scalar()
    return (top or 0) + 1


def add_regenerated(store: Store, parent_id: int, *, subject: str, body: str,
                    created_by: str | None = None, raw_output: str | None = None,
                    prompt: str | None = None, seed: int | None = None,
                    template_hash: str | None = None, adapter_id: int | None = None,
                    adapter_label: str | None = None, settings: dict | None = None) -> int:
    """Insert the new variant of a rejected draft (parent_id, attempt+1, pending); returns its id."""
    if not subject.strip() or not body.strip():
        raise InputError(f"The regenerated draft for {parent_id} has an empty subject or body.")
    with store.tx() as conn:
        parent = _load(conn, parent_id)
        if parent["state"] != "rejected":
            raise StateError(f"Draft {parent_id} is {parent['state']}; only a rejected draft is "
                             "regenerated.")
        attempt = _next_attempt(conn, parent)
        now = utcnow()
        new_id = conn.execute(drafts.insert().values(
            job_id=parent["job_id"], contact_id=parent["contact_id"], variant=parent["variant"],
            attempt=attempt, brand=parent["brand"], subject=subject, body=body,
            generated_subject=subject, generated_body=body, raw_output=raw_output, prompt=prompt,
            template_name=parent["template_name"],
            template_hash=template_hash or parent["template_hash"],
            adapter_id=adapter_id if adapter_id is not None else parent["adapter_id"],
            adapter_label=adapter_label or parent["adapter_label"],
            settings=settings if settings is not None else parent["settings"], seed=seed,
            state="pending", verdict=None, flags=[], row_version=1, parent_id=parent_id,
            created_by=created_by, created_at=now, updated_at=now, updated_by=created_by,
        )).inserted_primary_key[0]
        conn.execute(draft_versions.insert().values(draft_id=new_id, version=1, subject=subject,
                                                    body=body, author=created_by, kind="generated",
                                                    created_at=now))
        store.audit(conn, "regenerated", actor=created_by, draft_id=new_id, parent_id=parent_id,
                    attempt=attempt)
        store.audit(conn, "regenerated_child", actor=created_by, draft_id=parent_id, child_id=new_id)
    return new_id
