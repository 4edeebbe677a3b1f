"""Regenerating one rejected draft: the review workflow records the request, this writes the new variant.

The new draft uses the rejected draft's template, adapter, brand, contact snapshot and settings, with
fresh seeds; it is parsed (malformed output retried), guarded and linked to its parent by
`actions.add_regenerated`.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from brandvoice.errors import ModelError, StateError
from brandvoice.prompting import shape
from brandvoice.review import actions
from brandvoice.store import Store, reviews

# Seeds of a regeneration never collide with the job's own attempts (0 .. max_tries + guard_tries).
SEED_STRIDE = 1000


class _NullReporter:
    def log(self, _line: str) -> None:
        pass

    def update(self, **_kw: Any) -> None:
        pass


def regenerate(store: Store, actor, draft_id: int) -> int:
    """Write a new variant of a rejected draft (request_regeneration + generate + guard); returns its id."""
    from brandvoice import prompting
    from brandvoice.generation.batch import GenerationConfig, renderer
    from brandvoice.generation.loop import Loop, Pending, open_backend, open_guard

    req = actions.request_regeneration(store, actor, draft_id)  # role and state checks, audit
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
    item = Pending(req["contact_id"], req["contact"], req["variant"],
                   renderer(settings, template, brand)(req["contact"]),
                   attempt=SEED_STRIDE * max(tries, 1))
    loop.backend = open_backend(config, settings, adapter=adapter, base_model=base_model, brand=brand)
    try:
        loop.guard, store_results = open_guard(settings, brand, store, adapter, lambda _line: None)
        loop.produce([item], shape.system_prompt(brand))
        row, verdict, problems = loop._row(item)
    finally:
        loop.backend.close()
    if problems:
        raise ModelError(f"Could not write a well-formed draft for draft {draft_id} in "
                         f"{item.malformed} tries ({'; '.join(problems)}).",
                         hint="Regenerate again (new seeds), or edit the draft by hand.")
    new_id = actions.add_regenerated(
        store, draft_id, subject=row["subject"], body=row["body"], created_by=actor.username,
        raw_output=row["raw_output"], prompt=row["prompt"], seed=row["seed"],
        template_hash=template.hash, adapter_id=row["adapter_id"], adapter_label=row["adapter_label"],
        settings=row["settings"])
    if verdict is not None and store_results is not None:
        with store.tx() as conn:
            store_results(store, conn, new_id, 1, verdict)
    return new_id
