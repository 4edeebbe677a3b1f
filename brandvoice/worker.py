"""The background worker: `python -m brandvoice.worker JOB_ID` runs one job to the end.

Job kinds map to their handlers here, by import (not by dotted strings), so that the layer check
sees these dependencies: the worker sits at the top, beside the CLI and the UI.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from brandvoice import demo, generation, jobs, models, training
from brandvoice.config import quiet_openmp, worker_settings
from brandvoice.errors import BrandvoiceError
from brandvoice.store import Store

HANDLERS = {
    "train": training.run_job,
    "generate": generation.run_job,
    "demo": demo.run_seed_job,
}


def run(store: Store, job_id: int, *, echo=None) -> dict[str, Any]:
    """Run job `job_id` in this process with its kind's handler; returns the finished job."""
    job = jobs.get(store, job_id)
    return jobs.run(store, job_id, HANDLERS[job["kind"]], echo=echo)


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
