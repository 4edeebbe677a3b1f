"""A draft's life: the one place where drafts are created and change state.

    with store.tx() as conn:
        draft = lifecycle.load(conn, draft_id)                    # locked for the transaction
        lifecycle.transition(conn, draft, "approve", "rita", expected_version=3, verdict="pass")

Every change of a draft's state (generation, review, bulk approval, regeneration, export, SMTP
sends and their settling, the demo) goes through `create`, `transition` or `move_many`: each checks
the transition table, writes the row with `row_version` bumped (optimistic concurrency: the UPDATE
names the version and the state it read, so a concurrent writer is refused, never overwritten) and
appends the audit event naming the actor, the state before and the state after, in the caller's
transaction. So `row_version` of a draft always equals the number of its audit events that carry
`to_state`: a state change without its audit row cannot be written.

Why here, in the store package: every stage that changes a draft sits above the store (generation,
guardrails, review, delivery, demo), so only a module at the bottom can be the one owner without
importing upward (see `.importlinter`). What the store cannot know stays with the callers, who pass
it down: the acting user's *name* (roles are checked by the caller through `users`, which sits above
the store), the reviewer's decision row (`review`), the export batch (`delivery`). The guardrail
verdict columns are written here as well (`record_verdict`), so that one module writes drafts rows.

Exactly once per contact and job is the database's to hold: a move into a delivered state
(`export`, `send_claim`) marks the draft `first_delivery` unless the caller says it is a repeat the
user asked for, and a unique index lets one draft per (job, contact) carry the mark; a second first
delivery, however it raced past the checks, is refused (DeliveryConflict) and its transaction rolls
back. A move out of a delivered state (`send_not_sent`) clears the mark.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from brandvoice.errors import ConflictError, NotFoundError, StateError
from brandvoice.store.engine import append_audit, audit_row
from brandvoice.store.tables import audit, draft_versions, drafts, utcnow

STATES = ("pending", "approved", "rejected", "sending", "exported", "superseded")
DELIVERED = ("exported", "sending")  # a customer has (or may have) received it
CREATE = "create"  # the audit action of a new draft (state None -> "pending")
# state -> {action: next state}. The action is also the audit event's name.
TRANSITIONS: dict[str, dict[str, str]] = {
    "pending": {"approve": "approved", "reject": "rejected", "edit": "pending"},
    "approved": {"reject": "rejected", "edit": "pending", "reopen": "pending",
                 # delivery's: an export takes it, an SMTP send claims it, a sibling's delivery
                 # sets it aside
                 "export": "exported", "send_claim": "sending", "supersede": "superseded"},
    # "regenerate" writes a new draft (its parent stays rejected): allowed here, never a write
    "rejected": {"reopen": "pending", "regenerate": "rejected"},
    # the server's answer: accepted (or a user settled it as sent), or refused (or settled as not
    # sent: a later send sends it again)
    "sending": {"send": "exported", "send_not_sent": "approved"},
    "exported": {},
    "superseded": {},
}
REVIEW_ACTIONS = ("approve", "reject", "edit", "reopen", "regenerate")
_CHUNK = 500


class DeliveryConflict(ConflictError):
    """Another delivery gave the contact a draft of the same job first (the unique index)."""


def _delivery_values(state: str, nxt: str, repeat: bool) -> dict[str, Any]:
    """The first_delivery column for a move from `state` to `nxt`."""
    if nxt in DELIVERED and state not in DELIVERED:
        return {"first_delivery": None if repeat else True}
    if state in DELIVERED and nxt not in DELIVERED:
        return {"first_delivery": None}
    return {}


def _refused_delivery(exc: sa.exc.IntegrityError, ids: list[int]) -> DeliveryConflict | None:
    text = str(getattr(exc, "orig", exc))
    if "first_delivery" not in text:
        return None
    return DeliveryConflict(
        f"Another delivery gave the contact of draft(s) {', '.join(map(str, ids[:10]))} a draft "
        "of the same generation job first; nothing of this delivery was taken.",
        hint="Run it again: a contact who already received a draft of the job is skipped.")


def allowed_actions(state: str) -> list[str]:
    """The reviewer actions allowed in a state (delivery's own moves left out)."""
    return [a for a in TRANSITIONS.get(state, {}) if a in REVIEW_ACTIONS]


def next_state(draft: Mapping[str, Any], action: str) -> str:
    """The state `action` takes the draft to; StateError when the table has no such move."""
    nxt = TRANSITIONS.get(draft["state"], {}).get(action)
    if nxt is None:
        allowed = allowed_actions(draft["state"])
        raise StateError(f"Draft {draft['id']} is {draft['state']}: cannot {action} it. "
                         f"Allowed: {', '.join(allowed) or 'nothing (final state)'}.")
    return nxt


def check(draft: Mapping[str, Any], action: str, expected_version: int | None) -> str:
    """Refuse a stale version (ConflictError) or an illegal action (StateError); the next state."""
    if expected_version is not None and draft["row_version"] != expected_version:
        raise ConflictError(
            f"Draft {draft['id']} was changed by {draft['updated_by'] or 'someone'} at "
            f"{draft['updated_at']} (you had version {expected_version}, it is now "
            f"{draft['row_version']}, {draft['state']}); reload it.",
            hint="Reload the draft and repeat your action on the current text.")
    return next_state(draft, action)


def load(conn: Connection, draft_id: int, *, lock: bool = True) -> dict[str, Any]:
    """One draft row (locked for update by default); NotFoundError if missing."""
    q = sa.select(drafts).where(drafts.c.id == draft_id)
    row = conn.execute(q.with_for_update() if lock else q).mappings().first()
    if row is None:
        raise NotFoundError(f"No draft with id {draft_id}.",
                            hint="List drafts with `brandvoice review list`.")
    return dict(row)


def _new_row(row: Mapping[str, Any], actor: str | None, now: str) -> dict[str, Any]:
    values = {k: v for k, v in row.items() if k not in ("id", "state", "row_version",
                                                         "text_row_version", "first_delivery")}
    values.setdefault("generated_subject", values["subject"])
    values.setdefault("generated_body", values["body"])
    values.setdefault("created_at", now)
    values.setdefault("updated_at", values["created_at"])
    values.update(state="pending", row_version=1, text_row_version=1, created_by=actor,
                  updated_by=actor)
    return values


def create(conn: Connection, row: Mapping[str, Any], actor: str | None, **details: Any) -> int:
    """Insert a new pending draft written for `actor` (its creator), with its generated text as
    version 1 and the audit event "create"; returns its id."""
    return create_many(conn, [row], actor, **details)[0]


def create_many(conn: Connection, rows: list[Mapping[str, Any]], actor: str | None,
                **details: Any) -> list[int]:
    """`create` for many drafts in one go (ids in the order of `rows`); `details` go into every
    audit event, a row's own under its "audit" key."""
    now = utcnow()
    ids: list[int] = []
    for i in range(0, len(rows), _CHUNK):
        chunk = [dict(r) for r in rows[i:i + _CHUNK]]
        own = [r.pop("audit", None) or {} for r in chunk]
        values = [_new_row(r, actor, now) for r in chunk]
        if len(values) == 1:
            new = [conn.execute(drafts.insert().values(**values[0])).inserted_primary_key[0]]
        else:
            new = list(conn.execute(drafts.insert().returning(drafts.c.id,
                                                              sort_by_parameter_order=True),
                                    values).scalars())
        conn.execute(draft_versions.insert(), [
            dict(draft_id=d, version=1, subject=v["subject"], body=v["body"], author=actor,
                 kind="generated", created_at=v["created_at"]) for d, v in zip(new, values,
                                                                                strict=True)])
        conn.execute(audit.insert(), [
            audit_row(CREATE, actor=actor, draft_id=d, created_at=now, from_state=None,
                      to_state="pending", row_version=1, **{**details, **extra})
            for d, extra in zip(new, own, strict=True)])
        ids += new
    return ids


def transition(conn: Connection, draft: Mapping[str, Any], action: str, actor: str | None, *,
               expected_version: int | None = None, text: bool = False,
               values: Mapping[str, Any] | None = None, **details: Any) -> int:
    """Move one draft (a row read in this transaction, e.g. by `load`) by `action`: checks the
    table and `expected_version`, writes the new state (and `values`; `text` marks new text), bumps
    row_version and audits the move with `details`; returns the new row_version."""
    nxt = check(draft, action, expected_version)
    new_version = draft["row_version"] + 1
    extra = {**_delivery_values(draft["state"], nxt, False), **(values or {})}
    if text:
        extra["text_row_version"] = new_version
    now = utcnow()
    try:
        n = conn.execute(drafts.update()
                         .where(drafts.c.id == draft["id"],
                                drafts.c.row_version == draft["row_version"],
                                drafts.c.state == draft["state"])
                         .values(state=nxt, row_version=new_version, updated_at=now,
                                 updated_by=actor, **extra)).rowcount
    except sa.exc.IntegrityError as exc:
        refused = _refused_delivery(exc, [draft["id"]])
        if refused is None:
            raise
        raise refused from None
    if n != 1:
        fresh = load(conn, draft["id"], lock=False)
        raise ConflictError(f"Draft {draft['id']} was changed by {fresh['updated_by'] or 'someone'} "
                            f"at {fresh['updated_at']}; reload it.",
                            hint="Reload the draft and repeat your action on the current text.")
    append_audit(conn, action, actor=actor, draft_id=draft["id"], from_state=draft["state"],
                 to_state=nxt, row_version=new_version, **details)
    return new_version


def move(conn: Connection, draft_id: int, action: str, actor: str | None, *,
         repeat: bool = False, **details: Any) -> int | None:
    """Move one draft, by id, if its state allows `action`: its new row_version, or None (not
    moved: it is in another state, or gone). `repeat`: a delivery the user asked for to a contact
    who already received a draft of the job (not marked as its first)."""
    moved = move_many(conn, [draft_id], action, actor, details=details,
                      repeats=[draft_id] if repeat else ())
    return moved[draft_id] if moved else None


def move_many(conn: Connection, draft_ids: Iterable[int], action: str, actor: str | None, *,
              details: Mapping[str, Any] | None = None,
              per_draft: Mapping[int, Mapping[str, Any]] | None = None,
              repeats: Iterable[int] = ()) -> dict[int, int]:
    """Move every listed draft whose state allows `action` (set-based: one locked read and one
    UPDATE per chunk and state), each audited with `details` (and its `per_draft` entry); returns
    {draft id: new row_version} of the drafts moved. The caller decides whether a draft left
    behind (another state, gone) is an error. A delivery of the drafts in `repeats` is not their
    contact's first (see the module); DeliveryConflict when the database refuses a first one."""
    wanted = sorted(dict.fromkeys(int(i) for i in draft_ids))
    moved: dict[int, int] = {}
    for i in range(0, len(wanted), _CHUNK):
        chunk = wanted[i:i + _CHUNK]
        # locked in id order: two writers over overlapping drafts cannot deadlock
        rows = conn.execute(sa.select(drafts.c.id, drafts.c.state, drafts.c.row_version)
                            .where(drafts.c.id.in_(chunk)).order_by(drafts.c.id)
                            .with_for_update()).all()
        again = set(repeats)
        by_state: dict[tuple[str, bool], list[Any]] = {}
        for r in rows:
            if action in TRANSITIONS.get(r.state, {}):
                by_state.setdefault((r.state, r.id in again), []).append(r)
        for (state, repeat), group in by_state.items():
            moved.update(_move_group(conn, state, group, action, actor, details or {},
                                     per_draft or {}, repeat=repeat))
    return moved


def _move_group(conn: Connection, state: str, group: list[Any], action: str, actor: str | None,
                details: Mapping[str, Any], per_draft: Mapping[int, Mapping[str, Any]], *,
                repeat: bool = False) -> dict[int, int]:
    nxt = TRANSITIONS[state][action]
    now = utcnow()
    ids = [r.id for r in group]
    try:
        n = conn.execute(drafts.update().where(drafts.c.id.in_(ids), drafts.c.state == state)
                         .values(state=nxt, row_version=drafts.c.row_version + 1, updated_at=now,
                                 updated_by=actor, **_delivery_values(state, nxt, repeat))
                         ).rowcount
    except sa.exc.IntegrityError as exc:
        refused = _refused_delivery(exc, ids)
        if refused is None:
            raise
        raise refused from None
    if n != len(ids):  # the rows are locked: only a bug elsewhere gets here
        raise ConflictError(f"{len(ids) - n} of {len(ids)} drafts changed while they were moved "
                            f"to {nxt}; nothing was changed.", hint="Try again.")
    conn.execute(audit.insert(), [
        audit_row(action, actor=actor, draft_id=r.id, created_at=now, from_state=state,
                  to_state=nxt, row_version=r.row_version + 1,
                  **{**details, **per_draft.get(r.id, {})}) for r in group])
    return {r.id: r.row_version + 1 for r in group}


def record_verdict(conn: Connection, draft_id: int, status: str | None,
                   tone_score: float | None) -> None:
    """The verdict and tone score of the draft's checked text (no state change, not audited here:
    the checker audits the check)."""
    conn.execute(drafts.update().where(drafts.c.id == draft_id).values(
        verdict=status, tone_score=None if tone_score is None else float(tone_score)))
