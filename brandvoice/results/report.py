"""What worked: rates of the measured drafts per template, adapter version, base model, slot text,
fair-test arm and review outcome, with intervals and a plain sentence per comparison.

The measured drafts are every draft of the export batches that results were imported for: a draft
with no event in them was sent and drew no open, click or reply. Bounce rates are over the drafts
sent; the other rates over those delivered (sent minus bounced). A click or a reply shows the email
was opened, so it counts as an open too (open tracking misses many opens).

Each table compares every group with one reference: the earliest adapter version (a base model's
drafts first), the template's own text, drafts approved as is, or else the largest group. The
statistics are in `stats` (stats.RULE says the rule in words).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import sqlalchemy as sa

from brandvoice.errors import InputError
from brandvoice.results import stats
from brandvoice.store import Store, adapters, drafts, export_items, result_events, result_imports
from brandvoice.textio import compact_key
from brandvoice.training import brand_keys

CHUNK = 500
# metric -> (the event it counts, its plural for sentences, over sent or over delivered)
METRICS: dict[str, tuple[str, str, str]] = {
    "reply": ("reply", "replies", "delivered"),
    "open": ("open", "opens", "delivered"),
    "click": ("click", "clicks", "delivered"),
    "unsubscribe": ("unsubscribe", "unsubscribes", "delivered"),
    "bounce": ("bounce", "bounces", "sent"),
}
DIMENSIONS: dict[str, str] = {
    "adapter": "Adapter version", "template": "Template", "base_model": "Base model",
    "slot_source": "Slot text", "holdback": "Fair test (held-back contacts)",
    "review": "Review outcome",
}
MODEL_TEXT, TEMPLATE_TEXT = "model-written", "template text"
HELD_BACK, MODEL_ARM = "held back: template text", "model slots"
AS_IS, EDITED = "approved as is", "edited by a reviewer"


def measured_batches(conn) -> list[int]:
    """The export batches that any results import reported on."""
    out: set[int] = set()
    for (ids,) in conn.execute(sa.select(result_imports.c.batch_ids)):
        out.update(int(i) for i in ids or [])
    return sorted(out)


def _slot_groups(settings: dict) -> tuple[str, str | None]:
    """(slot text, fair-test arm) of a draft from its recorded settings."""
    slots = settings.get("slots")
    if not slots:  # a whole-email template: the model wrote all of it
        return MODEL_TEXT, None
    held = any(s.get("source") == "holdback" for s in slots)
    model = any(s.get("source") == "model" for s in slots)
    arm = None
    if float(settings.get("holdback") or 0) > 0:
        arm = HELD_BACK if held else MODEL_ARM
    return (MODEL_TEXT if model and not held else TEMPLATE_TEXT), arm


def population(store: Store, *, brand: str | None = None) -> list[dict[str, Any]]:
    """The measured drafts, each with its groups and the kinds of events it drew."""
    q = (sa.select(export_items.c.draft_id, export_items.c.batch_id, drafts.c.template_name,
                   drafts.c.adapter_label, drafts.c.brand, drafts.c.settings, drafts.c.subject,
                   drafts.c.body, drafts.c.generated_subject, drafts.c.generated_body,
                   adapters.c.base_model)
         .join(drafts, drafts.c.id == export_items.c.draft_id)
         .outerjoin(adapters, adapters.c.id == drafts.c.adapter_id))
    kinds: dict[int, set[str]] = defaultdict(set)
    with store.read() as conn:
        batches = measured_batches(conn)
        rows = []
        for i in range(0, len(batches), CHUNK):
            part = batches[i:i + CHUNK]
            rows += conn.execute(q.where(export_items.c.batch_id.in_(part))).all()
            for draft_id, kind in conn.execute(
                    sa.select(result_events.c.draft_id, result_events.c.kind).distinct()
                    .where(result_events.c.batch_id.in_(part))):
                kinds[draft_id].add(kind)
    want = brand_keys(brand) if brand else None
    out, seen = [], set()
    for r in rows:
        if r.draft_id in seen or (want and compact_key(r.brand) not in want):
            continue
        seen.add(r.draft_id)
        slot, arm = _slot_groups(r.settings or {})
        label = r.adapter_label or ""
        base = r.base_model or (label[5:] if label.startswith("base:") else label)
        edited = (r.subject, r.body) != (r.generated_subject, r.generated_body)
        out.append({"draft_id": r.draft_id, "batch_id": r.batch_id, "brand": r.brand,
                    "template": r.template_name,
                    "adapter": label, "base_model": base, "slot_source": slot, "holdback": arm,
                    "review": EDITED if edited else AS_IS, "kinds": kinds.get(r.draft_id, set())})
    return out


def outcome(kinds: set[str], metric: str) -> tuple[bool, bool]:
    """(counted in the denominator, an event of the metric) for one draft."""
    event, _, over = METRICS[metric]
    bounced = "bounce" in kinds
    if over == "sent":
        return True, bounced
    if bounced:
        return False, False
    if event == "open":
        return True, bool(kinds & {"open", "click", "reply"})
    return True, event in kinds


def _cell(k: int, n: int) -> dict[str, Any]:
    low, high = stats.wilson(k, n)
    return {"k": k, "n": n, "rate": k / n if n else None, "low": low, "high": high}


def version_key(label: str) -> tuple:
    """Sort key of an adapter label: a base model first, then by brand and version number."""
    name, _, version = label.rpartition(" v")
    if label.startswith("base:"):
        return (0, label, 0)
    return (1, name, int(version)) if version.isdigit() else (1, label, 0)


def _reference(dimension: str, groups: list[dict]) -> str:
    names = [g["group"] for g in groups]
    preferred = {"slot_source": TEMPLATE_TEXT, "holdback": HELD_BACK, "review": AS_IS}.get(dimension)
    if preferred in names:
        return preferred
    if dimension == "adapter":
        return min(names, key=version_key)
    return max(groups, key=lambda g: (g["n"], g["group"]))["group"]


def table(people: list[dict], dimension: str, metric: str) -> dict[str, Any]:
    """One dimension's groups (counts, rate, interval) and each group against the reference."""
    counts: dict[str, Counter] = defaultdict(Counter)
    for d in people:
        group = d[dimension]
        if group is None:
            continue
        counted, hit = outcome(d["kinds"], metric)
        counts[group]["n"] += counted
        counts[group]["k"] += hit and counted
    groups = [{"group": g, **_cell(c["k"], c["n"])} for g, c in counts.items()]
    groups.sort(key=lambda g: version_key(g["group"]) if dimension == "adapter" else (-g["n"],
                                                                                        g["group"]))
    out: dict[str, Any] = {"dimension": dimension, "title": DIMENSIONS[dimension], "groups": groups,
                           "reference": None, "comparisons": []}
    if len(groups) < 2:
        return out
    ref_name = _reference(dimension, groups)
    ref = next(g for g in groups if g["group"] == ref_name)
    others = [g for g in groups if g is not ref]
    tests = [stats.two_proportions(g["k"], g["n"], ref["k"], ref["n"]) for g in others]
    adjusted = stats.holm([t.p for t in tests])
    plural = METRICS[metric][1]
    for g, t, p in zip(others, tests, adjusted, strict=True):
        out["comparisons"].append({
            "group": g["group"], "reference": ref_name,
            "difference": (g["rate"] - ref["rate"]) if g["n"] and ref["n"] else None,
            "z": t.z, "p": t.p, "test": t.method, "p_adjusted": p, "tested": t.p is not None,
            "significant": p is not None and p < stats.ALPHA,
            "sentence": stats.sentence(g["group"], ref_name, plural, g, ref, t, p)})
    out["reference"] = ref_name
    return out


def report(store: Store, *, metric: str = "reply", brand: str | None = None,
           dimensions: list[str] | None = None) -> dict[str, Any]:
    """Rates of `metric` per dimension over the measured drafts (of one brand, if given)."""
    if metric not in METRICS:
        raise InputError(f"Unknown metric {metric!r}.", hint=f"Use one of: {', '.join(METRICS)}.")
    dims = dimensions or list(DIMENSIONS)
    bad = [d for d in dims if d not in DIMENSIONS]
    if bad:
        raise InputError(f"Unknown grouping {', '.join(bad)}.",
                         hint=f"Use one of: {', '.join(DIMENSIONS)}.")
    people = population(store)
    brands = sorted({d["brand"] for d in people if d["brand"]})
    if brand:
        want = brand_keys(brand)
        people = [d for d in people if compact_key(d["brand"]) in want]
    overall = {m: _cell(*_count(people, m)) for m in METRICS}
    return {"metric": metric, "brand": brand, "brands": brands, "drafts": len(people),
            "batches": sorted({d["batch_id"] for d in people}), "overall": overall,
            "tables": [table(people, d, metric) for d in dims], "rule": stats.RULE}


def _count(people: list[dict], metric: str) -> tuple[int, int]:
    k = n = 0
    for d in people:
        counted, hit = outcome(d["kinds"], metric)
        n += counted
        k += hit and counted
    return k, n
