"""The background worker: `python -m brandvoice.worker JOB_ID` runs one job to the end, and
`brandvoice worker` (`serve`) runs the job queue's parts on this machine until it is stopped.

Job kinds map to their handlers here, by import (not by dotted strings), so that the layer check
sees these dependencies: the worker sits at the top, beside the CLI and the UI.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from brandvoice import demo, generation, jobs, models, training
from brandvoice.config import Settings, quiet_openmp, worker_settings
from brandvoice.errors import BrandvoiceError
from brandvoice.jobs import parts, queue
from brandvoice.store import Store

HANDLERS = {
    "train": training.run_job,
    "generate": generation.run_job,
    "demo": demo.run_seed_job,
}
# The kinds the queue splits into parts (jobs.PARTED), and how one part runs.
PART_HANDLERS = {
    "generate": parts.PartHandler(run=generation.run_part, summary=generation.summarize),
}


def run(store: Store, job_id: int, *, echo=None) -> dict[str, Any]:
    """Run job `job_id` in this process with its kind's handler; returns the finished job."""
    job = jobs.get(store, job_id)
    return jobs.run(store, job_id, HANDLERS[job["kind"]], echo=echo)


def run_part(store: Store, job_id: int, part: int, label: str) -> str:
    """Run one part of a job the queue handed to this worker; returns how it ended."""
    kind = parts.kind_of(store, job_id)
    if kind in PART_HANDLERS:
        return parts.run_part(store, job_id, part, PART_HANDLERS[kind], label)
    return parts.run_whole(store, job_id, part, label,
                           lambda: jobs.run(store, job_id, HANDLERS[kind], takeover=True))


def serve(settings: Settings, *, name: str | None = None, once: bool = False, echo=print) -> None:
    """Run the job queue's parts in this process until stopped (SIGINT or SIGTERM: after the
    running part; a killed worker's part goes back to the queue), or with `once` until the queue
    is empty. Start one per core on as many machines as share the database."""
    quiet_openmp()
    models.quiet_bitsandbytes()  # before anything imports peft (a training part may)
    queue.conninfo(str(settings.db_url))  # PostgreSQL, or a ConfigError that says so
    store = Store(settings)  # brings the store and the queue's tables to the newest schema
    name = name or f"{jobs.this_host()}:{os.getpid()}"
    echo(f"worker {name}: taking jobs from {store.engine.url.render_as_string(hide_password=True)}"
         + (" until the queue is empty" if once else " until stopped (Ctrl+C)"))

    def one(job_id: int, part: int, label: str) -> None:
        status = run_part(store, job_id, part, label)
        echo(f"worker {name}: job {job_id} part {part}: {status}")

    try:
        queue.serve(settings, one, name=name, once=once)
    finally:
        generation.parts_forget()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the background worker process."""
    argv = sys.argv[1:] if argv is None else argv
    quiet_openmp()  # before torch loads; see cli.base
    models.quiet_bitsandbytes()  # before anything imports peft (models.loading says why)
    job_id = int(argv[0])
    try:
        settings = worker_settings()  # every field as the starting process had it
        print(f"job {job_id}: settings {json.dumps(settings.shown(), sort_keys=True)}", flush=True)
        job = run(Store(settings), job_id)
    except BrandvoiceError as exc:  # e.g. not queued: another worker has it, or it awaits a resume
        print(f"job {job_id}: {exc}", flush=True)
        return 1
    print(f"job {job_id}: {job['status']}" + (f": {job['error']}" if job["error"] else ""), flush=True)
    return 0 if job["status"] == "done" else 1


if __name__ == "__main__":
    raise SystemExit(main())
