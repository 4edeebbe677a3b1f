"""`brandvoice jobs ...` and `brandvoice setup`."""

from __future__ import annotations

import json

import click

from brandvoice.cli.auth import acting
from brandvoice.cli.base import ID, echo_table, group, main, safe, settings, store

jobs_group = group("jobs", "Background jobs (training, generation): list, show, cancel, resume.")


@jobs_group.command("list")
@click.option("--kind", type=click.Choice(["train", "generate"]), default=None)
def jobs_list(kind: str | None) -> None:
    """List recent jobs."""
    from brandvoice import jobs

    rows = jobs.list_jobs(store(), kind)
    for r in rows:
        r["progress"] = f"{100 * (r['progress'] or 0):.0f}%"
    echo_table(rows, ["id", "kind", "status", "progress", "created_at", "error"])


@jobs_group.command("show")
@click.argument("job_id", type=ID)
def jobs_show(job_id: int) -> None:
    """Show one job with its metrics and log."""
    from brandvoice import jobs

    job = jobs.get(store(), job_id)
    history = job.pop("history", None) or []
    log = job.pop("log", "")
    click.echo(json.dumps(job, indent=2, default=str))
    click.echo(f"history points: {len(history)}")
    if log:
        click.echo("--- log ---\n" + safe(log[-4000:]))


@jobs_group.command("cancel")
@click.argument("job_id", type=ID)
@acting
def jobs_cancel(actor, job_id: int) -> None:
    """Stop a job: a queued one at once, a running one at its next progress report."""
    from brandvoice import jobs

    job = jobs.cancel(store(), actor, job_id)
    click.echo(f"Job {job_id}: " + ("cancelled." if job["status"] == "cancelled"
                                    else "cancel requested."))


@jobs_group.command("resume")
@click.argument("job_id", type=ID)
@click.option("--background", is_flag=True, help="Run in a background process and return.")
@acting
def jobs_resume(actor, job_id: int, background: bool) -> None:
    """Run an interrupted, failed or cancelled job again; it continues where it stopped."""
    from brandvoice import jobs, worker

    job = jobs.get(store(), job_id)
    if job["status"] != "queued":
        jobs.resume(store(), actor, job_id)
    if background or job.get("runner") == "queue":  # a queue job resumes in the queue
        pid = jobs.start(settings(), job_id)
        click.echo(f"Job {job_id} {jobs.where(pid)}.")
        return
    job = worker.run(store(), job_id)
    click.echo(f"Job {job_id}: {job['status']}" + (f": {safe(job['error'])}" if job["error"] else ""))
    if job["status"] != "done":
        raise SystemExit(1)


@main.command("worker")
@click.option("--name", help="The worker's name in logs and job records (default: host:pid).")
@click.option("--once", is_flag=True,
              help="Stop when the queue is empty (default: run until Ctrl+C or SIGTERM).")
def worker_cmd(name: str | None, once: bool) -> None:
    """Run queued jobs on this machine (PostgreSQL): start one per core, on as many machines as
    share the database; a generate job is split into parts that any worker takes."""
    from brandvoice import worker

    worker.serve(settings(), name=name, once=once, echo=lambda line: click.echo(safe(line)))


@main.command("setup")
@click.option("--demo/--no-demo", default=True, help="Also load the demo brand, users and drafts.")
def setup(demo: bool) -> None:
    """Prepare the embedded models (convert once, cache) and, with --demo, the demo workspace."""
    from brandvoice import models

    s = settings()
    path = models.materialize(models.DEFAULT_MODEL, s)
    click.echo(f"Base model ready: {path}")
    if demo:
        from brandvoice import demo as demo_mod

        for line in demo_mod.prepare(s):
            click.echo(line)
