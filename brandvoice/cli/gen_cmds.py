"""`brandvoice generate ...`: batched drafts from a CRM export, as a resumable job."""

from __future__ import annotations

import click

from brandvoice.cli.auth import acting
from brandvoice.cli.base import ID, main, safe, settings, store
from brandvoice.cli.options import config_options, given
from brandvoice.generation.batch import GenerationConfig

# The generation settings a user sets from the command line; the rest keep their defaults.
GEN_FIELDS = ["variants", "candidates", "seed", "batch_size", "temperature", "top_p", "max_new_tokens",
              "max_tries", "merge", "dtype", "backend", "server_url", "model", "concurrency",
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
    if intake:
        click.echo(f"Contacts: {intake.get('contacts')} used ({intake.get('profile')} profile), "
                   f"{intake.get('n_skipped_incomplete', 0)} skipped as incomplete, "
                   f"{intake.get('n_excluded', 0)} excluded (opt-outs, duplicates).")
    if run.get("new_drafts"):
        click.echo(f"This run: {run['new_drafts']} drafts, {run.get('drafts_per_min')} drafts/min, "
                   f"{run.get('tokens_per_s')} new tokens/s.")
    click.echo("Drafts are in the review queue (the app's Review page).")


@main.command("generate")
@click.option("--crm", "crm_path", type=click.Path(dir_okay=False), help="CRM contacts export (CSV).")
@click.option("--activities", type=click.Path(dir_okay=False), help="Activity log CSV joined per contact.")
@click.option("--mapping", type=click.Path(dir_okay=False),
              help="Column mapping file (JSON or TOML) for exports of other tools: field -> column.")
@click.option("--template", help="Prompt template name (see `brandvoice templates list`).")
@click.option("--adapter", help="Adapter: 'ledgerly', 'ledgerly:v2' or an id.")
@click.option("--base-model", help="Generate with a base model only (no adapter).")
@click.option("--brand", help="Brand name in the prompt (default: the adapter's brand).")
@config_options(GenerationConfig, GEN_FIELDS)
@click.option("--skip-incomplete/--no-skip-incomplete", default=True, show_default=True,
              help="Skip contacts missing a field the template needs (else stop and list them).")
@click.option("--background", is_flag=True, help="Run in a background process and return its job id.")
@click.option("--resume", type=ID, metavar="JOB_ID", help="Finish an interrupted generate job.")
@acting
def generate_cmd(actor, crm_path, activities, mapping, template, adapter, base_model, brand,
                 skip_incomplete, background, resume, **options) -> None:
    """Write personalized drafts for every contact of a CRM export, as a resumable job."""
    from brandvoice import generation, jobs

    if resume is not None:
        job_id = generation.check_resumable(store(), resume)
        if jobs.get(store(), job_id)["status"] in jobs.RESUMABLE:
            jobs.resume(store(), actor, job_id)
    else:
        if not crm_path or not template:
            raise click.UsageError("--crm and --template are required (or --resume JOB_ID).")
        config = generation.GenerationConfig(**given(options, GEN_FIELDS))
        job_id = generation.submit(store(), settings(), actor=actor, crm=crm_path,
                                   activities=activities, template=template, adapter=adapter,
                                   base_model=base_model, brand=brand, config=config,
                                   mapping=_load_mapping(mapping), skip_incomplete=skip_incomplete)
        click.echo(f"Job {job_id} queued.")
    if background:
        pid = jobs.start(settings(), job_id)
        click.echo(f"Job {job_id} {jobs.where(pid)}; follow it with `brandvoice jobs show {job_id}`.")
        return
    _report(_run_with_progress(job_id))
