"""How a queued job is started, by name (Settings.job_runner): a background process on this
machine ("process"), the job queue on PostgreSQL ("queue"), or a runner a user plugs in."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

from brandvoice.config import Settings, worker_environment
from brandvoice.errors import ConfigError
from brandvoice.jobs.base import this_host
from brandvoice.store import Store, jobs

PARTED = ("generate",)  # kinds the queue splits into parts by their contacts

# How a queued job is started, by name (Settings.job_runner): runner(settings, job_id) -> a pid or None.
_RUNNERS: dict[str, Callable[[Settings, int], int | None]] = {}


def register_runner(name: str, runner: Callable[[Settings, int], int | None]) -> None:
    """Plug in a way to start queued jobs (a queue of a job engine, a test's recorder) under
    `name`; Settings.job_runner = name (BRANDVOICE_JOB_RUNNER) selects it. The runner returns the
    pid of the process it started, or None."""
    _RUNNERS[name] = runner


def unregister_runner(name: str) -> None:
    """Forget a registered runner (built-in ones stay)."""
    if name not in ("process", "queue"):
        _RUNNERS.pop(name, None)


def runner_name(settings: Settings) -> str:
    """The runner Settings.job_runner names; "auto" is the queue on PostgreSQL, else a process."""
    if settings.job_runner != "auto":
        return settings.job_runner
    return "queue" if str(settings.db_url).startswith("postgresql") else "process"


def start(settings: Settings, job_id: int) -> int | None:
    """Start a queued job with the settings' runner (on SQLite by default a background worker
    process that outlives the caller, e.g. a UI page reload; on PostgreSQL the job queue); returns
    the pid of the process started, or None for a runner without one (the queue)."""
    name = runner_name(settings)
    runner = _RUNNERS.get(name)
    if runner is None:
        raise ConfigError(f"Unknown job runner {settings.job_runner!r} (BRANDVOICE_JOB_RUNNER).",
                          hint=f"Use one of: auto, {', '.join(sorted(_RUNNERS))}.")
    return runner(settings, job_id)


def where(pid: int | None) -> str:
    """Where a started job runs, for a message: its process, or the job queue."""
    return (f"running in process {pid}" if pid else
            "waiting in the job queue for a worker (`brandvoice worker` on any machine)")


def start_process(settings: Settings, job_id: int) -> int:
    """The "process" runner: `python -m brandvoice.worker JOB_ID`, given every settings field
    (`config.worker_environment`), its output in <home>/jobs/job-N.log; returns its pid."""
    settings.jobs_dir.mkdir(parents=True, exist_ok=True)
    log = open(settings.jobs_dir / f"job-{job_id}.log", "ab")  # noqa: SIM115 - handed to the child
    proc = subprocess.Popen([sys.executable, "-m", "brandvoice.worker", str(job_id)],
                            env=worker_environment(settings), stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    log.close()
    store = Store(settings)
    with store.tx() as conn:
        conn.execute(jobs.update().where(jobs.c.id == job_id).values(
            pid=proc.pid, host=this_host(), runner="process"))
    return proc.pid


def start_queue(settings: Settings, job_id: int) -> None:
    """The "queue" runner (PostgreSQL): the job, or each part of it, waits in the job engine's
    queue for any `brandvoice worker`."""
    from brandvoice.jobs import queue

    queue.enqueue(Store(settings), job_id, parted=PARTED)


register_runner("process", start_process)
register_runner("queue", start_queue)
