"""The review workflow: a state machine over drafts, roles, optimistic concurrency, the verdict rule.

States: pending -> approved | rejected; approved -> exported | superseded (by delivery). An edit
keeps the draft pending (an edit of an approved draft sends it back to pending: its guardrail
verdict was for the old text). `sending` holds a draft claimed by an SMTP send until the server's
answer is recorded; `superseded` is an approved variant that was not picked when another draft of
the same contact and job was delivered. Both are final for a reviewer.

The states and their table are the lifecycle's (`store.lifecycle`), which writes every move: it
checks `drafts.row_version` (UPDATE ... WHERE id=? AND row_version=?), so two reviewers never
overwrite each other (the second gets ConflictError "changed by X at T"), and appends the audit
event in the same transaction. This module adds what a reviewer's decision is: the roles, the
approval rule (`approval_refusal`, shared with bulk approval) and the reviews row.

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

from brandvoice.errors import InputError, PermissionDenied, StateError
from brandvoice.review.policy import read_policy
from brandvoice.store import Store, draft_versions, guardrail_results, lifecycle, reviews, utcnow
from brandvoice.users import PERMISSIONS, User, require_role

STATES = lifecycle.STATES
DELIVERED = lifecycle.DELIVERED
TRANSITIONS = lifecycle.TRANSITIONS
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


allowed_actions = lifecycle.allowed_actions
load = lifecycle.load
check_action = lifecycle.check


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


def decision_row(draft: Any, actor: User, action: str, to_state: str, *,
                 reason_code: str | None = None, reason_text: str | None = None,
                 subject: str | None = None, body: str | None = None, verdict: str | None = None,
                 old_label: str = "generated", now: str | None = None) -> dict:
    """The reviews row of one decision (with its diff against the generated text)."""
    get = draft.__getitem__ if isinstance(draft, dict) else lambda k: getattr(draft, k)
    subject = get("subject") if subject is None else subject
    body = get("body") if body is None else body
    base_s, base_b = get("generated_subject"), get("generated_body")
    return dict(draft_id=get("id"), action=action, reviewer=actor.username,
                from_state=get("state"), to_state=to_state, reason_code=reason_code,
                reason_text=reason_text, verdict=verdict,
                diff=text_diff(base_s, base_b, subject, body, old_label=old_label,
                               new_label="approved" if action == "approve" else "current"),
                edit_distance=edit_distance(base_s, base_b, subject, body),
                created_at=now or utcnow())


def decision(conn: Connection, draft: dict, actor: User, action: str, to_state: str,
             **kw: Any) -> dict:
    """Insert the reviews row of one decision (see `decision_row`)."""
    row = decision_row(draft, actor, action, to_state, **kw)
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


def approval_refusal(state: str, status: str | None, created_by: str | None, own_edit: bool,
                     actor: User, policy: dict, *,
                     verdicts: tuple[str, ...] = ("pass", "warn", "fail")) -> tuple[str, str] | None:
    """The approval rule, shared by `approve` and bulk approval: (kind, reason) when `actor` may
    not approve a draft in `state` whose current text was checked with `status` (None: not
    checked since it changed), else None. `verdicts`: the statuses this approval takes (a single
    approval takes a failing one with a reason, a bulk approval only passes)."""
    if "approve" not in TRANSITIONS.get(state, {}):
        return "state", f"state is {state}"
    if status is None:
        return "unchecked", "text changed since its guardrail check: check it again first"
    if status not in verdicts:
        return "verdict", f"guardrail verdict is {status}"
    if created_by and created_by == actor.username and not policy["allow_self_approval"]:
        return "self", f"generated by {actor.username} (no self-approval)"
    if own_edit and not policy["allow_own_edit_approval"]:
        return "own_edit", f"holds {actor.username}'s own edit (no approval of one's own edit)"
    return None


def _authorship_error(kind: str, draft: dict, actor: User) -> PermissionDenied:
    if kind == "self":
        return PermissionDenied(f"Draft {draft['id']} was generated by {actor.username}; nobody "
                                "approves a draft they generated.",
                                hint="Ask another reviewer (or an admin may allow self-approval: "
                                     "`brandvoice settings set --allow-self-approval`).")
    return PermissionDenied(f"Draft {draft['id']} holds {actor.username}'s own edit; nobody "
                            "approves text they wrote.",
                            hint="Ask another reviewer (or an admin may allow it: `brandvoice "
                                 "settings set --allow-own-edit-approval`).")


def _approval(conn: Connection, draft: dict, actor: User, check: dict | None) -> tuple[str, str] | None:
    mine = bool(own_edits(conn, [draft["id"]], actor.username))
    return approval_refusal(draft["state"], check["status"] if check else None,
                            draft["created_by"], mine, actor, read_policy(conn))


def approval_blocker(store: Store, actor: User, draft_id: int) -> str | None:
    """Why the review policy keeps `actor` from approving this draft (they generated it, or it
    holds their own edit), in words; None when it does not. The page says so before a click."""
    with store.read() as conn:
        draft = load(conn, draft_id)
        refusal = approval_refusal("pending", "pass", draft["created_by"],
                                   bool(own_edits(conn, [draft_id], actor.username)), actor,
                                   read_policy(conn))
    if refusal is None or refusal[0] not in ("self", "own_edit"):
        return None
    return _authorship_error(refusal[0], draft, actor).message


def record_approval(conn: Connection, draft: Any, actor: User, verdict: str, *,
                    expected_version: int | None = None, note: str | None = None,
                    reason: str | None = None, failed: list[str] | None = None) -> dict:
    """Move one draft the rule allows to approved (checked and audited by the lifecycle); returns
    its reviews row, with the new row_version, for the caller to insert."""
    override = verdict == "fail"
    row = dict(draft) if isinstance(draft, dict) else dict(draft._mapping)
    details: dict[str, Any] = {"verdict": verdict, "note": note}
    if override:
        details.update(override=True, reason=reason, failed_rules=failed or [])
    dec = decision_row(row, actor, "approve", "approved", verdict=verdict,
                       reason_code=OVERRIDE if override else None,
                       reason_text=reason if override else (note or reason))
    version = lifecycle.transition(conn, row, "approve", actor.username,
                                   expected_version=expected_version,
                                   edit_distance=dec["edit_distance"], **details)
    return {**dec, "row_version": version}


def approve(store: Store, actor: User, draft_id: int, *, expected_version: int,
            note: str | None = None, reason: str | None = None) -> dict:
    """Approve a pending draft whose current text was checked: reviewer or admin, not its author
    (unless the review policy allows), and a failing verdict only with a `reason` (an override)."""
    with store.tx() as conn:
        require_role(conn, actor, *REVIEW_ROLES, action="approve drafts")
        draft = load(conn, draft_id)
        check_action(draft, "approve", expected_version)
        check = current_check(conn, draft)
        refusal = _approval(conn, draft, actor, check)
        kind = refusal[0] if refusal else None
        if kind in ("self", "own_edit"):
            raise _authorship_error(kind, draft, actor)
        if kind == "unchecked":
            raise StateError(f"Draft {draft_id} changed since its last guardrail check (its text "
                             f"is version {draft['text_row_version']}): check it again first.",
                             hint=f"Run `brandvoice review check {draft_id}` (or the Check button "
                                  "on the Review page), then approve the version you see.")
        reason = (reason or "").strip() or None
        if check["status"] == "fail" and reason is None:
            raise InputError(f"Draft {draft_id} failed its guardrails ({', '.join(check['failed'])}): "
                             "approving it needs a reason.",
                             hint="Say why it may go out anyway (--reason), or edit or reject it.")
        dec = record_approval(conn, draft, actor, check["status"], expected_version=expected_version,
                              note=note, reason=reason, failed=check["failed"])
        version = dec.pop("row_version")
        conn.execute(reviews.insert().values(**dec))
    return _result(draft_id, "approved", version)


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
        verdict = check["status"] if check else None
        version = lifecycle.transition(conn, draft, "reject", actor.username,
                                       expected_version=expected_version, reason_code=code,
                                       reason_text=reason_text, verdict=verdict)
        decision(conn, draft, actor, "reject", nxt, reason_code=code, reason_text=reason_text,
                 verdict=verdict)
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
        dec = decision_row(draft, actor, "edit", nxt, subject=subject, body=body)
        version = lifecycle.transition(conn, draft, "edit", actor.username,
                                       expected_version=expected_version, text=True,
                                       values={"subject": subject, "body": body},
                                       text_version=last + 1, edit_distance=dec["edit_distance"])
        conn.execute(reviews.insert().values(**dec))
    return _result(draft_id, nxt, version)


def reopen(store: Store, actor: User, draft_id: int, *, expected_version: int,
           note: str | None = None) -> dict:
    """Send an approved or rejected draft back to pending (a reviewer changed their mind)."""
    with store.tx() as conn:
        require_role(conn, actor, *REVIEW_ROLES, action="reopen drafts")
        draft = load(conn, draft_id)
        nxt = check_action(draft, "reopen", expected_version)
        version = lifecycle.transition(conn, draft, "reopen", actor.username,
                                       expected_version=expected_version, note=note)
        decision(conn, draft, actor, "reopen", nxt, reason_text=note)
    return _result(draft_id, nxt, version)
