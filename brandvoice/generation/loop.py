"""The inner loop of a generate job: pending drafts -> prompts -> backend -> parse -> guard -> store.

Each chunk of `batch_size` pending drafts is generated and guarded, then created in one
transaction (`store.lifecycle.create`: the draft, its generated version, its audit event) with its
guardrail results. A whole-email template's
output is parsed (malformed outputs retried with a fresh seed) and failing drafts are retried (best
attempt kept); a slot template's skeleton gets its slots filled (generation.slots). A (contact,
variant) that already has a draft is never generated again.

Fail closed: a draft is stored only with its guardrail verdict. The guard is the one Settings.guard
names (`guards.open_guard`); a guard that cannot be built or run fails the job, and a draft
without a verdict stops its chunk. The leakage check sees every contact of the job
(`batch_contacts`), not only the chunk being written.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from brandvoice import prompting
from brandvoice.errors import StateError, TemplateError
from brandvoice.generation.backends import GenOutput, GenRequest, open_backend, seed_for
from brandvoice.generation.guards import open_guard
from brandvoice.guardrails import verdict_rows
from brandvoice.prompting import shape
from brandvoice.store import Store, drafts, guardrail_results, lifecycle, utcnow

RANK = {"pass": 0, "warn": 1, None: 2, "fail": 3}


@dataclass
class Pending:
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


def _try(render, contact: dict):
    """render(contact), or the TemplateError it raised."""
    try:
        return render(contact)
    except TemplateError as exc:
        return exc


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
        self.unrendered = 0  # items whose contact could not be rendered (recorded, not generated)
        self.backend = None
        self.guard = None
        self.writer = None  # slot templates: the SkeletonWriter, with the backend
        self.slot_sources: list[str] = []  # "model" / "fallback" / "template" of every slot this run
        # the chunk decoding now: (drafts done before it, its size, total, left, when it started)
        self._chunk: tuple[int, int, int, int, float] = (0, 0, 0, 0, time.monotonic())
        self._step_at = 0.0
        self.batch_contacts: list[dict] | None = None  # every contact of the job (leakage check)
        self.quick_start = True  # a small first chunk
        # the brand's greeting, sign-off and footer, around what the model wrote
        self.profile = prompting.load_profile(store.settings.guardrails_dir, brand)

    # --- planning ------------------------------------------------------------------------------
    def existing(self, conn, contact_ids: list[int] | None = None) -> set[tuple[int, int]]:
        """(contact_id, variant) items of this job that already hold a generated draft."""
        q = sa.select(drafts.c.contact_id, drafts.c.variant).where(
            drafts.c.job_id == self.job_id, drafts.c.attempt == 0)
        if contact_ids is not None:
            q = q.where(drafts.c.contact_id.in_(contact_ids))
        return {(r.contact_id, r.variant) for r in conn.execute(q)}

    def pending(self, people: list[tuple[int, dict]], render) -> list[Pending]:
        """Slots without a draft, rendered (in the renderer's bounded worker: a contact whose
        rendering fails or hits a bound is recorded, the others go on; the job's cancel is checked
        while it waits); ordered by prompt length so batches pad little."""
        with self.store.read() as conn:
            have = self.existing(conn)
        todo = [(contact_id, contact, [v for v in range(self.config.variants)
                                       if (contact_id, v) not in have])
                for contact_id, contact in people]
        todo = [t for t in todo if t[2]]

        def tick() -> None:  # raises JobCancelled when a user cancelled the job
            self.reporter.update(metrics=self.metrics("rendering the template"))

        many = getattr(render, "many", None)
        contacts = [contact for _, contact, _ in todo]
        users = many(contacts, tick=tick) if many is not None else [_try(render, c) for c in contacts]
        items: list[Pending] = []
        for (contact_id, contact, variants), user in zip(todo, users, strict=True):
            if isinstance(user, TemplateError):
                self.render_failed.append({"key": contact.get("key"), "error": str(user)[:300]})
                self.unrendered += len(variants)
                self.reporter.log(f"Contact {contact.get('key')}: template failed to render: {user}")
                continue
            items.extend(Pending(contact_id, contact, v, user) for v in variants)
        items.sort(key=lambda s: len(getattr(s.user, "body", s.user)))  # little padding
        return items

    # --- generation ----------------------------------------------------------------------------
    def _generate(self, attempts: list[tuple[Pending, int]], system: str) -> list[GenOutput]:
        reqs = [GenRequest(system=system, user=s.user, tag=s,
                           seed=seed_for(self.config.seed, s.key, s.variant, a)) for s, a in attempts]
        t0 = time.perf_counter()
        outs = self.backend.generate(reqs)
        self.gen_seconds += time.perf_counter() - t0
        self.tokens += sum(o.new_tokens for o in outs)
        for (s, a), r, o in zip(attempts, reqs, outs, strict=True):
            s.history.append(f"attempt {a} seed {r.seed}: {o.new_tokens} tokens, {o.finish_reason}")
        return outs

    def _structured(self, item: Pending, out: GenOutput, attempt: int) -> dict:
        """One whole-email candidate, parsed, with the policy's greeting, sign-off and footer."""
        parsed = shape.parse_email(out.text)
        cand = {"parsed": parsed, "out": out, "verdict": None, "attempt": attempt,
                "seed": seed_for(self.config.seed, item.key, item.variant, attempt)}
        if parsed.ok:
            parsed.subject, parsed.body, paras = self.profile.structure(
                parsed.subject, parsed.body, item.contact)
            if not paras:
                parsed.problems.append("nothing between the greeting and the sign-off")
            parsed.added += ["greeting", "signature"] if self.profile.signature else ["greeting"]
            cand["model_texts"] = [parsed.subject, *paras]
            self.profile.complete(parsed)  # the footer
        return cand

    def produce(self, chunk: list[Pending], system: str) -> list[Pending]:
        """Fill every item of a chunk with its best candidate: k in the first round (best of k),
        then one more at a time while the best is malformed or fails, within max_tries/guard_tries."""
        if self.template.kind == "slots":
            return self.produce_slots(chunk)
        c = self.config
        todo = {id(item): item for item in chunk}
        first = True
        while todo:
            attempts = []
            for item in todo.values():
                for _ in range(c.candidates if first else 1):
                    attempts.append((item, item.attempt))
                    item.attempt += 1
            first = False
            outs = self._generate(attempts, system)
            cands = [(item, self._structured(item, out, a))
                     for (item, a), out in zip(attempts, outs, strict=True)]
            good = [(item, cand) for item, cand in cands if cand["parsed"].ok]
            if good and self.guard is not None:
                verdicts = self.guard.check_many(
                    [(cd["parsed"].subject, cd["parsed"].body, s.contact, cd.get("model_texts"))
                     for s, cd in good], batch_contacts=self.job_contacts(chunk))
                for (_item, cand), verdict in zip(good, verdicts, strict=True):
                    cand["verdict"] = verdict
            for item, cand in cands:
                self._keep_better(item, cand)
            again = {}
            for item in todo.values():
                best = item.best
                if best["parsed"].problems and item.malformed < c.max_tries:
                    again[id(item)] = item
                elif getattr(best["verdict"], "status", None) == "fail" and \
                        item.guard_failed < c.guard_tries:
                    again[id(item)] = item
            self.retries += len(again)
            todo = again
        return chunk

    @staticmethod
    def _keep_better(item: Pending, cand: dict) -> None:
        """Count the candidate's outcome and keep it if it beats the item's best so far."""
        if cand["parsed"].problems:
            item.malformed += 1
            if item.best is None or item.best["parsed"].problems:
                item.best = cand  # a malformed output is kept only while nothing better exists
            return
        status = getattr(cand["verdict"], "status", None)
        if status == "fail":
            item.guard_failed += 1
        best = item.best
        if best is None or best["parsed"].problems or \
                RANK[status] < RANK[getattr(best["verdict"], "status", None)]:
            item.best = cand

    def produce_slots(self, chunk: list[Pending]) -> list[Pending]:
        """Fill the slots of every skeleton in a chunk (best of k per slot), then guard the drafts."""
        from brandvoice.generation.slots import SkeletonWriter

        if self.writer is None:
            self.writer = SkeletonWriter(self.backend, self.guard, brand=self.brand,
                                         template=self.template, k=self.config.candidates,
                                         seed=self.config.seed, examples=self.slot_examples(),
                                         holdback=self.config.holdback)
        t0, tokens0 = time.perf_counter(), self.writer.tokens
        # (variant, attempt) picks the seeds: a regenerated draft gets other candidates
        filled = self.writer.fill([(item.user, item.contact, item.variant + 1000 * item.attempt)
                                   for item in chunk])
        self.gen_seconds += time.perf_counter() - t0
        self.tokens += self.writer.tokens - tokens0
        for item, f in zip(chunk, filled, strict=True):
            parsed = shape.ParsedEmail(subject=f["subject"], body=f["body"])
            self.profile.complete(parsed)  # the footer (and a missing sign-off)
            out = GenOutput(text=shape.format_email(parsed.subject, parsed.body),
                            prompt=f["prompts"], new_tokens=0)
            item.best = {"parsed": parsed, "out": out, "verdict": None, "attempt": 0,
                         "seed": self.config.seed, "parts": f["parts"],
                         "slots": [c.to_dict() for c in f["choices"]]}
            item.history.append("slots: " + ", ".join(f"{c.name} {c.source}" for c in f["choices"]))
        if self.guard is not None:
            verdicts = self.guard.check_many(
                [(i.best["parsed"].subject, i.best["parsed"].body, i.contact,
                  [s["text"] for s in i.best["slots"] if s["source"] == "model"]) for i in chunk],
                batch_contacts=self.job_contacts(chunk))
            for item, verdict in zip(chunk, verdicts, strict=True):
                item.best["verdict"] = verdict
        return chunk

    def slot_examples(self) -> int:
        """Brand lines per kind in the fill brief: as many as the adapter learned with (its
        manifest); the default for a base model."""
        from brandvoice.prompting import FILL_EXAMPLES

        if self.adapter is None:
            return FILL_EXAMPLES
        manifest = getattr(self.adapter, "manifest", None) or {}
        if manifest.get("slot_shape") != "fill":
            self.reporter.log(f"Adapter {self.adapter.label} learned an older slot brief than this "
                              "version asks in; its slots will be weaker until it is trained again.")
        return int((manifest.get("hyperparameters") or {}).get("slot_examples", 0))

    def job_contacts(self, chunk: list[Pending]) -> list[dict]:
        """The contacts another contact's data must not leak from: the whole job's."""
        if self.batch_contacts is None:
            raise StateError(f"Job {self.job_id}: the leakage check needs every contact of the job.")
        return self.batch_contacts

    # --- storing -------------------------------------------------------------------------------
    def _row(self, item: Pending) -> tuple[dict, Any, list[str]]:
        best = item.best
        parsed, out, verdict = best["parsed"], best["out"], best["verdict"]
        flags: list[str] = []
        malformed = bool(parsed.problems)
        if malformed:
            flags.append("malformed")
        if out.finish_reason == "length":
            flags.append("truncated")
        if best["attempt"] >= self.config.candidates and self.template.kind != "slots":
            flags.append("retried")
        if "signature" in parsed.added:  # the reviewer sees that the sign-off was not the model's
            flags.append("signature_added")
        slot_choices = best.get("slots") or []
        flags += [f"fallback:{s['name']}" for s in slot_choices if s["source"] == "fallback"]
        settings = {**self.config.recorded(), "serving": self.backend.info if self.backend else {},
                    "attempt": best["attempt"], "attempts": item.attempt,
                    "malformed_attempts": item.malformed, "guard_failed_attempts": item.guard_failed,
                    "new_tokens": out.new_tokens, "finish_reason": out.finish_reason,
                    "attempt_log": item.history}
        if slot_choices:
            settings["slots"] = slot_choices
        if item.contact.get("route"):  # a campaign's: which route chose this template
            settings["route"] = item.contact["route"]
        verdict_status = "fail" if malformed else getattr(verdict, "status", None)
        now = utcnow()
        row = dict(job_id=self.job_id, contact_id=item.contact_id, variant=item.variant, attempt=0,
                   brand=self.brand, subject=parsed.subject or "", body=parsed.body or "",
                   generated_subject=parsed.subject or "", generated_body=parsed.body or "",
                   raw_output=out.text, prompt=out.prompt, template_name=self.template.name,
                   template_hash=self.template.hash,
                   adapter_id=self.adapter.id if self.adapter is not None else None,
                   adapter_label=self.backend_label(), settings=settings, seed=best["seed"],
                   verdict=verdict_status, tone_score=getattr(verdict, "tone_score", None),
                   flags=flags, created_at=now, parts=best.get("parts"))
        return row, (None if malformed else verdict), parsed.problems

    def backend_label(self) -> str:
        if self.adapter is not None:
            return self.adapter.label
        return f"base:{self.base_model or self.store.settings.base_model}"

    def insert(self, chunk: list[Pending]) -> list[int]:
        """Store a chunk's drafts in one transaction (one insert per table for the whole chunk);
        items filled meanwhile are left alone."""
        with self.store.tx() as conn:
            have = self.existing(conn, sorted({s.contact_id for s in chunk}))
            rows, checks = [], []
            for item in chunk:
                if (item.contact_id, item.variant) in have:
                    self.reporter.log(f"Contact {item.key} variant {item.variant} already has a "
                                      "draft (another run filled it); keeping that one.")
                    continue
                row, verdict, problems = self._row(item)
                if not problems and verdict is None:
                    raise StateError(f"Job {self.job_id}: a draft for contact {item.key} has no "
                                     "guardrail verdict; nothing of this chunk was stored.",
                                     hint="Check the brand's guardrails (policy file, tone "
                                          "profile), then resume the job.")
                row["audit"] = dict(contact=item.key, variant=item.variant, seed=row["seed"],
                                    verdict=row["verdict"], flags=row["flags"])
                rows.append(row)
                checks.append((item, verdict, problems, row["created_at"]))
                have.add((item.contact_id, item.variant))
            if not rows:
                return []
            # the verdict is in each new row already; its results go in with it
            ids = lifecycle.create_many(conn, rows, self.created_by, job_id=self.job_id,
                                        adapter=rows[0]["adapter_label"],
                                        template=self.template.name,
                                        template_hash=self.template.hash)
            results = []
            for draft_id, (item, verdict, problems, now) in zip(ids, checks, strict=True):
                if problems:
                    results.append(dict(
                        draft_id=draft_id, row_version=1, check="format", rule="parse",
                        status="fail", score=None, message="Malformed output: " + "; ".join(problems),
                        details={"problems": problems, "attempts": item.attempt}, created_at=now))
                else:
                    results += verdict_rows(draft_id, 1, verdict, now)
            if results:
                conn.execute(guardrail_results.insert(), results)
        return ids

    # --- the loop ------------------------------------------------------------------------------
    def metrics(self, phase: str = "writing", left: int | None = None) -> dict[str, Any]:
        """What the job page shows while the job runs: the phase, speed, and an ETA once the
        first chunk is written (it measures this machine)."""
        secs = max(self.gen_seconds, 1e-9)
        rate = self.new_drafts / secs if self.new_drafts else None
        slots = self.slot_sources
        return {"intake": self.intake, "phase": phase, "new_drafts": self.new_drafts,
                "retries": self.retries, "new_tokens": self.tokens,
                "tokens_per_s": round(self.tokens / secs, 2) if self.tokens else None,
                "drafts_per_min": round(60 * rate, 2) if rate else None,
                "eta_s": round(left / rate, 1) if rate and left is not None else None,
                "slots_model": slots.count("model"), "slots_fallback": slots.count("fallback"),
                "slots_template": slots.count("template"),
                "slots_holdback": slots.count("holdback"),
                "serving": self.backend.info if self.backend else {}}

    def _on_step(self, step: int, budget: int) -> None:
        """Progress while a chunk decodes, from its first token: on a CPU a chunk of whole emails
        takes minutes, and progress that moves only when a chunk is stored sat at 0 for 280 s."""
        now = time.monotonic()
        if now - self._step_at < 1.0 and step < budget:
            return
        self._step_at = now
        done, n, total, left, started = self._chunk
        per_step = (now - started) / max(step, 1)
        after = -(-max(0, left - n) // max(1, self.config.batch_size))  # chunks still to come
        m = self.metrics("writing", left)
        m.update(partial=round(min(1.0, (done + n * min(1.0, step / max(budget, 1))) / total), 4)
                 if total else None, chunk_tokens=step, chunk_budget=budget,
                 chunk_drafts=n, eta_s=round(per_step * ((budget - step) + after * budget), 1))
        self.reporter.update(metrics=m)

    def run(self, people: list[tuple[int, dict]], *, render, system: str,
            shared: tuple | None = None) -> dict[str, Any]:
        """Generate every pending item, reporting each phase and each stored chunk; returns run
        statistics. `shared` is (backend, guard) already open (a campaign's templates share them):
        used, and left open for the caller to close."""
        total = len(people) * self.config.variants
        if self.batch_contacts is None:  # a campaign, or a part of a job, sets the whole job's
            self.batch_contacts = [c for _, c in people]
        items = self.pending(people, render)
        done = total - len(items) - self.unrendered
        self.reporter.update(done=done, total=total, metrics=self.metrics("starting"), force=True)
        if items:
            settings = self.store.settings
            self.reporter.log(f"{len(items)} of {total} drafts to generate ({self.config.backend}).")
            if shared:
                self.backend, self.guard = shared
            own = self.backend is None  # else the caller's, loaded once for many parts or templates
            if own:
                self.reporter.update(metrics=self.metrics("loading the model"), force=True)
                self.backend = open_backend(self.config, settings, adapter=self.adapter,
                                            base_model=self.base_model, brand=self.brand,
                                            log=self.reporter.log)
            if hasattr(self.backend, "on_step"):  # a backend that decodes here reports each step
                self.backend.on_step = self._on_step
            try:
                if self.guard is None:
                    self.reporter.update(metrics=self.metrics("loading the guardrails"), force=True)
                    self.guard = open_guard(settings, self.brand, store=self.store,
                                            adapter=self.adapter)
                if self.guard is None:
                    raise StateError(f"Job {self.job_id}: the guardrails of {self.brand} could not "
                                     "be loaded; no draft is stored without its checks.",
                                     hint="Check guardrails/<brand>.toml, then resume the job.")
                # The first chunk is small so that the first drafts (and a measured ETA) show
                # early (not in each part of a job the queue runs: its first part does that).
                first = max(1, min(2, self.config.batch_size)) if self.quick_start else 0
                chunks = [items[:first], *_chunks(items[first:], self.config.batch_size)]
                for chunk in [c for c in chunks if c]:
                    left = len(items) - self.new_drafts
                    self.reporter.update(metrics=self.metrics("writing", left), force=True)
                    self._chunk = (done, len(chunk), total, left, time.monotonic())
                    self.produce(chunk, system)
                    for item in chunk:
                        self.slot_sources += [s["source"] for s in (item.best or {}).get("slots", [])]
                    for _ in self.insert(chunk):
                        done += 1
                        self.new_drafts += 1
                    self.reporter.update(done=done, force=True, metrics=self.metrics(
                        "writing", len(items) - self.new_drafts))
            finally:
                if own:
                    self.backend.close()
        self.reporter.update(done=done, metrics=self.metrics("done", 0), force=True)
        return {**self.metrics("done", 0), "render_failed": self.render_failed}

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
