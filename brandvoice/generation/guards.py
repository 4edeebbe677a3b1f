"""The guardrails of a brand, built from what its adapters learned from.

Guardrails take emails, not adapters (they sit below training): this is where an adapter's
training and held-out emails become a brand's tone profile, and other brands' emails its negatives.
"""

from __future__ import annotations

import logging

from brandvoice import training
from brandvoice.errors import NotFoundError
from brandvoice.guardrails import Guard

log = logging.getLogger(__name__)


def _other_brand_emails(store, brand: str) -> list:
    """Emails of every other brand's latest ready adapter (negatives for calibration)."""
    out, seen = [], set(training.brand_keys(brand))  # its adapters, under any of its names
    for info in training.list_adapters(store):
        keys = training.brand_keys(info.name)
        if info.status != "ready" or keys & seen:
            continue
        seen |= keys
        try:
            out += training.training_emails(info) + training.heldout_emails(info)
        except Exception as exc:  # noqa: BLE001 - a broken other adapter must not block this brand
            log.warning("skipping %s as tone negatives: %s", info.label, exc)
    return out


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
        negative_emails=_other_brand_emails(store, brand) if tone else [],
        adapter_id=adapter.id, origin=adapter.label)
