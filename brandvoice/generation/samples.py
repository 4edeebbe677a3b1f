"""Sample drafts of a new adapter beside the base model's, for the same brief and contact.

A perplexity ratio says the adapter learned the brand's words; only drafts say whether it writes
usable emails. `write_samples` writes a few drafts for one contact with the adapter and with its
base model alone (same template, same seeds, the brand's guardrails), and keeps them next to the
adapter (samples.json) so that the app shows them without loading a model again. It loads two
models: run it on a user's request (a button) or in a background job, never on a page load.

    result = generation.write_samples(store, adapter, template=info, contact=contact, n=2)
    generation.read_samples(adapter)   # the last result, or None
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from brandvoice import textio
from brandvoice.store import Store, utcnow

SAMPLES_FILE = "samples.json"


class _Quiet:
    """A job reporter that reports nowhere (samples are not a job)."""

    def log(self, _line: str) -> None:
        pass

    def update(self, **_kw: Any) -> None:
        pass


def _draft(item) -> dict[str, Any]:
    best = item.best or {}
    parsed, verdict = best.get("parsed"), best.get("verdict")
    results = [r.to_dict() for r in getattr(verdict, "results", [])] if verdict else []
    return {"subject": getattr(parsed, "subject", "") or "", "body": getattr(parsed, "body", "") or "",
            "problems": list(getattr(parsed, "problems", []) or []),
            "verdict": "fail" if getattr(parsed, "problems", None) else getattr(verdict, "status", None),
            "failed": [f"{r['check']}/{r['rule']}" for r in results if r["status"] == "fail"],
            "warned": [f"{r['check']}/{r['rule']}" for r in results if r["status"] == "warn"],
            "parts": best.get("parts"), "seed": best.get("seed")}


def _write(store: Store, config, *, template, adapter, base_model: str | None, brand: str,
           contact: dict, n: int, guard, progress=None) -> list[dict[str, Any]]:
    from brandvoice.generation.backends import open_backend
    from brandvoice.generation.batch import renderer
    from brandvoice.generation.loop import Loop, Pending
    from brandvoice.prompting import shape

    settings = store.settings
    loop = Loop(store, None, config, template=template, adapter=adapter, brand=brand,
                base_model=base_model, created_by=None, reporter=_Quiet(), intake={})
    user = renderer(settings, template, brand)(contact)
    items = [Pending(0, contact, variant, user) for variant in range(n)]
    loop.backend = open_backend(config, settings, adapter=adapter, base_model=base_model,
                                brand=brand)
    if progress is not None and hasattr(loop.backend, "on_step"):
        loop.backend.on_step = lambda step, budget: progress(min(1.0, step / max(budget, 1)))
    loop.guard = guard
    loop.batch_contacts = [contact]  # the samples' one contact: what the leakage check compares
    try:
        loop.produce(items, shape.system_prompt(brand))
    finally:
        loop.backend.close()
    return [_draft(item) for item in items]


# The share of the work each step takes (the two models' loads and their writing), for progress.
STEPS = (("Loading the guardrails", 0.0), ("Writing with the adapter", 0.1),
         ("Writing with the base model alone", 0.55), ("Done", 1.0))


def write_samples(store: Store, adapter, *, template, contact: dict, n: int = 2,
                  config=None, progress=None) -> dict[str, Any]:
    """n drafts for one contact with the adapter and n with its base model (same seeds), guarded;
    kept in the adapter's folder and returned. `progress(what, share)` is called as it goes: at
    each step and with every token the models write (a page shows it as it happens)."""
    from brandvoice.generation.batch import GenerationConfig
    from brandvoice.generation.guards import open_guard

    say = progress or (lambda _what, _share: None)
    # No merged copy: two drafts do not repay the merge check's extra generation.
    config = config or GenerationConfig(merge="no")
    brand = adapter.brand
    say(*STEPS[0])
    guard = open_guard(store.settings, brand, store=store, adapter=adapter)
    common = {"template": template, "brand": brand, "contact": contact, "n": n, "guard": guard}

    def steps(i: int):
        (what, start), (_, end) = STEPS[i], STEPS[i + 1]
        say(what, start)
        return lambda share: say(what, start + (end - start) * 0.9 * share)

    with_adapter = _write(store, config, adapter=adapter, base_model=None, progress=steps(1),
                          **common)
    base = _write(store, config, adapter=None, base_model=adapter.base_model, progress=steps(2),
                  **common)
    say(*STEPS[3])
    result = {
        "adapter": adapter.label, "adapter_id": adapter.id, "base_model": adapter.base_model,
        "template": template.name, "template_kind": template.kind, "brand": brand,
        "contact": {k: contact.get(k) for k in ("key", "first_name", "last_name", "company",
                                                "job_title", "email")},
        "with_adapter": with_adapter, "base": base, "created_at": utcnow(),
    }
    textio.write_json(Path(adapter.path) / SAMPLES_FILE, result)
    return result


def read_samples(adapter) -> dict[str, Any] | None:
    """The samples last written for an adapter, or None."""
    import json

    path = Path(adapter.path) / SAMPLES_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
