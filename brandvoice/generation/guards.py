"""The guardrails of a brand, built from what its adapters learned from, and the guard a job uses.

Guardrails take emails, not adapters (they sit below training): this is where an adapter's
training and held-out emails become a brand's tone profile. Its negatives are the fixed off-brand
reference shipped with the project (guardrails/offbrand_samples.jsonl), never the other brands of
the workspace: a brand's verdicts do not change when another brand is trained beside it.

Generation stores a draft only with its guard's verdict. The guard is chosen by name
(Settings.guard, default "brand": `brand_guard`); another one plugs in the same way:

    from brandvoice.generation import guards

    guards.register("mine", lambda settings, brand, *, store, adapter: MyGuard(...))

A guard has `check(subject, body, contact, *, batch_contacts)`, `check_many(items, *,
batch_contacts)` (items: (subject, body, contact, model_texts)) returning guardrails.Verdict
objects, and `policy` (the brand's guardrails.Policy: its footer and sign-off complete a draft).
"""

from __future__ import annotations

from collections.abc import Callable

from brandvoice import training
from brandvoice.errors import ConfigError, NotFoundError
from brandvoice.guardrails import Guard


def brand_guard(settings, brand: str, *, store, adapter=None, embedder=None,
                tone: bool = True) -> Guard:
    """The brand's Guard: tone profile from `adapter` (an AdapterInfo, id or reference) or the
    brand's newest ready adapter; without one, tone is not checked (and says so)."""
    if isinstance(adapter, str | int):
        adapter = training.get_adapter(store, adapter)
    if adapter is None and store is not None:
        try:
            adapter = training.get_adapter(store, brand)
        except NotFoundError:
            adapter = None
    if adapter is None:
        return Guard.for_brand(settings, brand, store=store, embedder=embedder, tone=tone)
    return Guard.for_brand(
        settings, brand, store=store, embedder=embedder, tone=tone,
        training_emails=training.training_emails(adapter),
        heldout_emails=training.heldout_emails(adapter),
        adapter_id=adapter.id, origin=adapter.label)


BUILT_IN = ("brand",)
_FACTORIES: dict[str, Callable[..., Guard]] = {"brand": brand_guard}


def register(name: str, factory: Callable[..., Guard]) -> None:
    """Plug in a guard under `name`: `factory(settings, brand, *, store, adapter)` returns it."""
    _FACTORIES[name] = factory


def unregister(name: str) -> None:
    """Forget a plugged-in guard (the built-in one stays)."""
    if name not in BUILT_IN:
        _FACTORIES.pop(name, None)


def open_guard(settings, brand: str, *, store, adapter=None) -> Guard:
    """The guard Settings.guard names, for a brand (and an adapter: its tone profile)."""
    factory = _FACTORIES.get(settings.guard)
    if factory is None:
        raise ConfigError(f"Unknown guard {settings.guard!r} (BRANDVOICE_GUARD).",
                          hint=f"Use one of: {', '.join(sorted(_FACTORIES))}.")
    return factory(settings, brand, store=store, adapter=adapter)
