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

from datetime import datetime, timezone
from pathlib import Path

from brandvoice import jobs
from brandvoice.config import Settings
from brandvoice.errors import InputError
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
