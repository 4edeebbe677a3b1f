"""Guard: a brand's policy, tone profile and personalization checks, loaded once, run per draft."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from brandvoice.guardrails import contact_facts
from brandvoice.guardrails.facts import unsupported
from brandvoice.guardrails.personalization import BatchIndex, PersonalizationChecker
from brandvoice.guardrails.policy import Policy, load_policy
from brandvoice.guardrails.quality import QualityChecker, known_words_of
from brandvoice.guardrails.slot_checks import (
    NEAR_COPY,
    SlotFacts,
    grounded_share,
    shape_similarity,
    slot_problems,
    templated,
    your_words,
)
from brandvoice.guardrails.text import tokenize
from brandvoice.guardrails.tone import ToneProfile, build_profile, email_text, load_offbrand
from brandvoice.guardrails.verdict import CheckResult, Verdict

log = logging.getLogger(__name__)


def _saved_profile(store, adapter_id: int | None, n_emails: int, profile: ToneProfile) -> None:
    """Record the profile in tone_profiles once per (adapter/brand, embedder, data, negatives)."""
    import sqlalchemy as sa

    from brandvoice.store import tone_profiles, utcnow

    cal = profile.calibration
    with store.tx() as conn:
        q = sa.select(tone_profiles.c.id, tone_profiles.c.calibration).where(
            tone_profiles.c.brand == profile.brand, tone_profiles.c.embedder == profile.embedder)
        q = q.where(tone_profiles.c.adapter_id == adapter_id) if adapter_id \
            else q.where(tone_profiles.c.adapter_id.is_(None))
        for row in conn.execute(q):
            c = row.calibration or {}
            same = ("data_hash", "negatives_hash", "k", "target", "threshold", "warn_threshold")
            if all(c.get(key) == cal.get(key) for key in same):
                return
        conn.execute(tone_profiles.insert().values(
            brand=profile.brand, adapter_id=adapter_id, embedder=profile.embedder,
            n_emails=n_emails, threshold=profile.threshold, calibration=cal,
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
        self._library = None
        self._your: set[str] | None = None
        self._quality: QualityChecker | None = None
        self._batch: tuple[list[dict], BatchIndex] | None = None
        self.contact_policy = contact_facts.ContactPolicy.of(policy.raw.get("contact", {}))
        self.now: datetime | None = None  # the send day drafts are checked for (None: now)

    def at(self, now: datetime | None) -> Guard:
        """Check drafts as of `now` (a campaign's send day): dates and the contact's record."""
        self.now = now
        if self._quality is not None:
            self._quality.today = now.date() if now else None
        return self

    def batch_index(self, batch_contacts: list[dict] | None) -> BatchIndex | None:
        """The index of a batch's contacts, built once per list: a job's chunks all pass the list
        of every contact of the job, and indexing thousands of names per chunk would dominate."""
        if not batch_contacts:
            return None
        if self._batch is None or self._batch[0] is not batch_contacts \
                or len(self._batch[1].contacts) != len(batch_contacts):
            self._batch = (batch_contacts, BatchIndex(list(batch_contacts)))
        return self._batch[1]

    @classmethod
    def for_brand(cls, settings, brand: str, *, store=None, embedder=None, training_emails=None,
                  heldout_emails=None, negative_emails=None, adapter_id: int | None = None,
                  origin: str = "emails given", tone: bool = True) -> Guard:
        """Load the brand's policy and build its tone profile from `training_emails` (calibrated on
        `heldout_emails` against the off-brand reference shipped in guardrails/, the same for every
        brand; `negative_emails` adds to it, for experiments only: production never passes other
        brands, so that a brand's verdicts do not depend on its neighbours).

        The caller gathers the emails (generation.brand_guard takes them from an adapter); with
        `store`, the profile's calibration is recorded in tone_profiles (for `adapter_id`).
        """
        policy = load_policy(settings.guardrails_dir, brand)
        train = list(training_emails or [])
        profile, note = None, ""
        if not tone:
            note = "Tone check switched off."
        elif len(train) < 3:
            # Stored with the draft and shown on pages: no command-line words here.
            note = (f"Tone not checked: no past emails of {brand} to compare with. Train an adapter "
                    "for the brand first.")
        else:
            if embedder is None:
                from brandvoice.guardrails.embedder import load_embedder

                embedder = load_embedder(settings)
            negatives = list(negative_emails or []) + load_offbrand(settings.guardrails_dir)
            cfg = policy.tone
            profile = build_profile(brand, train, list(heldout_emails or []), negatives, embedder,
                                    cache_dir=Path(settings.cache_dir), k=int(cfg.get("k", 5)),
                                    target=cfg.get("target", "f1"),
                                    min_recall=float(cfg.get("min_recall", 0.9)),
                                    warn_band=cfg.get("warn_band"))
            profile.calibration["source"] = origin
            if store is not None:
                _saved_profile(store, adapter_id, len(train), profile)
        checker = PersonalizationChecker(policy, train)
        return cls(brand, policy, checker, profile, embedder, note)

    @property
    def quality(self) -> QualityChecker:
        """The draft-level quality checks, built on the brand's vocabulary."""
        if self._quality is None:
            self._quality = QualityChecker(
                self.personalization.vocabulary | known_words_of([self.brand]),
                allowed_placeholders=self.personalization.allowed_placeholders,
                greeting_required=bool(self.policy.profile.greeting),
                boilerplate=self.policy.profile.boilerplate,
                model_text=self.policy.model_text,
                greeting_words=self.personalization.greeting_words,
                today=self.now.date() if self.now else None)
        return self._quality

    def check(self, subject: str, body: str, contact: dict, *,
              batch_contacts: list[dict] | None = None) -> Verdict:
        """All checks on one draft."""
        return self.check_many([(subject, body, contact)], batch_contacts=batch_contacts)[0]

    def check_many(self, items, batch_contacts: list[dict] | None = None, *,
                   tone: bool = True) -> list[Verdict]:
        """All checks on many drafts; tone embeddings are computed in batches.

        An item is (subject, body, contact) or (subject, body, contact, model_texts): the parts
        the model wrote, when the rest is the marketer's skeleton. `tone=False` leaves the tone
        check out (no embedder runs, no tone result); every other check runs as in production.
        """
        written = [list(it[3]) if len(it) > 3 and it[3] is not None else None for it in items]
        items = [(str(it[0] or ""), str(it[1] or ""), it[2] or {}) for it in items]
        batch = self.batch_index(batch_contacts)
        memo: dict = {}  # per-contact facts, shared by the drafts to the same contact
        tones = self._tone_results(items) if tone else [None] * len(items)
        out = []
        for (subject, body, contact), tone_result, model_texts in zip(items, tones, written,
                                                                      strict=True):
            results = [tone_result] if tone_result is not None else []
            results += self.policy.check(subject, body)
            plain = self.policy.untagged(subject)  # the brand's list tag is not a placeholder
            results += self.personalization.check(plain, body, contact, batch, memo,
                                                  written=model_texts)
            facts = self.personalization.contact_facts(contact, memo)
            results += self.quality.check(plain, body, facts.words, model_texts,
                                          self._own_text(facts))
            results += contact_facts.check(subject, body, contact, self.contact_policy,
                                           now=self.now)
            scored = tone_result is not None and self.tone is not None
            out.append(Verdict.of(results, tone_result.score if scored else None))
        return out

    def rules_only(self, items, batch_contacts: list[dict] | None = None) -> list[Verdict]:
        """The same checks as `check_many` without the tone check (no embedder)."""
        return self.check_many(items, batch_contacts, tone=False)

    def _tone_results(self, items: list[tuple[str, str, dict]]) -> list[CheckResult]:
        """The tone result of each draft: its embedding against the brand's profile, or a warning
        that tone was not checked (and why)."""
        if self.tone is None or not items:
            return [CheckResult("tone", "similarity", "warn", self.tone_note) for _ in items]
        emb = np.asarray(self.embedder.encode([email_text(s, b) for s, b, _ in items],
                                              batch_size=32, normalize_embeddings=True),
                         dtype=np.float32)
        return self.tone.results(emb)

    @property
    def slot_library(self):
        """The brand's own subjects, openings and asks (prompting.SlotLibrary of its emails)."""
        if self._library is None:
            from brandvoice.prompting import SlotLibrary

            training = self.personalization.training
            self._library = SlotLibrary(training.emails if training is not None else [])
        return self._library

    def slot_references(self, kind: str, campaign: str | None = None) -> list[str]:
        """What a good candidate looks like: the brand's lines of the kind for the campaign (or of
        all campaigns when it has few), mentions templated."""
        return [templated(x.text, x.mention) for x in self.slot_library.of(kind, campaign)]

    def _own_text(self, facts, *extra: str) -> str:
        """What a draft to this contact may name: its CRM row, the allow-list, the brand."""
        return " | ".join([*facts.trusted, *extra, self.brand, *self.policy.allowed_facts,
                           *self.personalization.allowed_names])

    @property
    def brand_your_words(self) -> set[str]:
        """What the brand's own emails say the reader has ("your close", "your controller")."""
        if self._your is None:
            training = self.personalization.training
            emails = training.emails if training is not None else []
            self._your = your_words(*(f"{e.subject}\n{e.body}" for e in emails))
        return self._your

    def slot_problems(self, text: str, spec, contact: dict, memo: dict | None = None, *,
                      campaign: str | None = None, context: str = "") -> list[str]:
        """Why a candidate for a slot (a prompting SlotSpec of a `campaign`'s template) must not
        enter this contact's draft; `context` is the email around the slot (the template's
        text), what the slot must follow from."""
        from brandvoice.prompting import SLOT_KINDS

        facts = self.personalization.contact_facts(contact or {}, memo)
        slot = SlotFacts(known_words=facts.words | self.personalization.vocabulary
                         | known_words_of([spec.mention, self.brand]), contact_words=facts.words,
                         own_text=self._own_text(facts, spec.mention or ""),
                         banned=self.policy.banned_re,
                         allowed_placeholders=self.personalization.allowed_placeholders,
                         assistant=self.policy.slot_assistant_re,
                         your=self.brand_your_words | your_words(context, spec.mention or "",
                                                                 *facts.trusted),
                         backing=facts.words | known_words_of([context]),
                         context="\n".join([context, *facts.trusted, *(
                             self.slot_references(spec.kind, campaign) if spec.kind == "ask"
                             else [])]) if context else "")

        def not_backed(t: str) -> list[str]:
            return [f["text"] for f in unsupported(t, facts.known, tokenize(t).set_low)]

        out = slot_problems(text, kind=spec.kind, words_max=spec.words, mention=spec.mention,
                            facts=slot, sentence=SLOT_KINDS[spec.kind].sentence,
                            unsupported=not_backed)
        refs = self.slot_references(spec.kind, campaign)
        if refs and not out:
            shape = shape_similarity(text, spec.mention, refs)
            if shape < self.policy.slot_min_shape:
                out.append(f"unlike the brand's own {spec.kind} lines for {campaign or 'this'} "
                           f"(closest {shape:.2f})")
            elif NEAR_COPY <= shape < 0.995:
                out.append(f"a brand line with words swapped (similarity {shape:.2f})")
            elif spec.kind == "subject" and context and self._past_subject(text):
                # A past email's subject, word for word, is about that email: it fits only where
                # all it speaks of is in this one ("The meadow walk, and your slope" on an open
                # day's follow-up); the brand's shape with this contact's mention is its own.
                share, loose = grounded_share(text, slot.context, spec.mention or "")
                if share < 1:
                    out.append(f"another email's subject ({', '.join(sorted(loose)[:3])} are not "
                               "in this one)")
        return out

    def _past_subject(self, text: str) -> bool:
        """Whether a text is one of the brand's past subjects, word for word."""
        key = " ".join(text.lower().split())
        return any(" ".join(x.text.lower().split()) == key
                   for x in self.slot_library.of("subject", None))

def tone_calibrations(store) -> dict:
    """The newest tone calibration per adapter id (key: the id) and per brand (key: ("brand", name))."""
    import sqlalchemy as sa

    from brandvoice.store import tone_profiles

    out: dict = {}
    with store.read() as conn:
        for r in conn.execute(sa.select(tone_profiles).order_by(tone_profiles.c.id)).mappings():
            out[r["adapter_id"] if r["adapter_id"] is not None else ("brand", r["brand"])] = dict(r)
    return out

