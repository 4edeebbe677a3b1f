"""Read-side views of the review queue: the queue page, one draft, and its full audit trail."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from brandvoice.errors import InputError, NotFoundError
from brandvoice.review.actions import STATES, allowed_actions
from brandvoice.store import (
    Store,
    adapters,
    audit,
    contacts,
    draft_versions,
    drafts,
    export_batches,
    export_items,
    guardrail_results,
    jobs,
    reviews,
)

_LIST_COLS = [drafts.c.id, drafts.c.job_id, drafts.c.state, drafts.c.verdict, drafts.c.tone_score,
              drafts.c.subject, drafts.c.brand, drafts.c.template_name, drafts.c.adapter_label,
              drafts.c.adapter_id, drafts.c.variant, drafts.c.attempt, drafts.c.parent_id,
              drafts.c.row_version, drafts.c.created_by, drafts.c.updated_at, drafts.c.updated_by,
              contacts.c.email, contacts.c.first_name, contacts.c.last_name, contacts.c.company]


def list_queue(store: Store, *, state: str | None = None, verdict: str | None = None,
               template: str | None = None, adapter: str | int | None = None,
               job_id: int | None = None, brand: str | None = None, limit: int = 50,
               offset: int = 0) -> tuple[list[dict], int]:
    """A page of drafts (oldest first) matching the filters, and the total number that match."""
    if state is not None and state not in STATES:
        raise InputError(f"Unknown state {state!r}.", hint=f"Use one of: {', '.join(STATES)}.")
    if verdict is not None and verdict not in ("pass", "warn", "fail"):
        raise InputError(f"Unknown verdict {verdict!r}.", hint="Use pass, warn or fail.")
    if limit < 1 or limit > 1000 or offset < 0:
        raise InputError(f"Bad page: limit={limit}, offset={offset}.",
                         hint="limit is 1..1000 and offset >= 0.")
    conds = []
    if state:
        conds.append(drafts.c.state == state)
    if verdict:
        conds.append(drafts.c.verdict == verdict)
    if template:
        conds.append(drafts.c.template_name == template)
    if adapter is not None:
        by_id = isinstance(adapter, int) or str(adapter).isdigit()
        conds.append(drafts.c.adapter_id == int(adapter) if by_id else drafts.c.adapter_label == adapter)
    if job_id is not None:
        conds.append(drafts.c.job_id == job_id)
    if brand:
        conds.append(drafts.c.brand == brand)
    where = sa.and_(sa.true(), *conds)
    with store.read() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(drafts).where(where)).scalar_one()
        # Page over draft ids first, then join the contact for just that page.
        page = sa.select(drafts.c.id).where(where).order_by(drafts.c.id).limit(limit).offset(offset)
        q = (sa.select(*_LIST_COLS)
             .select_from(drafts.join(contacts, contacts.c.id == drafts.c.contact_id))
             .where(drafts.c.id.in_(page.scalar_subquery())).order_by(drafts.c.id))
        rows = [dict(r) for r in conn.execute(q).mappings()]
    notes = check_notes(store, [r["id"] for r in rows])
    for r in rows:  # the verdict's reasons, reason first ("needs a look" says why)
        r["reasons"] = [n for n in notes.get(r["id"], []) if n["status"] != "pass"]
    return rows, total


_ORDER = {"fail": 0, "warn": 1, "pass": 2}
# What a passing draft's reader learns first: how close it sounds, and what the model wrote.
_PASS_NOTES = {("tone", "similarity"), ("quality", "model_text")}


def check_notes(store: Store, draft_ids: list[int]) -> dict[int, list[dict]]:
    """draft id -> the results of its newest check that a reader should see first: the failures,
    then what needs a look (each {status, check, rule, message}); for a draft that passed, the
    tone and what the model wrote. The verdict's reasons, reason first."""
    gr = guardrail_results
    out: dict[int, list[dict]] = {}
    ids = sorted({int(i) for i in draft_ids})
    with store.read() as conn:
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            newest = (sa.select(gr.c.draft_id, sa.func.max(gr.c.row_version).label("v"))
                      .where(gr.c.draft_id.in_(chunk)).group_by(gr.c.draft_id).subquery())
            q = (sa.select(gr.c.draft_id, gr.c.status, gr.c.check, gr.c.rule, gr.c.message)
                 .join(newest, sa.and_(gr.c.draft_id == newest.c.draft_id,
                                       gr.c.row_version == newest.c.v))
                 .order_by(gr.c.id))
            for r in conn.execute(q).mappings():
                out.setdefault(r["draft_id"], []).append(dict(r))
    for draft_id, results in out.items():
        problems = [r for r in results if r["status"] != "pass"]
        shown = problems or [r for r in results if (r["check"], r["rule"]) in _PASS_NOTES]
        out[draft_id] = sorted(shown, key=lambda r: _ORDER.get(r["status"], 3))
    return out


def _draft_row(conn: sa.Connection, draft_id: int) -> dict[str, Any]:
    row = conn.execute(sa.select(drafts).where(drafts.c.id == draft_id)).mappings().first()
    if row is None:
        raise NotFoundError(f"No draft with id {draft_id}.",
                            hint="List drafts with `brandvoice review list`.")
    return dict(row)


def _rows(conn: sa.Connection, q) -> list[dict]:
    return [dict(r) for r in conn.execute(q).mappings()]


def get_draft(store: Store, draft_id: int) -> dict:
    """One draft with its contact snapshot, guardrail results, text versions and review decisions."""
    with store.read() as conn:
        draft = _draft_row(conn, draft_id)
        c = conn.execute(sa.select(contacts).where(contacts.c.id == draft["contact_id"])).mappings().first()
        draft["contact"] = dict(c) if c else None
        draft["guardrails"] = _rows(conn, sa.select(guardrail_results)
                                    .where(guardrail_results.c.draft_id == draft_id)
                                    .order_by(guardrail_results.c.id))
        draft["versions"] = _rows(conn, sa.select(draft_versions)
                                  .where(draft_versions.c.draft_id == draft_id)
                                  .order_by(draft_versions.c.version))
        draft["reviews"] = _rows(conn, sa.select(reviews).where(reviews.c.draft_id == draft_id)
                                 .order_by(reviews.c.id))
    draft["allowed_actions"] = allowed_actions(draft["state"])
    return draft


def audit_trail(store: Store, draft_id: int) -> dict:
    """Everything that made and touched a draft, in one view.

    Keys: draft, adapter, template, generation, contact, guardrails, versions, decisions, exports,
    lineage (parent and children ids), events (the append-only audit log, oldest first).
    """
    d = get_draft(store, draft_id)
    with store.read() as conn:
        adapter = None
        if d["adapter_id"] is not None:
            a = conn.execute(sa.select(adapters).where(adapters.c.id == d["adapter_id"])).mappings().first()
            if a:
                adapter = {k: a[k] for k in ("id", "name", "version", "base_model", "quantization",
                                             "data_hash", "status", "path", "created_at")}
                adapter["label"] = f"{a['name']} v{a['version']}"
        if adapter is None:
            adapter = {"id": d["adapter_id"], "label": d["adapter_label"]}
        job = conn.execute(sa.select(jobs.c.id, jobs.c.kind, jobs.c.params, jobs.c.created_by,
                                     jobs.c.created_at).where(jobs.c.id == d["job_id"])).mappings().first()
        exports = _rows(conn, sa.select(export_batches.c.id, export_batches.c.profile,
                                        export_batches.c.created_by, export_batches.c.created_at,
                                        export_batches.c.file_hash, export_batches.c.path,
                                        export_batches.c.n_rows, export_items.c.position)
                        .join(export_items, export_items.c.batch_id == export_batches.c.id)
                        .where(export_items.c.draft_id == draft_id).order_by(export_batches.c.id))
        children = [r[0] for r in conn.execute(sa.select(drafts.c.id).where(drafts.c.parent_id == draft_id)
                                               .order_by(drafts.c.id))]
        events = _rows(conn, sa.select(audit).where(audit.c.draft_id == draft_id).order_by(audit.c.id))
    contact = d.pop("contact") or {}
    return {
        "draft": {k: d[k] for k in ("id", "state", "verdict", "tone_score", "subject", "body",
                                    "generated_subject", "generated_body", "brand", "variant",
                                    "attempt", "flags", "row_version", "created_by", "created_at",
                                    "updated_by", "updated_at", "allowed_actions")},
        "adapter": adapter,
        "template": {"name": d["template_name"], "hash": d["template_hash"]},
        "generation": {"job": dict(job) if job else {"id": d["job_id"]}, "settings": d["settings"],
                       "seed": d["seed"], "prompt": d["prompt"], "raw_output": d["raw_output"]},
        "contact": {"id": contact.get("id"), "key": contact.get("contact_key"),
                    "email": contact.get("email"), "snapshot": contact.get("data"),
                    "source_file": contact.get("source_file"), "row": contact.get("row_number")},
        "guardrails": d["guardrails"],
        "versions": d["versions"],
        "decisions": d["reviews"],
        "exports": exports,
        "lineage": {"parent_id": d["parent_id"], "children": children},
        "events": events,
    }


def filter_options(store: Store) -> dict[str, list[str]]:
    """The template names and adapter labels drafts carry, for the queue's filter boxes."""
    with store.read() as conn:
        return {name: sorted(v for (v,) in conn.execute(sa.select(col).distinct()) if v)
                for name, col in (("template", drafts.c.template_name),
                                  ("adapter", drafts.c.adapter_label))}


def queue_stamp(store: Store) -> tuple:
    """Changes whenever a draft is added or changed: a cache key for views over the queue."""
    with store.read() as conn:
        return tuple(conn.execute(sa.select(sa.func.count(), sa.func.max(drafts.c.updated_at),
                                            sa.func.sum(drafts.c.row_version))).one())
