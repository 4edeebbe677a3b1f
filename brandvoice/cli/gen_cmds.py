"""`brandvoice generate ...`: batched drafts from a CRM export, as a resumable job."""

from __future__ import annotations

import click

from brandvoice.cli.auth import acting
from brandvoice.cli.base import ID, main, safe, settings, store
from brandvoice.cli.options import config_options, given
from brandvoice.generation.batch import GenerationConfig

# The generation settings a user sets from the command line; the rest keep their defaults.
GEN_FIELDS = ["variants", "candidates", "seed", "holdback", "batch_size", "temperature", "top_p",
              "max_new_tokens", "max_tries", "merge", "dtype", "backend", "server_url", "model", "concurrency",
              "endpoint"]


def _load_mapping(path: str | None) -> dict[str, str] | None:
    """A column mapping file (JSON or TOML) read now, so the job keeps it even if the file changes."""
    if not path:
        return None
    from brandvoice.crm import load_mapping

    return load_mapping(path)


def _run_with_progress(job_id: int) -> dict:
    """Run a job in this process with a progress bar; returns the finished job."""
    from brandvoice import jobs, worker

    st = store()
    total = jobs.get(st, job_id)["total"] or 0
    with click.progressbar(length=max(total, 1), label=f"Job {job_id}: generating",
                           show_pos=True, show_eta=True) as bar:
        state = {"done": None}

        def echo(pending: dict) -> None:
            if pending.get("total"):
                bar.length = pending["total"]
            done = pending.get("done")
            if done is None:
                return
            if state["done"] is None:  # a resumed job starts part-way
                bar.update(done)
            elif done > state["done"]:
                bar.update(done - state["done"])
            state["done"] = done

        return worker.run(st, job_id, echo=echo)


def _report(job: dict) -> None:
    res = job.get("result") or {}
    if job["status"] != "done":
        click.echo(f"Job {job['id']}: {job['status']}" + (f": {safe(job['error'])}" if job.get("error") else ""))
        click.echo(f"Run it again to finish the rest: brandvoice generate --resume {job['id']}")
        raise SystemExit(1)
    intake = res.get("intake") or {}
    run = res.get("run") or {}
    click.echo(f"Job {job['id']}: {res.get('drafts', 0)} drafts ({res.get('adapter')}, template "
               f"{res.get('template')}); verdicts {res.get('verdicts', {})}; malformed {res.get('malformed', 0)}.")
    if intake.get("plan"):
        plan = intake["plan"]
        click.echo(f"Routed {plan['routed']} of {plan['contacts']} contacts: "
                   + ", ".join(f"{t} {n}" for t, n in plan["per_template"].items())
                   + (("; no template: " + ", ".join(f"{r} {n}" for r, n in
                                                    plan["per_reason"].items()))
                      if plan["per_reason"] else "") + ".")
    elif intake:
        click.echo(f"Contacts: {intake.get('contacts')} used ({intake.get('profile')} profile), "
                   f"{intake.get('n_skipped_incomplete', 0)} skipped as incomplete, "
                   f"{intake.get('n_excluded', 0)} excluded (opt-outs, duplicates).")
    if run.get("new_drafts"):
        click.echo(f"This run: {run['new_drafts']} drafts, {run.get('drafts_per_min')} drafts/min, "
                   f"{run.get('tokens_per_s')} new tokens/s.")
    click.echo("Drafts are in the review queue (the app's Review page).")


def _as_of(text: str | None):
    """--as-of as a datetime (None when not given); a UsageError names a bad one."""
    if not text:
        return None
    from brandvoice.crm import parse_timestamp

    day = parse_timestamp(text)
    if day is None:
        raise click.UsageError(f"--as-of {text!r} is not a date; use e.g. 2026-11-22.")
    return day


def _moves(pairs: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        group, sep, template = pair.partition("=")
        if not sep or not group.strip() or not template.strip():
            raise click.UsageError(f"--move {pair!r}: write GROUP=TEMPLATE, e.g. "
                                   "none:too_old=ledgerly_after_content_download.")
        out[group.strip()] = template.strip()
    return out


def _plan_text(plan) -> str:
    """The plan as the terminal shows it: templates, then the reasons, a sample contact each."""
    d = plan.to_dict(samples=3)
    lines = [f"Plan as of {d['as_of'][:10]}: {d['contacts']} contacts, {d['routed']} get a draft, "
             f"{d['contacts'] - d['routed']} get none (nothing was written)."]
    width = max([len(g["label"]) for g in d["groups"]] + [20])
    for g in d["groups"]:
        lines.append(f"  {g['label']:<{width}} {g['contacts']:>6}   group {g['group']}")
        for s in g["samples"]:
            about = s["why"] or s["activity"]
            lines.append(f"      e.g. {s['name']} (row {s['row']}, {s['stage'] or '?'})"
                         + (f": {about}" if about else ""))
    if d["row_problems"]:
        lines.append(f"  {d['row_problems']} rows of the file could not be read (not in the plan).")
    lines.append("Change it with --move GROUP=TEMPLATE and --exclude GROUP, then run without --plan.")
    return "\n".join(lines)


def _plan_json(plan) -> str:
    import json

    return json.dumps(plan.to_dict(), indent=2, ensure_ascii=False)


@main.command("generate")
@click.option("--crm", "crm_path", type=click.Path(dir_okay=False), help="CRM contacts export (CSV).")
@click.option("--activities", type=click.Path(dir_okay=False), help="Activity log CSV joined per contact.")
@click.option("--mapping", type=click.Path(dir_okay=False),
              help="Column mapping file (JSON or TOML) for exports of other tools: field -> column.")
@click.option("--template", "templates", multiple=True, metavar="NAME[,NAME...]",
              help="Prompt template (see `brandvoice templates list`). Several (repeat, or "
                   "comma-separated) make a campaign: each contact gets the one that fits.")
@click.option("--route", is_flag=True, help="Route contacts by the templates' audiences even "
              "with one template (several templates always route).")
@click.option("--plan", "plan_only", is_flag=True,
              help="Print who gets which template, and who none and why; write nothing.")
@click.option("--as-of", "as_of", metavar="DATE",
              help="The send day (ISO 8601): recency windows and relative dates count from it. "
                   "Default: now.")
@click.option("--move", "moves", multiple=True, metavar="GROUP=TEMPLATE",
              help="Route a plan group (a template, or none:<reason>) to another template.")
@click.option("--exclude", "excludes", multiple=True, metavar="GROUP",
              help="Leave a plan group out (a template, or none:<reason>).")
@click.option("--json", "as_json", is_flag=True, help="With --plan: print the plan as JSON.")
@click.option("--unmap-opt-out", "unmap_optout", multiple=True, metavar="COLUMN",
              help="Confirm that the mapping stops reading this opt-out column (audited; repeat "
                   "for each column).")
@click.option("--adapter", help="Adapter: 'ledgerly', 'ledgerly:v2' or an id.")
@click.option("--base-model", help="Generate with a base model only (no adapter).")
@click.option("--brand", help="Brand name in the prompt (default: the adapter's brand).")
@config_options(GenerationConfig, GEN_FIELDS)
@click.option("--skip-incomplete/--no-skip-incomplete", default=True, show_default=True,
              help="Skip contacts missing a field the template needs (else stop and list them).")
@click.option("--background", is_flag=True, help="Run in a background process and return its job id.")
@click.option("--resume", type=ID, metavar="JOB_ID", help="Finish an interrupted generate job.")
@acting
def generate_cmd(actor, crm_path, activities, mapping, unmap_optout, templates, route, plan_only, as_of, moves,
                 excludes, as_json, adapter, base_model, brand, skip_incomplete, background,
                 resume, **options) -> None:
    """Write personalized drafts for every contact of a CRM export, as a resumable job.

    With several templates (a campaign), each contact gets the one whose audience it fits best;
    --plan shows that plan (counts per template and per reason, sample contacts) and writes
    nothing."""
    from brandvoice import generation, jobs

    names = [n.strip() for t in templates for n in t.split(",") if n.strip()]
    if resume is not None:
        job_id = generation.check_resumable(store(), resume)
        if jobs.get(store(), job_id)["status"] in jobs.RESUMABLE:
            jobs.resume(store(), actor, job_id)
    else:
        if not crm_path or not names:
            raise click.UsageError("--crm and --template are required (or --resume JOB_ID).")
        day = _as_of(as_of)
        choices = {"moves": _moves(moves), "excludes": list(excludes)}
        if plan_only:
            plan = generation.campaign.preview_plan(
                settings(), crm=crm_path, activities=activities, templates=names,
                mapping=_load_mapping(mapping), as_of=day, unmap_optout=unmap_optout, **choices)
            click.echo(safe(_plan_json(plan) if as_json else _plan_text(plan)))
            return
        config = generation.GenerationConfig(**given(options, GEN_FIELDS))
        if len(names) > 1 or route or day or moves or excludes:
            job_id = generation.campaign.submit(
                store(), settings(), actor=actor, crm=crm_path, activities=activities,
                templates=names, adapter=adapter, base_model=base_model, brand=brand,
                config=config, mapping=_load_mapping(mapping), as_of=day, unmap_optout=unmap_optout,
                **choices)
        else:
            job_id = generation.submit(store(), settings(), actor=actor, crm=crm_path,
                                       activities=activities, template=names[0], adapter=adapter,
                                       base_model=base_model, brand=brand, config=config,
                                       mapping=_load_mapping(mapping),
                                       skip_incomplete=skip_incomplete,
                                       unmap_optout=unmap_optout)
        click.echo(f"Job {job_id} queued.")
    if background:
        pid = jobs.start(settings(), job_id)
        click.echo(f"Job {job_id} {jobs.where(pid)}; follow it with `brandvoice jobs show {job_id}`.")
        return
    _report(_run_with_progress(job_id))
