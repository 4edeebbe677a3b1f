"""Long jobs (training, batch generation) as records in the store, run inline, in a background
process, or by the workers of a job queue.

A job records its progress in the store so that the UI can poll it and survive a page reload. A
running job writes a heartbeat every `HEARTBEAT_S` seconds (from a thread, so a long model call does
not silence it) and the host it runs on; a job whose heartbeat is older than `STALE_AFTER_S`, or
whose process is gone (looked up only on its own host: a pid means nothing elsewhere), is seen as
`interrupted`. A user resumes it (`resume`, which puts it back in the queue) and it continues where
it stopped; `run` claims a queued job with one UPDATE and refuses one it did not claim, so two
workers never run one job. Cancelling and resuming take the acting user (role checked, audited).
This module knows no job kind's code: `run(store, job_id, handler)` takes the handler, and the
worker (`python -m brandvoice.worker JOB_ID`, `brandvoice worker`) maps kinds to handlers by import.

`start` hands a queued job to the runner Settings.job_runner names: "process" starts that worker
with every settings field; "queue" (PostgreSQL) puts it in the job engine's queue (`jobs.queue`,
Procrastinate), where any `brandvoice worker` on any machine takes it, a generate job in parts
(`jobs.parts`); "auto" (the default) is the queue on PostgreSQL and a process on SQLite. Another
runner plugs in with `register_runner`. A job the queue runs is alive while the engine's records
say so (a part waiting, or taken by a worker whose heartbeat is recent), never by a pid.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa

from brandvoice.errors import NotFoundError, StateError
from brandvoice.jobs.base import JobCancelled, outcome, this_host
from brandvoice.store import Store, jobs, utcnow
from brandvoice.users import PERMISSIONS, User, require_role

# The kinds of job; brandvoice.worker.HANDLERS maps each to its function(store, job_id, reporter).
KINDS = ("train", "generate", "demo")  # demo: train the demo adapter, then generate with it
ACTIVE = ("queued", "running")
RESUMABLE = ("interrupted", "failed", "cancelled")
HEARTBEAT_S = 10.0
# Ten missed heartbeats: a worker on a loaded machine is late, not dead.
STALE_AFTER_S = 120.0


def create(store: Store, kind: str, params: dict[str, Any], *, created_by: str | None = None,
           total: int = 0, metrics: dict[str, Any] | None = None,
           then: Callable[[Any, int], None] | None = None) -> int:
    """Record a new queued job and return its id; `then(conn, job_id)` writes what the job is
    given (a snapshot of its inputs) in the same transaction."""
    if kind not in KINDS:
        raise StateError(f"Unknown job kind {kind!r}.", hint=f"Use one of {', '.join(KINDS)}.")
    with store.tx() as conn:
        job_id = conn.execute(jobs.insert().values(
            kind=kind, status="queued", params=params, progress=0.0, done=0, total=total,
            metrics=metrics or {}, history=[], log="", created_by=created_by, created_at=utcnow(),
        )).inserted_primary_key[0]
        if then is not None:
            then(conn, job_id)
        store.audit(conn, "job_create", actor=created_by, job_id=job_id, kind=kind)
    return job_id


def _stale_before() -> str:
    then = datetime.now(timezone.utc) - timedelta(seconds=STALE_AFTER_S)
    return then.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _interrupted(job: dict) -> bool:
    """A running job whose process is gone (on this host) or whose heartbeat went quiet; a job the
    queue runs is judged by the queue (`queue.describe`)."""
    if job["status"] not in ("running", "cancelling") or job.get("runner") == "queue":
        return False
    if job["pid"] and job.get("host") in (None, this_host()) and not _alive(job["pid"]):
        return True
    beat = job.get("heartbeat_at") or job.get("started_at")
    return beat is None or beat < _stale_before()


def _with_liveness(store: Store, conn, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    queued = [job for job in rows if job.get("runner") == "queue"]
    if queued:
        from brandvoice.jobs import queue

        states = queue.describe(conn, [job["id"] for job in queued], store.settings.worker_timeout)
        for job in queued:
            job["queue"] = states.get(job["id"])
            if job["status"] in ("running", "cancelling") and not (job["queue"] or {}).get("live"):
                job["status"] = "interrupted"
    for job in rows:
        if _interrupted(job):
            job["status"] = "interrupted"
    return rows


def get(store: Store, job_id: int) -> dict[str, Any]:
    """One job as a dict; a running job whose process is gone is reported as interrupted (a job
    the queue runs: when none of its parts waits or runs on a live worker)."""
    with store.read() as conn:
        row = conn.execute(sa.select(jobs).where(jobs.c.id == job_id)).mappings().first()
        if row is None:
            raise NotFoundError(f"No job with id {job_id}.", hint="List jobs with `brandvoice jobs`.")
        return _with_liveness(store, conn, [dict(row)])[0]


def list_jobs(store: Store, kind: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """The newest jobs first."""
    q = sa.select(jobs).order_by(jobs.c.id.desc()).limit(limit)
    if kind:
        q = q.where(jobs.c.kind == kind)
    with store.read() as conn:
        return _with_liveness(store, conn, [dict(r) for r in conn.execute(q).mappings()])


def cancel(store: Store, actor: User, job_id: int) -> dict[str, Any]:
    """Stop a job (marketer or admin, audited): a queued one at once, a running one at its next
    progress report."""
    job = get(store, job_id)
    with store.tx() as conn:
        require_role(conn, actor, *PERMISSIONS["control jobs"], action="cancel jobs")
        if job["status"] not in ACTIVE:
            raise StateError(f"Job {job_id} is {job['status']}; only a queued or running job can be "
                             "cancelled.")
        to = "cancelled" if job["status"] == "queued" else "cancelling"
        if job.get("runner") == "queue":
            from brandvoice.jobs import queue

            # parts still waiting leave the queue now; a running one stops at its next report
            if not queue.cancel_waiting(conn, job_id):
                to = "cancelled"
        n = conn.execute(jobs.update().where(jobs.c.id == job_id, jobs.c.status == job["status"])
                         .values(status=to, **({"finished_at": utcnow()} if to == "cancelled"
                                               else {}))).rowcount
        if n != 1:
            raise StateError(f"Job {job_id} changed while it was being cancelled; look again.",
                             hint=f"`brandvoice jobs show {job_id}`")
        store.audit(conn, "job_cancel", actor=actor.username, job_id=job_id, kind=job["kind"],
                    status=job["status"])
    return get(store, job_id)


def resume(store: Store, actor: User, job_id: int) -> dict[str, Any]:
    """Put an interrupted, failed or cancelled job back in the queue (marketer or admin, audited);
    run it with `start` or a worker: it continues where it stopped."""
    job = get(store, job_id)
    with store.tx() as conn:
        require_role(conn, actor, *PERMISSIONS["control jobs"], action="resume jobs")
        if job["status"] not in RESUMABLE:
            raise StateError(f"Job {job_id} is {job['status']}; only an interrupted, failed or "
                             "cancelled job is resumed.",
                             hint="A queued or running job is on its way; a done job is finished.")
        stored = "running" if job["status"] == "interrupted" else job["status"]
        beat = jobs.c.heartbeat_at == job["heartbeat_at"] if job["heartbeat_at"] is not None \
            else jobs.c.heartbeat_at.is_(None)
        # The row as it was read: a worker that wrote a heartbeat since is alive after all.
        n = conn.execute(jobs.update().where(jobs.c.id == job_id, jobs.c.status.in_(
            ("running", "cancelling") if stored == "running" else (stored,)), beat)
            .values(status="queued", pid=None, host=None, error=None, finished_at=None)).rowcount
        if n != 1:
            raise StateError(f"Job {job_id} is still alive (it reported since it was read).",
                             hint=f"Follow it with `brandvoice jobs show {job_id}`.")
        store.audit(conn, "job_resume", actor=actor.username, job_id=job_id, kind=job["kind"],
                    status=job["status"])
    return get(store, job_id)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child (exited, not yet reaped) counts as dead.
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


class Reporter:
    """Progress sink for a running job: writes to the store at most every `interval` seconds."""

    def __init__(self, store: Store, job_id: int, *, interval: float = 1.0, echo=None):
        self.store, self.job_id, self.interval, self.echo = store, job_id, interval, echo
        self._last = 0.0
        self._pending: dict[str, Any] = {}
        self._history: list[dict[str, Any]] | None = None
        self._log: list[str] = []

    def update(self, *, done: int | None = None, total: int | None = None,
               metrics: dict[str, Any] | None = None, point: dict[str, Any] | None = None,
               force: bool = False) -> None:
        """Record progress; raises JobCancelled if a user asked the job to stop."""
        if done is not None:
            self._pending["done"] = done
        if total is not None:
            self._pending["total"] = total
        if metrics is not None:
            self._pending["metrics"] = metrics
        if point is not None:
            if self._history is None:
                self._history = list(get(self.store, self.job_id)["history"] or [])
            self._history.append(point)
            self._pending["history"] = self._history
        if self.echo is not None:
            self.echo(self._pending)
        now = time.monotonic()
        if force or now - self._last >= self.interval:
            self.flush()

    def log(self, line: str) -> None:
        """Append a line to the job's log."""
        self._log.append(f"{utcnow()[:19]} {line}")
        self.flush()

    def flush(self) -> None:
        values = dict(self._pending)
        self._pending.clear()
        done, total = values.get("done"), values.get("total")
        with self.store.tx() as conn:
            row = conn.execute(sa.select(jobs.c.status, jobs.c.done, jobs.c.total, jobs.c.log)
                               .where(jobs.c.id == self.job_id)).first()
            if row is None:
                raise NotFoundError(f"Job {self.job_id} vanished from the store.")
            done = row.done if done is None else done
            total = row.total if total is None else total
            if total:
                values["progress"] = min(1.0, done / total)
            if self._log:
                values["log"] = (row.log + "\n".join(self._log) + "\n")[-200_000:]
                self._log.clear()
            values["heartbeat_at"] = utcnow()
            conn.execute(jobs.update().where(jobs.c.id == self.job_id).values(**values))
        self._last = time.monotonic()
        if row.status == "cancelling":
            raise JobCancelled(f"Job {self.job_id} was cancelled.")


def _claim(store: Store, job_id: int, statuses: tuple[str, ...] = ("queued",)) -> dict[str, Any] | None:
    """Take a queued job for this process with one UPDATE; None when it was not queued."""
    now = utcnow()
    with store.tx() as conn:
        n = conn.execute(jobs.update().where(jobs.c.id == job_id, jobs.c.status.in_(statuses)).values(
            status="running", pid=os.getpid(), host=this_host(), started_at=now, heartbeat_at=now,
            finished_at=None, error=None)).rowcount
    return get(store, job_id) if n == 1 else None


class _Heartbeat(threading.Thread):
    """Writes the job's heartbeat every HEARTBEAT_S seconds while the handler runs."""

    def __init__(self, store: Store, job_id: int):
        super().__init__(name=f"job-{job_id}-heartbeat", daemon=True)
        self.store, self.job_id, self.stop = store, job_id, threading.Event()

    def run(self) -> None:
        while not self.stop.wait(HEARTBEAT_S):
            try:
                with self.store.tx() as conn:
                    conn.execute(jobs.update().where(
                        jobs.c.id == self.job_id, jobs.c.pid == os.getpid(),
                        jobs.c.status.in_(("running", "cancelling"))).values(heartbeat_at=utcnow()))
            except Exception:  # noqa: BLE001 - a busy database: the next beat tries again
                continue


def run(store: Store, job_id: int, handler, *, echo=None, takeover: bool = False) -> dict[str, Any]:
    """Claim a queued job and run it in this process to the end with `handler(store, job_id,
    reporter)`; returns the finished job record (a done job as it is). `takeover`: the job queue
    hands this process a job whose last worker died, so a "running" record is claimed as well."""
    job = get(store, job_id)
    if job["status"] == "done":
        return job
    claimed = _claim(store, job_id, ("queued", "running") if takeover else ("queued",))
    if claimed is None:
        job = get(store, job_id)
        if job["status"] == "done":
            return job
        hint = (f"Resume it first: `brandvoice jobs resume {job_id}`."
                if job["status"] in RESUMABLE else None)
        raise StateError(f"Job {job_id} is {job['status']}, not queued: this process did not "
                         "claim it" + (f" (process {job['pid']} runs it)." if job["pid"] else "."),
                         hint=hint)
    reporter = Reporter(store, job_id, echo=echo)
    beat = _Heartbeat(store, job_id)
    beat.start()
    try:
        status, error, result = outcome(lambda: handler(store, job_id, reporter), reporter._log)
    finally:
        beat.stop.set()
        beat.join()
        try:
            reporter.flush()
        except JobCancelled:
            status = "cancelled"
        with store.tx() as conn:
            conn.execute(jobs.update().where(jobs.c.id == job_id).values(
                status=status, error=error, result=result, finished_at=utcnow(), pid=None,
                **({"progress": 1.0} if status == "done" else {})))
    return get(store, job_id)


from brandvoice.jobs.runners import (  # noqa: E402 - how a queued job is started
    PARTED,
    register_runner,
    runner_name,
    start,
    start_process,
    start_queue,
    unregister_runner,
    where,
)


def wait(store: Store, job_id: int, timeout: float = 600, poll: float = 0.5) -> dict[str, Any]:
    """Block until a job leaves the active states (tests, CLI --wait)."""
    deadline = time.monotonic() + timeout
    while True:
        job = get(store, job_id)
        if job["status"] not in (*ACTIVE, "cancelling"):
            return job
        if time.monotonic() > deadline:
            raise StateError(f"Job {job_id} still {job['status']} after {timeout:.0f} s.")
        time.sleep(poll)


__all__ = ["ACTIVE", "HEARTBEAT_S", "KINDS", "PARTED", "RESUMABLE", "STALE_AFTER_S", "JobCancelled",
           "Reporter", "cancel", "create", "get", "list_jobs", "register_runner", "resume", "run",
           "runner_name", "start", "start_process", "start_queue", "this_host", "unregister_runner",
           "utcnow", "wait", "where"]
