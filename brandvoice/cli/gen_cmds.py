"""`brandvoice generate ...`: batched drafts from a CRM export, as a resumable job."""

from __future__ import annotations

import click

from brandvoice.cli.base import main, settings, store


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
        click.echo(f"Job {job['id']}: {job['status']}" + (f": {job['error']}" if job.get("error") else ""))
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
@click.option("--variants", type=int, default=1, show_default=True, help="Drafts per contact.")
@click.option("--seed", type=int, default=1234, show_default=True)
@click.option("--batch-size", type=int, default=8, show_default=True)
@click.option("--temperature", type=float, default=0.7, show_default=True)
@click.option("--top-p", type=float, default=0.9, show_default=True)
@click.option("--max-new-tokens", type=int, default=220, show_default=True)
@click.option("--max-tries", type=int, default=3, show_default=True, help="Attempts for malformed output.")
@click.option("--merge", type=click.Choice(["auto", "yes", "no"]), default="auto", show_default=True,
              help="Serve a merged copy of the adapter (after a greedy-equality check).")
@click.option("--dtype", type=click.Choice(["auto", "float32", "bfloat16"]), default="auto", show_default=True,
              help="Local weights: bf16 is faster where the CPU has it; float32 makes each draft "
              "independent of which contacts share its batch.")
@click.option("--backend", type=click.Choice(["local", "openai"]), default="local", show_default=True)
@click.option("--server-url", help="OpenAI-compatible server (vLLM, llama.cpp) for --backend openai.")
@click.option("--model", "served_model", help="Served model name (default: '<adapter>-v<N>').")
@click.option("--concurrency", type=int, default=4, show_default=True, help="Requests in flight (openai).")
@click.option("--endpoint", type=click.Choice(["chat", "completions"]), default="chat", show_default=True,
              help="openai backend: /v1/completions primes the answer with 'Subject:' like local runs.")
@click.option("--skip-incomplete/--no-skip-incomplete", default=True, show_default=True,
              help="Skip contacts missing a field the template needs (else stop and list them).")
@click.option("--background", is_flag=True, help="Run in a background process and return its job id.")
@click.option("--resume", type=int, metavar="JOB_ID", help="Finish an interrupted generate job.")
def generate_cmd(crm_path, activities, mapping, template, adapter, base_model, brand, variants, seed,
                 batch_size, temperature, top_p, max_new_tokens, max_tries, merge, dtype, backend, server_url,
                 served_model, concurrency, endpoint, skip_incomplete, background, resume) -> None:
    """Write personalized drafts for every contact of a CRM export, as a resumable job."""
    from brandvoice import generation, jobs

    if resume is not None:
        job = jobs.get(store(), resume)
        if job["kind"] != "generate":
            raise click.UsageError(f"Job {resume} is a {job['kind']} job, not a generate job.")
        job_id = resume
    else:
        if not crm_path or not template:
            raise click.UsageError("--crm and --template are required (or --resume JOB_ID).")
        config = generation.GenerationConfig(
            variants=variants, seed=seed, batch_size=batch_size, temperature=temperature, top_p=top_p,
            max_new_tokens=max_new_tokens, max_tries=max_tries, merge=merge, dtype=dtype, backend=backend,
            server_url=server_url, model=served_model, concurrency=concurrency, endpoint=endpoint)
        job_id = generation.submit(store(), settings(), crm=crm_path, activities=activities,
                                 template=template, adapter=adapter, base_model=base_model, brand=brand,
                                 config=config, mapping=_load_mapping(mapping),
                                 skip_incomplete=skip_incomplete)
        click.echo(f"Job {job_id} queued.")
    if background:
        pid = jobs.start(settings(), job_id)
        click.echo(f"Job {job_id} running in process {pid}; follow it with `brandvoice jobs show {job_id}`.")
        return
    _report(_run_with_progress(job_id))
