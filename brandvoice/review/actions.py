"""The review workflow: a state machine over drafts, roles, optimistic concurrency, the verdict rule.

States: pending -> approved | rejected; approved -> exported | superseded (by delivery). An edit
keeps the draft pending (an edit of an approved draft sends it back to pending: its guardrail
verdict was for the old text). `sending` holds a draft claimed by an SMTP send until the server's
answer is recorded; `superseded` is an approved variant that was not picked when another draft of
the same contact and job was delivered. Both are final for a reviewer.

Every write checks `drafts.row_version` (UPDATE ... WHERE id=? AND row_version=?), so two
reviewers never overwrite each other: the second gets ConflictError "changed by X at T". Every
action appends to the audit table in the same transaction.

Review follows the verdict: a draft is approved only when its current text was checked
(guardrail results at or after `text_row_version`); a failing verdict is approved only with a
reason (an override, kept with the decision and in the audit). Self-approval and approving one's
own edit follow the admin's review policy (`policy`).
"""

from __future__ import annotations

import difflib
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from brandvoice.errors import ConflictError, InputError, NotFoundError, PermissionDenied, StateError
from brandvoice.review.policy import read_policy
from brandvoice.store import Store, draft_versions, drafts, guardrail_results, reviews, utcnow
from brandvoice.users import PERMISSIONS, User, require_role

STATES = ("pending", "approved", "rejected", "exported", "superseded", "sending")
DELIVERED = ("exported", "sending")  # a customer has (or may have) received it
# state -> {action: next state}. "export", "claim" and "supersede" are delivery's, never a reviewer's.
TRANSITIONS: dict[str, dict[str, str]] = {
    "pending": {"approve": "approved", "reject": "rejected", "edit": "pending"},
    "approved": {"reject": "rejected", "edit": "pending", "reopen": "pending", "export": "exported",
                 "claim": "sending", "supersede": "superseded"},
    "rejected": {"reopen": "pending", "regenerate": "rejected"},
    "exported": {},
    "superseded": {},
    "sending": {},
}
_DELIVERY_ACTIONS = ("export", "claim", "supersede")
REASON_CODES = ("incoherent", "off-brief", "wrong-name", "cut-off", "placeholder", "invented-facts",
                "off-brand", "tone", "compliance", "other")
# Codes of earlier versions, still in stored decisions: read (and accepted) as their new names.
REASON_ALIASES = {"wrong-facts": "invented-facts"}
OVERRIDE = "override"  # reviews.reason_code of an approval against a failing verdict
REVIEW_ROLES = PERMISSIONS["review"]
GENERATE_ROLES = PERMISSIONS["generate"]
REGENERATE_ROLES = PERMISSIONS["regenerate"]
MAX_SUBJECT = 998  # RFC 5322's line limit: a longer subject is no header


def canonical_reason(code: str | None) -> str | None:
    """A stored or given rejection reason under its current name (old codes are aliases)."""
    return REASON_ALIASES.get(code, code) if code else code


def allowed_actions(state: str) -> list[str]:
    """The reviewer actions allowed in a state."""
    return [a for a in TRANSITIONS.get(state, {}) if a not in _DELIVERY_ACTIONS]


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


def load(conn: Connection, draft_id: int, *, lock: bool = True) -> dict[str, Any]:
    """One draft row (locked for update by default); NotFoundError if missing."""
    q = sa.select(drafts).where(drafts.c.id == draft_id)
    row = conn.execute(q.with_for_update() if lock else q).mappings().first()
    if row is None:
        raise NotFoundError(f"No draft with id {draft_id}.",
                            hint="List drafts with `brandvoice review list`.")
    return dict(row)


def check_action(draft: dict, action: str, expected_version: int | None) -> str:
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


def update(conn: Connection, draft: dict, actor: User, *, text: bool = False, **values: Any) -> int:
    """Optimistic write: bumps row_version (and text_row_version with `text`); 0 rows means
    someone else wrote first."""
    now = utcnow()
    new_version = draft["row_version"] + 1
    if text:
        values["text_row_version"] = new_version
    n = conn.execute(drafts.update()
                     .where(drafts.c.id == draft["id"], drafts.c.row_version == draft["row_version"])
                     .values(row_version=new_version, updated_at=now, updated_by=actor.username,
                             **values)).rowcount
    if n != 1:
        fresh = load(conn, draft["id"], lock=False)
        raise ConflictError(f"Draft {draft['id']} was changed by {fresh['updated_by'] or 'someone'} "
                            f"at {fresh['updated_at']}; reload it.")
    return new_version


def decision(conn: Connection, draft: dict, actor: User, action: str, to_state: str, *,
             reason_code: str | None = None, reason_text: str | None = None,
             subject: str | None = None, body: str | None = None, verdict: str | None = None,
             old_label: str = "generated") -> dict:
    """Insert the reviews row of one decision (with its diff against the generated text)."""
    subject = draft["subject"] if subject is None else subject
    body = draft["body"] if body is None else body
    base_s, base_b = draft["generated_subject"], draft["generated_body"]
    row = dict(draft_id=draft["id"], action=action, reviewer=actor.username,
               from_state=draft["state"], to_state=to_state, reason_code=reason_code,
               reason_text=reason_text, verdict=verdict,
               diff=text_diff(base_s, base_b, subject, body, old_label=old_label,
                              new_label="approved" if action == "approve" else "current"),
               edit_distance=edit_distance(base_s, base_b, subject, body), created_at=utcnow())
    conn.execute(reviews.insert().values(**row))
    return row


def _result(draft_id: int, state: str, row_version: int) -> dict:
    return {"id": draft_id, "state": state, "row_version": row_version,
            "allowed_actions": allowed_actions(state)}


def current_check(conn: Connection, draft: dict) -> dict | None:
    """The guardrail check of the draft's current text: {row_version, status, failed, warned};
    None when the text changed since its last check (or was never checked)."""
    rows = conn.execute(sa.select(guardrail_results.c.row_version, guardrail_results.c.check,
                                  guardrail_results.c.rule, guardrail_results.c.status)
                        .where(guardrail_results.c.draft_id == draft["id"],
                               guardrail_results.c.row_version >= draft["text_row_version"])).all()
    if not rows:
        return None
    version = max(r.row_version for r in rows)
    last = [r for r in rows if r.row_version == version]
    failed = [f"{r.check}/{r.rule}" for r in last if r.status == "fail"]
    warned = [f"{r.check}/{r.rule}" for r in last if r.status == "warn"]
    status = "fail" if failed else "warn" if warned else "pass"
    return {"row_version": version, "status": status, "failed": failed, "warned": warned}


def own_edits(conn: Connection, ids: list[int], username: str) -> set[int]:
    """The drafts among `ids` whose text the user edited."""
    out: set[int] = set()
    for i in range(0, len(ids), 500):
        out |= {r[0] for r in conn.execute(sa.select(draft_versions.c.draft_id).distinct().where(
            draft_versions.c.draft_id.in_(ids[i:i + 500]), draft_versions.c.kind == "edit",
            draft_versions.c.author == username))}
    return out


def _authorship(conn: Connection, draft: dict, actor: User) -> None:
    """PermissionDenied when the policy keeps the actor from approving text they wrote."""
    policy = read_policy(conn)
    if draft["created_by"] and draft["created_by"] == actor.username \
            and not policy["allow_self_approval"]:
        raise PermissionDenied(f"Draft {draft['id']} was generated by {actor.username}; nobody "
                               "approves a draft they generated.",
                               hint="Ask another reviewer (or an admin may allow self-approval: "
                                    "`brandvoice settings set --allow-self-approval`).")
    if not policy["allow_own_edit_approval"] and own_edits(conn, [draft["id"]], actor.username):
        raise PermissionDenied(f"Draft {draft['id']} holds {actor.username}'s own edit; nobody "
                               "approves text they wrote.",
                               hint="Ask another reviewer (or an admin may allow it: `brandvoice "
                                    "settings set --allow-own-edit-approval`).")


def approval_blocker(store: Store, actor: User, draft_id: int) -> str | None:
    """Why the review policy keeps `actor` from approving this draft (they generated it, or it
    holds their own edit), in words; None when it does not. The page says so before a click."""
    with store.read() as conn:
        try:
            _authorship(conn, load(conn, draft_id), actor)
        except PermissionDenied as exc:
            return exc.message
    return None


def approve(store: Store, actor: User, draft_id: int, *, expected_version: int,
            note: str | None = None, reason: str | None = None) -> dict:
    """Approve a pending draft whose current text was checked: reviewer or admin, not its author
    (unless the review policy allows), and a failing verdict only with a `reason` (an override)."""
    with store.tx() as conn:
        require_role(conn, actor, *REVIEW_ROLES, action="approve drafts")
        draft = load(conn, draft_id)
        nxt = check_action(draft, "approve", expected_version)
        _authorship(conn, draft, actor)
        check = current_check(conn, draft)
        if check is None:
            raise StateError(f"Draft {draft_id} changed since its last guardrail check (its text "
                             f"is version {draft['text_row_version']}): check it again first.",
                             hint=f"Run `brandvoice review check {draft_id}` (or the Check button "
                                  "on the Review page), then approve the version you see.")
        override = check["status"] == "fail"
        reason = (reason or "").strip() or None
        if override and reason is None:
            raise InputError(f"Draft {draft_id} failed its guardrails ({', '.join(check['failed'])}): "
                             "approving it needs a reason.",
                             hint="Say why it may go out anyway (--reason), or edit or reject it.")
        version = update(conn, draft, actor, state=nxt)
        dec = decision(conn, draft, actor, "approve", nxt, verdict=check["status"],
                       reason_code=OVERRIDE if override else None,
                       reason_text=reason if override else (note or reason))
        details: dict[str, Any] = {"row_version": version, "note": note,
                                   "edit_distance": dec["edit_distance"], "verdict": check["status"]}
        if override:
            details.update(override=True, reason=reason, failed_rules=check["failed"])
        store.audit(conn, "approve", actor=actor.username, draft_id=draft_id, **details)
    return _result(draft_id, nxt, version)


def reject(store: Store, actor: User, draft_id: int, *, expected_version: int, reason_code: str,
           reason_text: str | None = None) -> dict:
    """Reject a draft with a reason from REASON_CODES (+ free text; required for "other")."""
    code = REASON_ALIASES.get(reason_code, reason_code)
    if code not in REASON_CODES:
        raise InputError(f"Unknown rejection reason {reason_code!r} for draft {draft_id}.",
                         hint=f"Use one of: {', '.join(REASON_CODES)}.")
    if code == "other" and not (reason_text or "").strip():
        raise InputError(f"Rejecting draft {draft_id} as 'other' needs a free-text reason.",
                         hint="Say what is wrong in the reason text.")
    with store.tx() as conn:
        require_role(conn, actor, *REVIEW_ROLES, action="reject drafts")
        draft = load(conn, draft_id)
        nxt = check_action(draft, "reject", expected_version)
        check = current_check(conn, draft)
        version = update(conn, draft, actor, state=nxt)
        decision(conn, draft, actor, "reject", nxt, reason_code=code, reason_text=reason_text,
                 verdict=check["status"] if check else None)
        store.audit(conn, "reject", actor=actor.username, draft_id=draft_id, row_version=version,
                    reason_code=code, reason_text=reason_text,
                    verdict=check["status"] if check else None)
    return _result(draft_id, nxt, version)


def _edit_problems(draft_id: int, subject: str, body: str) -> list[str]:
    problems = [f"draft {draft_id}: {name} is empty" for name, v in (("subject", subject), ("body", body))
                if not (v or "").strip()]
    if any(ch in (subject or "") for ch in "\r\n\x0b\x0c\x85\u2028\u2029"):
        problems.append(f"draft {draft_id}: the subject holds a line break (a subject is one line; "
                        "a line break would start a new email header)")
    if len(subject or "") > MAX_SUBJECT:
        problems.append(f"draft {draft_id}: the subject is {len(subject):,} characters "
                        f"(at most {MAX_SUBJECT})")
    return problems


def edit(store: Store, actor: User, draft_id: int, *, subject: str, body: str,
         expected_version: int) -> dict:
    """Replace the draft's text; the old version is kept in draft_versions (kind "edit")."""
    problems = _edit_problems(draft_id, subject, body)
    if problems:
        raise InputError("Cannot save the edit:", problems=problems,
                         hint="Write a one-line subject and a body.")
    with store.tx() as conn:
        require_role(conn, actor, *REVIEW_ROLES, action="edit drafts")
        draft = load(conn, draft_id)
        nxt = check_action(draft, "edit", expected_version)
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
        version = update(conn, draft, actor, text=True, state=nxt, subject=subject, body=body)
        dec = decision(conn, draft, actor, "edit", nxt, subject=subject, body=body)
        store.audit(conn, "edit", actor=actor.username, draft_id=draft_id, row_version=version,
                    text_version=last + 1, edit_distance=dec["edit_distance"])
    return _result(draft_id, nxt, version)


def reopen(store: Store, actor: User, draft_id: int, *, expected_version: int,
           note: str | None = None) -> dict:
    """Send an approved or rejected draft back to pending (a reviewer changed their mind)."""
    with store.tx() as conn:
        require_role(conn, actor, *REVIEW_ROLES, action="reopen drafts")
        draft = load(conn, draft_id)
        nxt = check_action(draft, "reopen", expected_version)
        version = update(conn, draft, actor, state=nxt)
        decision(conn, draft, actor, "reopen", nxt, reason_text=note)
        store.audit(conn, "reopen", actor=actor.username, draft_id=draft_id, row_version=version,
                    note=note)
    return _result(draft_id, nxt, version)
