"""Once per campaign: a contact who already received a campaign's follow-up is left out of the next
batch, and named.

`once` keeps a contact to one draft per generation job. A marketer who generates the same
follow-up again (a new job for the same CRM export, a week later) would otherwise send it twice:
here a campaign is the brand and the template of the draft, and a contact is its email address
(contacts are snapshotted per job, so their row ids differ from job to job). A draft so left out
becomes `superseded` (audited, with the draft that went earlier), unless the user asks for a
repeat on purpose (`allow_repeat`).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from brandvoice.errors import ExportError
from brandvoice.store import contacts, drafts, lifecycle


def _key(row: dict) -> tuple[str, str, str]:
    return ((row.get("brand") or "").strip().lower(), row.get("template_name") or "",
            (row.get("email") or "").strip().lower())


def earlier(conn: Connection, rows: list[dict]) -> dict[int, dict]:
    """draft id -> the draft of the same campaign (brand, template) that already went to the same
    address in another job: {"id", "job_id", "state"}."""
    wanted: dict[tuple[str, str], set[str]] = {}
    for r in rows:
        brand, template, email = _key(r)
        if email and template:
            wanted.setdefault((brand, template), set()).add(email)
    sent: dict[tuple[str, str, str], list[dict]] = {}
    for (brand, template), emails in wanted.items():
        addresses = sorted(emails)
        for i in range(0, len(addresses), 500):
            q = (sa.select(drafts.c.id, drafts.c.job_id, drafts.c.state, drafts.c.brand,
                           contacts.c.email)
                 .join(contacts, contacts.c.id == drafts.c.contact_id)
                 .where(drafts.c.template_name == template,
                        drafts.c.state.in_(lifecycle.DELIVERED),
                        sa.func.lower(contacts.c.email).in_(addresses[i:i + 500]))
                 .order_by(drafts.c.id))
            for d in conn.execute(q).mappings():
                if (d["brand"] or "").strip().lower() != brand:
                    continue
                sent.setdefault((brand, template, d["email"].strip().lower()), []).append(dict(d))
    out: dict[int, dict] = {}
    for r in rows:
        prior = [d for d in sent.get(_key(r), []) if d["job_id"] != r["job_id"]]
        if prior:
            out[r["draft_id"]] = prior[0]
    return out


def _reason(row: dict, prior: dict) -> str:
    return (f"{row['email']} already received the follow-up “{row['template_name']}” "
            f"(draft {prior['id']}, job {prior['job_id']})")


def drop_sent(conn: Connection, rows: list[dict], *, explicit: bool,
              allow_repeat: bool) -> tuple[list[dict], list[dict]]:
    """(the rows whose contact has not received this campaign's follow-up yet, the others as
    skipped entries {id, reason, supersede, repeat}); drafts asked for by id raise ExportError."""
    if allow_repeat or not rows:
        return rows, []
    prior = earlier(conn, rows)
    if not prior:
        return rows, []
    if explicit:
        lines = [f"draft {r['draft_id']}: {_reason(r, prior[r['draft_id']])}"
                 for r in rows if r["draft_id"] in prior]
        raise ExportError("A contact receives a campaign's follow-up once:\n"
                          + "\n".join(f"  - {x}" for x in lines[:20]),
                          hint="Leave them out, or send the follow-up again on purpose "
                               "(allow repeats).")
    keep = [r for r in rows if r["draft_id"] not in prior]
    skipped = [{"id": r["draft_id"], "reason": _reason(r, prior[r["draft_id"]]) + " (superseded)",
                "supersede": True, "repeat": True, "email": r["email"]}
               for r in rows if r["draft_id"] in prior]
    return keep, skipped
