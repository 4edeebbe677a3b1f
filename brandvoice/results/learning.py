"""Training that learns from what worked: the brand's sent drafts chosen by their real results.

A measured draft (sent in a batch that results came back for) that drew the chosen outcome (a
reply, a click or an open) joins the training side with the text the customer received (the
reviewer's final text), weighted above a reviewed draft: the market vouched for it. A measured
draft that drew no such outcome is left out of the feedback even when approved drafts are
included: it was tried and did not work. Drafts never measured stay as the review feedback has
them. The adapter's manifest records the metric, the imports and the drafts it learned from.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from brandvoice.errors import InputError
from brandvoice.results import report as report_mod
from brandvoice.store import Store, contacts, drafts, result_events

OUTCOME_WEIGHT = 3.0  # above an edited draft's 2.5: a customer answered it
METRICS = ("reply", "click", "open")
_COUNT = {"reply": "replies", "click": "clicks", "open": "opens"}
CHUNK = 500


def outcome_examples(store: Store, brand: str, *, metric: str = "reply") -> tuple[list, dict]:
    """(the brand's measured drafts that drew `metric` as corpus.Email, the record of the choice:
    metric, import ids, draft ids, how many were measured and left out)."""
    examples, record, _ = _choose(store, brand, metric)
    return examples, record


def _choose(store: Store, brand: str, metric: str) -> tuple[list, dict, set[int]]:
    """outcome_examples, and the ids of the measured drafts that did not draw the outcome."""
    from brandvoice.corpus import Email

    if metric not in METRICS:
        raise InputError(f"Training selects drafts by reply, click or open, not {metric!r}.",
                         hint="Use --from-results reply (or click, open).")
    people = report_mod.population(store, brand=brand)
    hits, misses = [], set()
    for d in people:
        counted, hit = report_mod.outcome(d["kinds"], metric)
        if counted and hit:
            hits.append(d["draft_id"])
        else:
            misses.add(d["draft_id"])
    rows, imports = _texts(store, hits, metric)
    out = []
    for r in rows:
        data = r.data or {}
        out.append(Email(subject=r.subject, body=r.body, brand=r.brand, campaign=r.template_name,
                         segment=data.get("lifecycle_stage") or None,
                         audience=data.get("job_title") or None, sent_at=r.updated_at, sends=1,
                         **{_COUNT[metric]: 1}, weight=OUTCOME_WEIGHT, source=f"draft:{r.id}"))
    record = {"metric": metric, "import_ids": imports, "draft_ids": [r.id for r in rows],
              "measured": len(people), "selected": len(out), "left_out": len(misses)}
    return out, record, misses


def _texts(store: Store, ids: list[int], metric: str) -> tuple[list, list[int]]:
    """The drafts' final texts and contact records, and the imports their outcomes came from."""
    kinds = {"open": ("open", "click", "reply")}.get(metric, (metric,))
    rows, imports = [], set()
    ids = sorted(ids)
    with store.read() as conn:
        for i in range(0, len(ids), CHUNK):
            part = ids[i:i + CHUNK]
            rows += conn.execute(
                sa.select(drafts.c.id, drafts.c.subject, drafts.c.body, drafts.c.brand,
                          drafts.c.template_name, drafts.c.updated_at, contacts.c.data)
                .join(contacts, contacts.c.id == drafts.c.contact_id)
                .where(drafts.c.id.in_(part)).order_by(drafts.c.id)).all()
            imports.update(r[0] for r in conn.execute(
                sa.select(result_events.c.import_id).distinct()
                .where(result_events.c.draft_id.in_(part), result_events.c.kind.in_(kinds))))
    return rows, sorted(imports)


def training_feedback(store: Store, config, *, metric: str) -> tuple[list, dict]:
    """The feedback of a run that learns from results: the outcome drafts, and the reviewed
    drafts (with `config.include_approved`) except those measured without the outcome."""
    from brandvoice import review

    chosen, record, misses = _choose(store, config.brand, metric)
    dropped = {f"draft:{i}" for i in misses}
    merged: dict[str, Any] = {e.source: e for e in chosen}
    if config.include_approved:
        for e in review.reviewed_examples(store, config.brand):
            if e.source not in dropped:
                merged.setdefault(e.source, e)
    return list(merged.values()), record


def submit_training(store: Store, settings, config, actor, *, metric: str = "reply") -> int:
    """Queue a training job as `actor` that learns from the brand's sent drafts by their results
    (see `training_feedback`); InputError when no measured draft drew the outcome yet."""
    from brandvoice import training

    feedback, record = training_feedback(store, config, metric=metric)
    if not record["selected"]:
        raise InputError(
            f"No sent draft of {config.brand} has a {metric} in the imported results yet "
            f"({record['measured']} measured).",
            hint="Import the campaign's results first (Results page, or `brandvoice results "
                 "import`), or train without learning from results.")
    return training.submit(store, settings, config, actor, feedback=feedback, results=record)
