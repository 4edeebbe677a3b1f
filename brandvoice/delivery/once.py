"""Exactly once per contact: which approved drafts a delivery takes, and what it sets aside.

A contact receives at most one draft per generation job, across every export and SMTP send,
unless the user asks for more (`allow_repeat`). One delivery holds one row per email address
(`on_duplicate` picks among a contact's approved variants, or refuses). When a draft is delivered,
its contact's other approved variants of the same job become `superseded` (audited): they were not
picked. A draft is delivered only from `approved`, through the lifecycle (which locks the rows and
checks their state), so an export and a send can never both take it.

Two deliveries to the same contact are serialised by the database: each locks its contacts' rows
(`lock_contacts`, in id order, before it asks what was delivered) until it commits, so the second
sees the first one's drafts; and the unique first-delivery index (`store.lifecycle`) refuses a
second first email to a contact of a job whatever the path, rolling the delivery back.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from brandvoice.errors import ExportError
from brandvoice.store import Store, contacts, drafts, lifecycle
from brandvoice.users import User

DUPLICATE_POLICIES = ("refuse", "newest", "oldest")
DELIVERED = lifecycle.DELIVERED


def lock_contacts(conn: Connection, rows: Iterable[dict]) -> None:
    """Hold the rows' contacts until this transaction ends: another delivery to one of them waits
    (PostgreSQL row locks, taken in id order so two deliveries cannot deadlock; SQLite's writers
    already run one at a time)."""
    ids = sorted({int(r["contact_id"]) for r in rows})
    for i in range(0, len(ids), 500):
        conn.execute(sa.select(contacts.c.id).where(contacts.c.id.in_(ids[i:i + 500]))
                     .order_by(contacts.c.id).with_for_update()).all()


def delivered(conn: Connection, rows: Iterable[dict]) -> dict[tuple[int, int], int]:
    """(job_id, contact_id) -> the id of a draft already delivered to that contact in that job."""
    pairs = sorted({(r["job_id"], r["contact_id"]) for r in rows})
    out: dict[tuple[int, int], int] = {}
    for job in sorted({j for j, _ in pairs}):
        ids = [c for j, c in pairs if j == job]
        for i in range(0, len(ids), 500):
            q = (sa.select(drafts.c.contact_id, sa.func.min(drafts.c.id))
                 .where(drafts.c.job_id == job, drafts.c.contact_id.in_(ids[i:i + 500]),
                        drafts.c.state.in_(DELIVERED))
                 .group_by(drafts.c.contact_id))
            out.update({(job, c): d for c, d in conn.execute(q)})
    return out


def refuse_repeats(conn: Connection, rows: list[dict], allow_repeat: bool) -> None:
    """ExportError for drafts (asked for by id) whose contact already received a draft of the job."""
    if allow_repeat:
        return
    done = delivered(conn, rows)
    bad = [f"draft {r['draft_id']} ({r['email']}): draft {done[(r['job_id'], r['contact_id'])]} of "
           f"job {r['job_id']} already went to this contact"
           for r in rows if (r["job_id"], r["contact_id"]) in done]
    if bad:
        raise ExportError("A contact receives one draft per generation job:\n" +
                          "\n".join(f"  - {b}" for b in bad[:20]),
                          hint="Leave them out, or ask for another email to the same contact on "
                               "purpose (--allow-repeat).")


def drop_repeats(conn: Connection, rows: list[dict], allow_repeat: bool) -> tuple[list[dict], list[dict]]:
    """(rows whose contact has no delivered draft of their job yet, the others as skipped)."""
    if allow_repeat:
        return rows, []
    done = delivered(conn, rows)
    keep, skipped = [], []
    for r in rows:
        prior = done.get((r["job_id"], r["contact_id"]))
        if prior is None:
            keep.append(r)
        else:
            skipped.append({"id": r["draft_id"], "reason": f"draft {prior} of job {r['job_id']} "
                            f"already went to {r['email']} (superseded)", "supersede": True,
                            "repeat": True})
    return keep, skipped


def dedupe(rows: list[dict], on_duplicate: str) -> tuple[list[dict], list[dict]]:
    """One row per email address: refuse several (ExportError), or keep the newest/oldest approved."""
    if on_duplicate not in DUPLICATE_POLICIES:
        raise ExportError(f"Unknown on_duplicate {on_duplicate!r}.",
                          hint=f"Use one of: {', '.join(DUPLICATE_POLICIES)}.")
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["email"] or "").strip().lower(), []).append(r)
    dupes = {k: g for k, g in groups.items() if len(g) > 1}
    if not dupes:
        return rows, []
    if on_duplicate == "refuse":
        lines = [f"{k}: drafts {', '.join(str(r['draft_id']) for r in g)}"
                 for k, g in list(dupes.items())[:20]]
        raise ExportError(f"{len(dupes)} contact(s) have several approved drafts; a delivery has one "
                          "per contact:\n" + "\n".join(f"  - {x}" for x in lines)
                          + (f"\n  ... and {len(dupes) - 20} more" if len(dupes) > 20 else ""),
                          hint="Reject the extra variants, pass draft ids, or choose "
                               "on_duplicate='newest'/'oldest' (--pick newest).")
    keep, skipped = [], []
    for g in groups.values():
        ordered = sorted(g, key=lambda r: (r["updated_at"] or "", r["draft_id"]))
        chosen = ordered[-1] if on_duplicate == "newest" else ordered[0]
        keep.append(chosen)
        for r in g:
            if r is chosen:
                continue
            same = (r["job_id"], r["contact_id"]) == (chosen["job_id"], chosen["contact_id"])
            skipped.append({"id": r["draft_id"], "reason": f"{on_duplicate} approved draft "
                            f"{chosen['draft_id']} chosen for {r['email']}"
                            + (" (superseded)" if same else ""), "supersede": same})
    keep.sort(key=lambda r: r["draft_id"])
    return keep, skipped


def plan(conn: Connection, rows: list[dict], *, explicit: bool, on_duplicate: str,
         allow_repeat: bool, lock: bool = True) -> tuple[list[dict], list[dict]]:
    """The drafts a delivery takes, and the skipped ones ({id, reason, supersede}); `lock` holds
    their contacts for the rest of the transaction first (a delivery that takes them in it)."""
    if lock:
        lock_contacts(conn, rows)
    if explicit:
        refuse_repeats(conn, rows, allow_repeat)
        skipped: list[dict] = []
    else:
        rows, skipped = drop_repeats(conn, rows, allow_repeat)
    keep, more = dedupe(rows, on_duplicate)
    if allow_repeat:
        for s in more:
            s["supersede"] = False
    return keep, skipped + more


def supersede(store: Store, conn: Connection, actor: User, draft_ids: list[int], *,
              reason: str, batch_id: int | None) -> list[int]:
    """Move approved drafts to superseded (through the lifecycle, audited); the ids that moved."""
    moved = lifecycle.move_many(conn, draft_ids, "supersede", actor.username,
                                details={"reason": reason, "batch_id": batch_id})
    return [d for d in draft_ids if d in moved]


def supersede_siblings(store: Store, conn: Connection, actor: User, rows: list[dict], *,
                       batch_id: int | None) -> list[int]:
    """The other approved variants (same job and contact) of delivered drafts become superseded."""
    ids: list[int] = []
    by_pair: dict[tuple[int, int], int] = {(r["job_id"], r["contact_id"]): r["draft_id"] for r in rows}
    for (job, contact), chosen in by_pair.items():
        others = [d for (d,) in conn.execute(sa.select(drafts.c.id).where(
            drafts.c.job_id == job, drafts.c.contact_id == contact, drafts.c.state == "approved",
            drafts.c.id != chosen))]
        ids += supersede(store, conn, actor, others, batch_id=batch_id,
                         reason=f"draft {chosen} of job {job} went to this contact")
    return ids


def repeats(conn: Connection, rows: list[dict], allow_repeat: bool) -> list[int]:
    """The drafts of `rows` whose contact already received a draft of their job (or gets one
    earlier in `rows`): ExportError unless `allow_repeat`. Ask with the contacts locked."""
    done = delivered(conn, rows)
    seen: set[tuple[int, int]] = set()
    again: list[int] = []
    for r in rows:
        pair = (r["job_id"], r["contact_id"])
        if pair in done or pair in seen:
            again.append(r["draft_id"])
        seen.add(pair)
    if again and not allow_repeat:
        raise ExportError(f"{len(again)} draft(s) would be a second email of a job to their contact "
                          f"(drafts {', '.join(map(str, again[:10]))}); nothing was taken.",
                          hint="Run it again: a contact who received a draft of the job is "
                               "skipped (or --allow-repeat, on purpose).")
    return again


def claim(conn: Connection, rows: list[dict], actor: User, action: str, *,
          allow_repeat: bool = False, **details) -> None:
    """Move every row's draft from approved by `action` ("export"), audited with `details`, or
    ExportError (nothing moves: the caller rolls back). The database refuses a second first
    delivery to a contact of a job (see the module)."""
    draft_ids = [r["draft_id"] for r in rows]
    try:
        moved = lifecycle.move_many(conn, draft_ids, action, actor.username, details=details,
                                    repeats=repeats(conn, rows, allow_repeat))
    except lifecycle.DeliveryConflict as exc:
        raise ExportError(exc.message, hint=exc.hint) from None
    if len(moved) != len(set(draft_ids)):
        raise ExportError("Some drafts changed (another export or send took them, or a "
                          "reviewer changed them) while this delivery ran; nothing was taken.",
                          hint="Run it again: it takes the drafts that are still approved.")


def skipped_report(skipped: list[dict[str, Any]]) -> list[dict]:
    """The skipped list as returned to callers (without the internal supersede flag)."""
    return [{"id": s["id"], "reason": s["reason"]} for s in skipped]
