"""Regenerating one rejected draft: the request is recorded, a new variant written, guarded and linked.

The new draft uses the rejected draft's template, adapter, brand, contact snapshot and settings, with
fresh seeds; it is parsed (malformed output retried), guarded against every contact of its job and
stored together with its guardrail results (`add_regenerated`): never without a verdict.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from brandvoice.errors import InputError, ModelError, StateError
from brandvoice.prompting import shape
from brandvoice.review.actions import REGENERATE_ROLES, check_action, load
from brandvoice.review.checks import job_contacts
from brandvoice.store import Store, contacts, drafts, lifecycle, reviews, utcnow
from brandvoice.users import User, require_role

# Seeds of a regeneration never collide with the job's own attempts (0 .. max_tries + guard_tries).
SEED_STRIDE = 1000


class _NullReporter:
    def log(self, _line: str) -> None:
        pass

    def update(self, **_kw: Any) -> None:
        pass


def request_regeneration(store: Store, actor: User, draft_id: int) -> dict:
    """Record a request to regenerate a rejected draft; returns what the generator needs."""
    with store.tx() as conn:
        require_role(conn, actor, *REGENERATE_ROLES, action="regenerate drafts")
        draft = load(conn, draft_id)
        check_action(draft, "regenerate", None)
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


def add_regenerated(store: Store, parent_id: int, *, subject: str, body: str, verdict,
                    created_by: str | None = None, raw_output: str | None = None,
                    prompt: str | None = None, seed: int | None = None,
                    template_hash: str | None = None, adapter_id: int | None = None,
                    adapter_label: str | None = None, settings: dict | None = None) -> int:
    """Insert the new variant of a rejected draft (parent_id, attempt+1, pending) with its
    guardrail `verdict` (a guardrails.Verdict), in one transaction; returns its id."""
    from brandvoice.guardrails import store_results

    if verdict is None:
        raise StateError(f"The regenerated draft for {parent_id} has no guardrail verdict; it was "
                         "not stored.", hint="Check the brand's guardrails, then regenerate again.")
    if not subject.strip() or not body.strip():
        raise InputError(f"The regenerated draft for {parent_id} has an empty subject or body.")
    with store.tx() as conn:
        parent = load(conn, parent_id)
        if parent["state"] != "rejected":
            raise StateError(f"Draft {parent_id} is {parent['state']}; only a rejected draft is "
                             "regenerated.")
        attempt = _next_attempt(conn, parent)
        new_id = lifecycle.create(conn, dict(
            job_id=parent["job_id"], contact_id=parent["contact_id"], variant=parent["variant"],
            attempt=attempt, brand=parent["brand"], subject=subject, body=body,
            raw_output=raw_output, prompt=prompt, template_name=parent["template_name"],
            template_hash=template_hash or parent["template_hash"],
            adapter_id=adapter_id if adapter_id is not None else parent["adapter_id"],
            adapter_label=adapter_label or parent["adapter_label"],
            settings=settings if settings is not None else parent["settings"], seed=seed,
            verdict=None, flags=[], parent_id=parent_id), created_by,
            parent_id=parent_id, attempt=attempt, verdict=verdict.status, how="regenerate")
        store_results(store, conn, new_id, 1, verdict)
        store.audit(conn, "regenerated_child", actor=created_by, draft_id=parent_id, child_id=new_id)
    return new_id


def regenerate(store: Store, actor, draft_id: int) -> int:
    """Write a new variant of a rejected draft (request_regeneration + generate + guard); returns its id."""
    from brandvoice import prompting
    from brandvoice.generation import open_backend, open_guard
    from brandvoice.generation.batch import GenerationConfig, renderer
    from brandvoice.generation.loop import Loop, Pending

    req = request_regeneration(store, actor, draft_id)  # role and state checks, audit
    settings = store.settings
    template = prompting.get_template(req["template_name"], settings)
    known = set(GenerationConfig.model_fields)
    config = GenerationConfig.from_dict({k: v for k, v in (req["settings"] or {}).items() if k in known})
    adapter, base_model = None, None
    if req["adapter_id"] is not None:
        from brandvoice.training import adapters

        adapter = adapters.get_adapter(store, str(req["adapter_id"]))
    elif str(req["adapter_label"]).startswith("base:"):
        base_model = str(req["adapter_label"])[len("base:"):]
    brand = req["brand"] or (adapter.brand if adapter is not None else "")
    if not brand:
        raise StateError(f"Draft {draft_id} has no brand recorded; cannot regenerate it.")
    with store.read() as conn:  # each request gets its own seeds, even when an earlier one failed
        tries = conn.execute(sa.select(sa.func.count()).select_from(reviews).where(
            reviews.c.draft_id == draft_id, reviews.c.action == "regenerate")).scalar() or 0
    loop = Loop(store, req["job_id"], config, template=template, adapter=adapter, brand=brand,
                base_model=base_model, created_by=actor.username, reporter=_NullReporter(), intake={})
    loop.batch_contacts = job_contacts(store, req["job_id"])
    item = Pending(req["contact_id"], req["contact"], req["variant"],
                   renderer(settings, template, brand)(req["contact"]),
                   attempt=SEED_STRIDE * max(tries, 1))
    loop.backend = open_backend(config, settings, adapter=adapter, base_model=base_model, brand=brand)
    try:
        loop.guard = open_guard(settings, brand, store=store, adapter=adapter)
        loop.produce([item], shape.system_prompt(brand))
        row, verdict, problems = loop._row(item)
    finally:
        loop.backend.close()
    if problems:
        raise ModelError(f"Could not write a well-formed draft for draft {draft_id} in "
                         f"{item.malformed} tries ({'; '.join(problems)}).",
                         hint="Regenerate again (new seeds), or edit the draft by hand.")
    return add_regenerated(
        store, draft_id, subject=row["subject"], body=row["body"], verdict=verdict,
        created_by=actor.username, raw_output=row["raw_output"], prompt=row["prompt"],
        seed=row["seed"], template_hash=template.hash, adapter_id=row["adapter_id"],
        adapter_label=row["adapter_label"], settings=row["settings"])
