"""Guard: a brand's policy, tone profile and personalization checks, loaded once, run per draft."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from brandvoice.errors import NotFoundError
from brandvoice.guardrails.personalization import BatchIndex, PersonalizationChecker
from brandvoice.guardrails.policy import Policy, load_policy, slug
from brandvoice.guardrails.tone import ToneProfile, build_profile, email_text, load_offbrand
from brandvoice.guardrails.verdict import CheckResult, Verdict

log = logging.getLogger(__name__)


@dataclass
class BrandEmails:
    """Where a brand's tone profile comes from."""

    train: list
    heldout: list
    adapter_id: int | None = None
    origin: str = ""


def _brand_emails(store, brand: str, adapter, training_emails, heldout_emails) -> BrandEmails | None:
    if training_emails is not None:
        return BrandEmails(list(training_emails), list(heldout_emails or []), None, "emails given")
    if adapter is None and store is None:
        return None
    from brandvoice import adapters

    if isinstance(adapter, str | int):
        adapter = adapters.get_adapter(store, adapter)
    if adapter is None:
        try:
            adapter = adapters.get_adapter(store, brand)
        except NotFoundError:
            return None
    return BrandEmails(adapters.training_emails(adapter), adapters.heldout_emails(adapter),
                       adapter.id, adapter.label)


def _other_brand_emails(store, brand: str) -> list:
    """Emails of every other brand's latest ready adapter (negatives for calibration)."""
    if store is None:
        return []
    from brandvoice import adapters

    out, seen = [], {slug(brand)}
    for info in adapters.list_adapters(store):
        if info.status != "ready" or slug(info.name) in seen:
            continue
        seen.add(slug(info.name))
        try:
            out += adapters.training_emails(info) + adapters.heldout_emails(info)
        except Exception as exc:  # noqa: BLE001 - a broken other adapter must not block this brand
            log.warning("skipping %s as tone negatives: %s", info.label, exc)
    return out


def _saved_profile(store, emails: BrandEmails, profile: ToneProfile) -> None:
    """Record the profile in tone_profiles once per (adapter/brand, embedder, data, negatives)."""
    import sqlalchemy as sa

    from brandvoice.store import tone_profiles, utcnow

    cal = profile.calibration
    with store.tx() as conn:
        q = sa.select(tone_profiles.c.id, tone_profiles.c.calibration).where(
            tone_profiles.c.brand == profile.brand, tone_profiles.c.embedder == profile.embedder)
        q = q.where(tone_profiles.c.adapter_id == emails.adapter_id) if emails.adapter_id \
            else q.where(tone_profiles.c.adapter_id.is_(None))
        for row in conn.execute(q):
            c = row.calibration or {}
            same = ("data_hash", "negatives_hash", "k", "target", "threshold", "warn_threshold")
            if all(c.get(key) == cal.get(key) for key in same):
                return
        conn.execute(tone_profiles.insert().values(
            brand=profile.brand, adapter_id=emails.adapter_id, embedder=profile.embedder,
            n_emails=len(emails.train), threshold=profile.threshold, calibration=cal,
            path=profile.path, created_at=utcnow()))


class Guard:
    """All guardrails for one brand. Build with `Guard.for_brand`, then `check` / `check_many`."""

    def __init__(self, brand: str, policy: Policy, personalization: PersonalizationChecker,
                 tone: ToneProfile | None = None, embedder: Any = None, tone_note: str = ""):
        self.brand = brand
        self.policy = policy
        self.personalization = personalization
        self.tone = tone
        self.embedder = embedder
        self.tone_note = tone_note

    @classmethod
    def for_brand(cls, settings, brand: str, *, store=None, adapter=None, embedder=None,
                  training_emails=None, heldout_emails=None, negative_emails=None,
                  tone: bool = True) -> Guard:
        """Load the brand's policy and tone profile (from the adapter's emails, the brand's latest
        ready adapter, or `training_emails`); other brands and generic copy calibrate the threshold."""
        policy = load_policy(settings.guardrails_dir, brand)
        emails = _brand_emails(store, brand, adapter, training_emails, heldout_emails)
        profile, note = None, ""
        if not tone:
            note = "Tone check switched off."
        elif emails is None or len(emails.train) < 3:
            note = (f"Tone not checked: no past emails of {brand} to compare with. Train an adapter "
                    "for the brand, or pass its past emails (--emails).")
        else:
            if embedder is None:
                from brandvoice.guardrails.embedder import load_embedder

                embedder = load_embedder(settings)
            negatives = list(negative_emails) if negative_emails is not None \
                else _other_brand_emails(store, brand)
            negatives += load_offbrand(settings.guardrails_dir)
            cfg = policy.tone
            profile = build_profile(brand, emails.train, emails.heldout, negatives, embedder,
                                    cache_dir=Path(settings.cache_dir), k=int(cfg.get("k", 5)),
                                    target=cfg.get("target", "f1"),
                                    min_recall=float(cfg.get("min_recall", 0.9)),
                                    warn_band=cfg.get("warn_band"))
            profile.calibration["source"] = emails.origin
            if store is not None:
                _saved_profile(store, emails, profile)
        checker = PersonalizationChecker(policy, emails.train if emails else [])
        return cls(brand, policy, checker, profile, embedder, note)

    def check(self, subject: str, body: str, contact: dict, *,
              batch_contacts: list[dict] | None = None) -> Verdict:
        """All checks on one draft."""
        return self.check_many([(subject, body, contact)], batch_contacts=batch_contacts)[0]

    def check_many(self, items, batch_contacts: list[dict] | None = None) -> list[Verdict]:
        """All checks on many drafts; tone embeddings are computed in batches."""
        items = [(str(s or ""), str(b or ""), c or {}) for s, b, c in items]
        batch = BatchIndex(list(batch_contacts)) if batch_contacts else None
        memo: dict = {}  # per-contact facts, shared by the drafts to the same contact
        tone_results: list[CheckResult | None] = [None] * len(items)
        if self.tone is not None and items:
            emb = np.asarray(self.embedder.encode([email_text(s, b) for s, b, _ in items],
                                                  batch_size=32, normalize_embeddings=True),
                             dtype=np.float32)
            tone_results = self.tone.results(emb)
        out = []
        for (subject, body, contact), tone in zip(items, tone_results, strict=True):
            results = [tone] if tone is not None else [
                CheckResult("tone", "similarity", "warn", self.tone_note)]
            results += self.policy.check(subject, body)
            results += self.personalization.check(subject, body, contact, batch, memo)
            out.append(Verdict.of(results, tone.score if tone is not None else None))
        return out

    def rules_only(self, items, batch_contacts: list[dict] | None = None) -> list[Verdict]:
        """Policy and personalization checks without the tone check (no embedder)."""
        batch = BatchIndex(list(batch_contacts)) if batch_contacts else None
        memo: dict = {}
        return [Verdict.of(self.policy.check(s, b) + self.personalization.check(s, b, c or {}, batch, memo))
                for s, b, c in items]
