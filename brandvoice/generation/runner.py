"""Running a generate job: the whole job in one process, or one part of it as the job queue runs
it (`parts`). A one-template batch and a campaign run the same way: the job's plan (`load_plan`:
settings, templates unchanged since submit, adapter, every contact snapshotted at submit) splits
the contacts by template (a campaign's contacts carry their route), and one backend and one guard
serve every template. A campaign renders and guards as of its send day.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from brandvoice import jobs
from brandvoice.config import Settings
from brandvoice.errors import NotFoundError, StateError
from brandvoice.generation.batch import GenerationConfig, _brand, _intake, renderer
from brandvoice.prompting import shape
from brandvoice.store import Store


class Offset:
    """A reporter for one template's share of a run: its counts shifted by the shares written
    before it, the run's total kept."""

    def __init__(self, reporter, offset: int, total: int):
        self.reporter, self.offset, self.total = reporter, offset, total

    def update(self, *, done: int | None = None, total: int | None = None, **kw) -> None:
        self.reporter.update(done=None if done is None else self.offset + done,
                             total=self.total, **kw)

    def log(self, line: str) -> None:
        self.reporter.log(line)


@dataclass
class JobPlan:
    """What every run of a generate job (the whole, or one part) needs, read from the store."""

    config: GenerationConfig
    templates: list[Any]  # a batch's one template, or a campaign's in its order
    adapter: Any
    brand: str
    people: list[tuple[int, dict]]  # (contacts.id, snapshot) of every contact of the job
    intake: dict
    params: dict
    as_of: datetime | None = None  # a campaign's send day

    @property
    def template(self):
        return self.templates[0]

    @property
    def campaign(self) -> bool:
        return bool(self.params.get("campaign"))

    @property
    def system(self) -> str:
        return shape.system_prompt(self.brand)

    def groups(self, people: list[tuple[int, dict]]) -> list[tuple[Any, list[tuple[int, dict]]]]:
        """`people` by the template that writes to them (a campaign: each contact's route)."""
        if not self.campaign:
            return [(self.template, people)] if people else []
        out = []
        for t in self.templates:
            group = [(i, c) for i, c in people if (c.get("route") or {}).get("template") == t.name]
            if group:
                out.append((t, group))
        return out

    def loop(self, store: Store, job_id: int, reporter, template=None):
        """A Loop over this job's drafts of one template, reporting to `reporter`."""
        from brandvoice.generation.loop import Loop

        p = self.params
        loop = Loop(store, job_id, self.config, template=template or self.template,
                    adapter=self.adapter, brand=self.brand, base_model=p.get("base_model"),
                    created_by=p.get("created_by"), reporter=reporter, intake=self.intake)
        loop.batch_contacts = [c for _, c in self.people]  # the leakage check sees the whole job
        return loop

    def render(self, settings: Settings, template=None):
        extra = {"now": self.as_of} if self.as_of is not None else None
        return renderer(settings, template or self.template, self.brand, extra)

    def write(self, store: Store, job_id: int, reporter, people: list[tuple[int, dict]], *,
              shared=None, quick_start: bool = True) -> tuple[dict[str, dict], Any]:
        """Write the missing drafts of `people`, template by template, with one backend and
        guard (`shared`, a holder with .backend and .guard kept open by its owner; else opened
        here and closed at the end). Returns (run statistics per template, the last loop)."""
        from brandvoice.generation.backends import open_backend
        from brandvoice.generation.guards import open_guard

        settings = store.settings
        groups = self.groups(people)
        total = len(people) * self.config.variants
        own = shared is None
        holder = shared if shared is not None else _Held()
        runs: dict[str, dict] = {}
        loop, offset = None, 0
        try:
            for info, group in groups:
                loop = self.loop(store, job_id, Offset(reporter, offset, total), info)
                loop.quick_start = quick_start and offset == 0
                if holder.backend is None:
                    reporter.update(metrics=loop.metrics("loading the model"), force=True)
                    holder.backend = open_backend(self.config, settings, adapter=self.adapter,
                                                  base_model=self.params.get("base_model"),
                                                  brand=self.brand,
                                                  log=getattr(holder, "log", reporter.log))
                if holder.guard is None:
                    reporter.update(metrics=loop.metrics("loading the guardrails"), force=True)
                    holder.guard = open_guard(settings, self.brand, store=store,
                                              adapter=self.adapter)
                    if holder.guard is None:
                        raise StateError(f"Job {job_id}: the guardrails of {self.brand} could not "
                                         "be loaded; no draft is stored without its checks.")
                if self.as_of is not None and hasattr(holder.guard, "at"):
                    holder.guard.at(self.as_of)
                if len(groups) > 1:
                    reporter.log(f"{info.name}: {len(group)} contacts.")
                runs[info.name] = loop.run(group, render=self.render(settings, info),
                                           system=self.system, shared=(holder.backend, holder.guard))
                offset += len(group) * self.config.variants
        finally:
            if own and holder.backend is not None:
                holder.backend.close()
        return runs, loop


class _Held:
    backend = None
    guard = None


def load_plan(store: Store, job_id: int, reporter) -> JobPlan:
    """A generate job's settings, templates (unchanged since submit), adapter and contacts."""
    from brandvoice import prompting

    job = jobs.get(store, job_id)
    p = job["params"]
    config = GenerationConfig.from_dict(p["config"])
    camp = p.get("campaign")
    wanted = camp["templates"] if camp else [{"name": p["template"], "hash": p.get("template_hash")}]
    templates = []
    for t in wanted:
        info = prompting.get_template(t["name"], store.settings)
        if t.get("hash") and info.hash != t["hash"]:
            raise StateError(f"Template {info.name!r} changed since job {job_id} started "
                             f"(hash {t['hash'][:12]} then, {info.hash[:12]} now).",
                             hint="Restore the template, or start a new job with the new version.")
        templates.append(info)
    adapter = None
    if p.get("adapter_id") is not None:
        from brandvoice.training import adapters

        try:
            adapter = adapters.get_adapter(store, str(p["adapter_id"]))
        except NotFoundError as exc:
            raise StateError(f"Adapter {p.get('adapter')} of job {job_id} no longer exists.") from exc
    brand = p.get("brand") or _brand(None, adapter)
    people, intake = _intake(store, job, reporter)
    day = datetime.fromisoformat(camp["as_of"].replace("Z", "+00:00")) if camp else None
    return JobPlan(config, templates, adapter, brand, people, intake, p, day)


def merged(runs: dict[str, dict]) -> dict:
    """A run's statistics over its templates: the counts added up."""
    if len(runs) == 1:
        return next(iter(runs.values()))
    out: dict[str, Any] = {"new_drafts": 0, "new_tokens": 0, "retries": 0, "render_failed": []}
    for r in runs.values():
        for k in ("new_drafts", "new_tokens", "retries"):
            out[k] += r.get(k) or 0
        out["render_failed"] += r.get("render_failed") or []
    return out


def run_job(store: Store, job_id: int, reporter) -> dict[str, Any]:
    """worker.HANDLERS["generate"]: write every missing draft of a batch or a campaign; safe to
    run again."""
    plan = load_plan(store, job_id, reporter)
    started = time.perf_counter()
    runs, loop = plan.write(store, job_id, reporter, plan.people)
    summary = (loop or plan.loop(store, job_id, reporter)).summary()
    summary.update(intake=plan.intake, run=merged(runs),
                   seconds=round(time.perf_counter() - started, 1))
    if plan.campaign:
        summary.update(template=", ".join(runs), runs=runs)
    return summary
