"""Campaigns: a set of templates, every contact routed to one of them (generation.routing), then
one generate job that writes each contact's draft with its own template.

    p = campaign.preview_plan(settings, crm="crm.csv", activities="acts.csv",
                              templates=["ledgerly_after_demo", ...], as_of=day)
    job_id = campaign.submit(store, settings, actor=user, crm=..., templates=[...],
                             moves={"none:too_old": "ledgerly_after_content_download"},
                             excludes=["ledgerly_missed_meeting"], as_of=day, adapter="ledgerly")

`preview_plan` reads the files and writes nothing. `submit` computes the same plan again from the
same files and choices (what the marketer saw is what runs), checks the acting user, snapshots the
routed contacts with their route and queues one job; its audit event names the templates, the
moves and the excludes. The job renders each contact's template as of the plan's send day
(`as_of`: relative dates, the recency windows and the guardrails' date checks all count from it),
and every draft keeps its route in its settings (settings["route"]).
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from brandvoice import jobs
from brandvoice.config import Settings
from brandvoice.errors import InputError, StateError
from brandvoice.generation import routing
from brandvoice.store import Store
from brandvoice.users import User, require


def _templates(settings: Settings, names: list[str]) -> list:
    from brandvoice import prompting

    return [prompting.get_template(n, settings) for n in dict.fromkeys(names)]


def _day(as_of: datetime | None) -> datetime:
    if as_of is None:
        return datetime.now(timezone.utc)
    return as_of if as_of.tzinfo else as_of.replace(tzinfo=timezone.utc)


def _import(crm: str | Path, activities: str | Path | None, mapping, unmap_optout=()):
    from brandvoice import crm as crm_mod
    from brandvoice.generation.batch import _input_paths

    paths = _input_paths(crm, activities)
    result = crm_mod.import_contacts(paths["CRM file"], activities=paths.get("activities file"),
                                     mapping=mapping, unmap_optout=unmap_optout)
    return paths, result


def plan_for(result, templates: list, *, as_of: datetime | None = None,
             moves: dict[str, str] | None = None, excludes=()) -> routing.Plan:
    """The plan of an import (crm.ImportResult) for a campaign's templates (TemplateInfo)."""
    return routing.plan(result.contacts, templates, now=_day(as_of),
                        opted_out=routing.opted_out_rows(result.excluded),
                        problems=len(result.problems), moves=moves, excludes=excludes)


def preview_plan(settings: Settings, *, crm: str | Path, templates: list[str],
                 activities: str | Path | None = None, mapping=None,
                 as_of: datetime | None = None, moves: dict[str, str] | None = None,
                 excludes=(), unmap_optout: list[str] | tuple[str, ...] = ()) -> routing.Plan:
    """Who would get which template, and who none and why: no model, nothing written."""
    _, result = _import(crm, activities, mapping, unmap_optout)
    return plan_for(result, _templates(settings, templates), as_of=as_of, moves=moves,
                    excludes=excludes)


def submit(store: Store, settings: Settings, *, actor: User, crm: str | Path, templates: list[str],
           activities: str | Path | None = None, adapter: str | None = None,
           base_model: str | None = None, brand: str | None = None, config=None, mapping=None,
           as_of: datetime | None = None, moves: dict[str, str] | None = None,
           excludes=(), unmap_optout: list[str] | tuple[str, ...] = ()) -> int:
    """Route the CRM export's contacts over the campaign's templates and queue one generate job
    for the routed ones, as `actor` (a marketer or an admin; checked and audited)."""
    from brandvoice.crm.profiles import load_mapping
    from brandvoice.generation.batch import PARAMS_VERSION, GenerationConfig, _adapter, _brand

    require(store, actor, "generate", action="generate drafts")
    if isinstance(mapping, (str, Path)):
        mapping = load_mapping(mapping)
    config = config if isinstance(config, GenerationConfig) else GenerationConfig.from_dict(config)
    infos = _templates(settings, templates)
    if config.holdback and any(t.kind != "slots" for t in infos):
        raise InputError("A fair test holds contacts back with a slot template's own text; this "
                         "campaign has whole-email templates.",
                         hint="Set the held-back share to 0, or use slot templates only.")
    adapter_info = _adapter(store, adapter)
    if base_model:
        from brandvoice import models

        models.resolve(base_model)
    brand_name = _brand(brand, adapter_info)
    paths, result = _import(crm, activities, mapping, unmap_optout)
    day = _day(as_of)
    plan = plan_for(result, infos, as_of=day, moves=moves, excludes=excludes)
    keep = _routed_contacts(result.contacts, plan, [t.name for t in infos])
    if not keep:
        raise InputError("No contact is routed to a template of this campaign.",
                         problems=[f"{routing.group_label(g)}: {len(r)}"
                                   for g, r in plan.groups().items() if r],
                         hint="Move a group to a template, add a template, or change the send day.")
    summary = plan.to_dict(samples=0)
    params = {
        "crm": paths["CRM file"], "activities": paths.get("activities file"), "mapping": mapping,
        "template": infos[0].name, "campaign": {
            "templates": [{"name": t.name, "hash": t.hash} for t in infos],
            "as_of": summary["as_of"], "moves": dict(moves or {}), "excludes": sorted(excludes)},
        "template_hash": infos[0].hash, "adapter": adapter,
        "adapter_id": adapter_info.id if adapter_info else None, "base_model": base_model,
        "brand": brand_name, "config": config.to_dict(), "params_version": PARAMS_VERSION,
        "skip_incomplete": True, "created_by": actor.username,
    }
    intake = {"profile": result.profile, "contacts": len(keep), "plan": {
        k: summary[k] for k in ("contacts", "routed", "per_template", "per_reason")},
        "n_skipped_incomplete": summary["per_reason"].get("missing field", 0),
        "excluded": list(result.excluded)[:500], "n_excluded": len(result.excluded),
        "problems": list(result.problems)[:100], "n_problems": len(result.problems),
        "optout_unmapped": result.optout_unmapped}
    from brandvoice import crm as crm_mod

    def then(conn, job_id: int) -> None:
        crm_mod.snapshot_rows(conn, job_id, keep)
        store.audit(conn, "campaign_plan", actor=actor.username, job_id=job_id,
                    templates=[t.name for t in infos], as_of=summary["as_of"],
                    moves=dict(moves or {}), excludes=sorted(excludes),
                    per_template=summary["per_template"], per_reason=summary["per_reason"])
        if result.optout_unmapped:  # confirmed by name: who let which opt-outs in
            store.audit(conn, "optout_unmapped", actor=actor.username, job_id=job_id,
                        columns=result.optout_unmapped, crm=paths["CRM file"])

    return jobs.create(store, "generate", params, created_by=actor.username,
                       total=len(keep) * config.variants, metrics={"intake": intake}, then=then)


def _routed_contacts(contacts: list[dict], plan: routing.Plan, names: list[str]) -> list[dict]:
    """The routed contacts, each with its route (kept in its snapshot, then in its draft)."""
    by_key = {str(c.get("key")): c for c in contacts}
    out = []
    for r in plan.routed():
        out.append({**by_key[r.key], "route": r.record(plan.as_of, names)})
    return out


class _Offset:
    """A job reporter for one template's part of a campaign: its counts shifted by the parts
    written before it, the job's total kept."""

    def __init__(self, reporter, offset: int, total: int):
        self.reporter, self.offset, self.total = reporter, offset, total

    def update(self, *, done: int | None = None, total: int | None = None, **kw) -> None:
        self.reporter.update(done=None if done is None else self.offset + done,
                             total=self.total, **kw)

    def log(self, line: str) -> None:
        self.reporter.log(line)


def run_job(store: Store, job_id: int, reporter) -> dict[str, Any]:
    """worker.HANDLERS["generate"]: a campaign's job (several templates), or a one-template
    batch (generation.batch.run_job); safe to run again."""
    from brandvoice.generation import batch

    job = jobs.get(store, job_id)
    if job["params"].get("campaign"):
        return run(store, job, reporter)
    return batch.run_job(store, job_id, reporter)


def run(store: Store, job: dict, reporter) -> dict[str, Any]:
    """Run a campaign job: each template's contacts in turn, one backend and guard for all."""
    from brandvoice import prompting
    from brandvoice.generation.backends import open_backend
    from brandvoice.generation.batch import GenerationConfig, _brand, _intake, renderer
    from brandvoice.generation.guards import open_guard
    from brandvoice.generation.loop import Loop

    settings, p = store.settings, job["params"]
    config = GenerationConfig.from_dict(p["config"])
    camp = p["campaign"]
    day = datetime.fromisoformat(camp["as_of"].replace("Z", "+00:00"))
    templates = []
    for t in camp["templates"]:
        info = prompting.get_template(t["name"], settings)
        if info.hash != t["hash"]:
            raise StateError(f"Template {info.name!r} changed since job {job['id']} started.",
                             hint="Restore the template, or start a new campaign with it.")
        templates.append(info)
    adapter = _job_adapter(store, p, job["id"])
    brand = p.get("brand") or _brand(None, adapter)
    people, intake = _intake(store, job, reporter)
    everyone = [c for _, c in people]
    parts = [(t, [(i, c) for i, c in people if (c.get("route") or {}).get("template") == t.name])
             for t in templates]
    total = len(people) * config.variants
    started, offset, runs, summaries = time.perf_counter(), 0, {}, []
    backend = guard = None
    try:
        for info, group in [(t, g) for t, g in parts if g]:
            if backend is None:
                backend = open_backend(config, settings, adapter=adapter,
                                       base_model=p.get("base_model"), brand=brand, log=reporter.log)
                guard = open_guard(settings, brand, store=store, adapter=adapter)
                if guard is None:
                    raise StateError(f"Job {job['id']}: the guardrails of {brand} could not be "
                                     "loaded; no draft is stored without its checks.")
                if hasattr(guard, "at"):
                    guard.at(day)
            reporter.log(f"{info.name}: {len(group)} contacts.")
            loop = Loop(store, job["id"], config, template=info, adapter=adapter, brand=brand,
                        base_model=p.get("base_model"), created_by=p.get("created_by"),
                        reporter=_Offset(reporter, offset, total), intake=intake)
            loop.batch_contacts = everyone  # the leakage check sees the whole job
            runs[info.name] = loop.run(group, render=renderer(settings, info, brand, {"now": day}),
                                       system=prompting.system_prompt(brand),
                                       shared=(backend, guard))
            offset += len(group) * config.variants
            summaries.append(loop)
    finally:
        if backend is not None:
            backend.close()
    summary = summaries[-1].summary() if summaries else {}
    summary.update(template=", ".join(t.name for t, g in parts if g), intake=intake,
                   run=_merged(runs), runs=runs, seconds=round(time.perf_counter() - started, 1))
    return summary


def _job_adapter(store: Store, p: dict, job_id: int):
    from brandvoice.errors import NotFoundError

    if p.get("adapter_id") is None:
        return None
    from brandvoice.training import adapters

    try:
        return adapters.get_adapter(store, str(p["adapter_id"]))
    except NotFoundError as exc:
        raise StateError(f"Adapter {p.get('adapter')} of job {job_id} no longer exists.") from exc


def _merged(runs: dict[str, dict]) -> dict:
    """The campaign's run statistics: the parts' counts added up."""
    out: dict[str, Any] = {"new_drafts": 0, "new_tokens": 0, "retries": 0, "render_failed": []}
    for r in runs.values():
        for k in ("new_drafts", "new_tokens", "retries"):
            out[k] += r.get(k) or 0
        out["render_failed"] += r.get("render_failed") or []
    return out
