"""The inner loop of a generate job: pending slots -> prompts -> backend -> parse -> guard -> store.

Each chunk of `batch_size` slots is generated, parsed (malformed outputs retried with a fresh seed),
guarded (failing drafts retried, best attempt kept) and inserted in one transaction with its draft
version, guardrail results and audit event. Slots that already have a draft are never generated again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from brandvoice.errors import TemplateError
from brandvoice.generation.backends import GenOutput, GenRequest, open_backend, seed_for
from brandvoice.prompting import shape
from brandvoice.store import Store, draft_versions, drafts, guardrail_results, utcnow

RANK = {"pass": 0, "warn": 1, None: 2, "fail": 3}


@dataclass
class Slot:
    """One (contact, variant) to fill, and what its attempts produced so far."""

    contact_id: int
    contact: dict
    variant: int
    user: str
    attempt: int = 0
    malformed: int = 0
    guard_failed: int = 0
    best: dict | None = None
    history: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return str(self.contact.get("key") or self.contact.get("email") or self.contact_id)


def open_guard(settings, brand: str, store: Store, adapter, log):
    """(the brand's Guard, guardrails.store_results)."""
    from brandvoice import guardrails
    from brandvoice.generation.guards import brand_guard

    return brand_guard(settings, brand, store=store, adapter=adapter), guardrails.store_results


def _chunks(items: list, size: int):
    for i in range(0, len(items), size):
        yield items[i:i + size]


class Loop:
    """Generates and stores the missing drafts of one job."""

    def __init__(self, store: Store, job_id: int, config, *, template, adapter, brand: str,
                 base_model: str | None, created_by: str | None, reporter, intake: dict):
        self.store, self.job_id, self.config = store, job_id, config
        self.template, self.adapter, self.brand = template, adapter, brand
        self.base_model, self.created_by, self.reporter = base_model, created_by, reporter
        self.intake = intake
        self.tokens = 0
        self.gen_seconds = 0.0
        self.new_drafts = 0
        self.retries = 0
        self.render_failed: list[dict] = []
        self.unrendered = 0  # slots whose contact could not be rendered (recorded, not generated)
        self.backend = None
        self.guard = None
        self.store_results = None  # guardrails.store_results, with the guard

    # --- planning ------------------------------------------------------------------------------
    def existing(self, conn, contact_ids: list[int] | None = None) -> set[tuple[int, int]]:
        """(contact_id, variant) slots of this job that already hold a generated draft."""
        q = sa.select(drafts.c.contact_id, drafts.c.variant).where(
            drafts.c.job_id == self.job_id, drafts.c.attempt == 0)
        if contact_ids is not None:
            q = q.where(drafts.c.contact_id.in_(contact_ids))
        return {(r.contact_id, r.variant) for r in conn.execute(q)}

    def pending(self, people: list[tuple[int, dict]], render) -> list[Slot]:
        """Slots without a draft, rendered; ordered by prompt length so batches pad little."""
        with self.store.read() as conn:
            have = self.existing(conn)
        slots: list[Slot] = []
        for contact_id, contact in people:
            todo = [v for v in range(self.config.variants) if (contact_id, v) not in have]
            if not todo:
                continue
            try:
                user = render(contact)
            except TemplateError as exc:
                self.render_failed.append({"key": contact.get("key"), "error": str(exc)[:300]})
                self.unrendered += len(todo)
                self.reporter.log(f"Contact {contact.get('key')}: template failed to render: {exc}")
                continue
            slots.extend(Slot(contact_id, contact, v, user) for v in todo)
        slots.sort(key=lambda s: len(s.user))
        return slots

    # --- generation ----------------------------------------------------------------------------
    def _generate(self, slots: list[Slot], system: str) -> list[GenOutput]:
        reqs = [GenRequest(system=system, user=s.user, tag=s,
                           seed=seed_for(self.config.seed, s.key, s.variant, s.attempt)) for s in slots]
        t0 = time.perf_counter()
        outs = self.backend.generate(reqs)
        self.gen_seconds += time.perf_counter() - t0
        self.tokens += sum(o.new_tokens for o in outs)
        for s, r, o in zip(slots, reqs, outs, strict=True):
            s.history.append(f"attempt {s.attempt} seed {r.seed}: {o.new_tokens} tokens, {o.finish_reason}")
        return outs

    def _candidate(self, slot: Slot, out: GenOutput, parsed, verdict=None) -> dict:
        return {"parsed": parsed, "out": out, "verdict": verdict, "attempt": slot.attempt,
                "seed": seed_for(self.config.seed, slot.key, slot.variant, slot.attempt)}

    def produce(self, chunk: list[Slot], system: str) -> list[Slot]:
        """Fill every slot of a chunk with its best attempt (retrying malformed and failing drafts)."""
        c = self.config
        todo = list(chunk)
        while todo:
            outs = self._generate(todo, system)
            again: list[Slot] = []
            good: list[tuple[Slot, dict]] = []
            policy = getattr(self.guard, "policy", None)
            for slot, out in zip(todo, outs, strict=True):
                parsed = shape.parse_email(out.text)
                if parsed.ok:  # the brand's sign-off and footer, which training emails lack
                    shape.complete_brand_elements(parsed, policy)
                cand = self._candidate(slot, out, parsed)
                if not parsed.ok:
                    slot.malformed += 1
                    if slot.best is None or slot.best["parsed"].problems:
                        slot.best = cand  # a malformed output is kept only while nothing better exists
                    if slot.malformed < c.max_tries:
                        again.append(slot)
                    continue
                good.append((slot, cand))
            if good and self.guard is not None:
                items = [(cand["parsed"].subject, cand["parsed"].body, s.contact) for s, cand in good]
                verdicts = self.guard.check_many(items, batch_contacts=[s.contact for s in chunk])
                for (_slot, cand), verdict in zip(good, verdicts, strict=True):
                    cand["verdict"] = verdict
            for slot, cand in good:
                status = getattr(cand["verdict"], "status", None)
                best = slot.best
                if best is None or best["parsed"].problems or \
                        RANK[status] < RANK[getattr(best["verdict"], "status", None)]:
                    slot.best = cand
                if status == "fail":
                    slot.guard_failed += 1
                    if slot.guard_failed < c.guard_tries:
                        again.append(slot)
            for slot in again:
                slot.attempt += 1
                self.retries += 1
            todo = again
        return chunk

    # --- storing -------------------------------------------------------------------------------
    def _row(self, slot: Slot) -> tuple[dict, Any, list[str]]:
        best = slot.best
        parsed, out, verdict = best["parsed"], best["out"], best["verdict"]
        flags: list[str] = []
        malformed = bool(parsed.problems)
        if malformed:
            flags.append("malformed")
        elif self.guard is None:
            flags.append("unchecked")
        if out.finish_reason == "length":
            flags.append("truncated")
        if best["attempt"] > 0:
            flags.append("retried")
        if "signature" in parsed.added:  # the reviewer sees that the sign-off was not the model's
            flags.append("signature_added")
        settings = {**self.config.to_dict(), "serving": self.backend.info if self.backend else {},
                    "attempt": best["attempt"], "attempts": slot.attempt + 1,
                    "malformed_attempts": slot.malformed, "guard_failed_attempts": slot.guard_failed,
                    "new_tokens": out.new_tokens, "finish_reason": out.finish_reason,
                    "attempt_log": slot.history}
        verdict_status = "fail" if malformed else getattr(verdict, "status", None)
        now = utcnow()
        row = dict(job_id=self.job_id, contact_id=slot.contact_id, variant=slot.variant, attempt=0,
                   brand=self.brand, subject=parsed.subject or "", body=parsed.body or "",
                   generated_subject=parsed.subject or "", generated_body=parsed.body or "",
                   raw_output=out.text, prompt=out.prompt, template_name=self.template.name,
                   template_hash=self.template.hash,
                   adapter_id=self.adapter.id if self.adapter is not None else None,
                   adapter_label=self.backend_label(), settings=settings, seed=best["seed"],
                   state="pending", verdict=verdict_status,
                   tone_score=getattr(verdict, "tone_score", None), flags=flags, row_version=1,
                   created_by=self.created_by, created_at=now, updated_at=now)
        return row, (None if malformed else verdict), parsed.problems

    def backend_label(self) -> str:
        if self.adapter is not None:
            return self.adapter.label
        return f"base:{self.base_model or self.store.settings.base_model}"

    def insert(self, chunk: list[Slot]) -> list[int]:
        """Store a chunk's drafts in one transaction; slots filled meanwhile are left alone."""
        ids: list[int] = []
        with self.store.tx() as conn:
            have = self.existing(conn, sorted({s.contact_id for s in chunk}))
            for slot in chunk:
                if (slot.contact_id, slot.variant) in have:
                    self.reporter.log(f"Slot contact {slot.key} variant {slot.variant} already has a "
                                      "draft (another run filled it); keeping that one.")
                    continue
                row, verdict, problems = self._row(slot)
                draft_id = conn.execute(drafts.insert().values(**row)).inserted_primary_key[0]
                conn.execute(draft_versions.insert().values(
                    draft_id=draft_id, version=1, subject=row["subject"], body=row["body"],
                    author=None, kind="generated", created_at=row["created_at"]))
                if problems:
                    conn.execute(guardrail_results.insert().values(
                        draft_id=draft_id, row_version=1, check="format", rule="parse", status="fail",
                        score=None, message="Malformed output: " + "; ".join(problems),
                        details={"problems": problems, "attempts": slot.attempt + 1},
                        created_at=row["created_at"]))
                elif verdict is not None and self.store_results is not None:
                    self.store_results(self.store, conn, draft_id, 1, verdict)
                self.store.audit(conn, "draft.generated", actor=self.created_by, draft_id=draft_id,
                                 job_id=self.job_id, contact=slot.key, variant=slot.variant,
                                 adapter=row["adapter_label"], template=self.template.name,
                                 template_hash=self.template.hash, seed=row["seed"],
                                 verdict=row["verdict"], flags=row["flags"])
                have.add((slot.contact_id, slot.variant))
                ids.append(draft_id)
        return ids

    # --- the loop ------------------------------------------------------------------------------
    def metrics(self) -> dict[str, Any]:
        secs = max(self.gen_seconds, 1e-9)
        return {"intake": self.intake, "new_drafts": self.new_drafts, "retries": self.retries,
                "new_tokens": self.tokens, "tokens_per_s": round(self.tokens / secs, 2),
                "drafts_per_min": round(60 * self.new_drafts / secs, 2),
                "serving": self.backend.info if self.backend else {}}

    def run(self, people: list[tuple[int, dict]], *, render, system: str) -> dict[str, Any]:
        """Generate every pending slot; returns run statistics."""
        total = len(people) * self.config.variants
        slots = self.pending(people, render)
        done = total - len(slots) - self.unrendered
        self.reporter.update(done=done, total=total, metrics=self.metrics(), force=True)
        if slots:
            settings = self.store.settings
            self.reporter.log(f"{len(slots)} of {total} drafts to generate ({self.config.backend}).")
            self.backend = open_backend(self.config, settings, adapter=self.adapter,
                                        base_model=self.base_model, brand=self.brand, log=self.reporter.log)
            try:
                self.guard, self.store_results = open_guard(settings, self.brand, self.store,
                                                            self.adapter, self.reporter.log)
                for chunk in _chunks(slots, self.config.batch_size):
                    self.produce(chunk, system)
                    for _ in self.insert(chunk):
                        done += 1
                        self.new_drafts += 1
                        self.reporter.update(done=done, metrics=self.metrics())
            finally:
                self.backend.close()
        self.reporter.update(done=done, metrics=self.metrics(), force=True)
        return {**self.metrics(), "render_failed": self.render_failed}

    def summary(self) -> dict[str, Any]:
        """Counts over all drafts of the job (this run and earlier ones)."""
        with self.store.read() as conn:
            rows = conn.execute(sa.select(drafts.c.verdict, drafts.c.flags)
                                .where(drafts.c.job_id == self.job_id)).all()
        verdicts: dict[str, int] = {}
        for r in rows:
            verdicts[r.verdict or "unchecked"] = verdicts.get(r.verdict or "unchecked", 0) + 1
        return {"drafts": len(rows), "verdicts": verdicts,
                "malformed": sum("malformed" in (r.flags or []) for r in rows),
                "adapter": self.backend_label(), "template": self.template.name,
                "template_hash": self.template.hash, "backend": self.config.backend}
