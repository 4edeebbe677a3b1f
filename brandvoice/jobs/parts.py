"""One part of a job the queue runs: claimed, run, finished; the job finishes with its last part.

A part is taken by one worker at a time (the queue hands it out once; `jobs.queue` puts a dead
worker's part back). Running it again is safe: the handler skips what an earlier run stored (a
generate part: the drafts table refuses a second draft for a (job, contact, variant), and the loop
leaves filled ones alone), so a part resumed after a kill continues where it stopped. A job that
is not split (training) is one part run by `jobs.run`, which records its outcome itself.

Progress of a part goes to its `job_parts` row and to the job's row (done = the sum of its parts',
at most once a second per worker); a cancel request is seen at the next report, as in `jobs.run`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from brandvoice.errors import BrandvoiceError, StateError
from brandvoice.jobs.base import JobCancelled, outcome, this_host
from brandvoice.store import Store, job_parts, jobs, utcnow

TERMINAL = ("done", "failed", "cancelled")


@dataclass(frozen=True)
class PartHandler:
    """How a kind of job runs in parts: `run(store, job_id, reporter, first_contact,
    last_contact)` writes one part (its contacts by id range) and returns its statistics;
    `summary(store, job_id)` is the job's result once every part is done."""

    run: Callable[..., dict[str, Any]]
    summary: Callable[[Store, int], dict[str, Any]]


class PartReporter:
    """The progress sink of one part (the interface of `jobs.Reporter`)."""

    def __init__(self, store: Store, job_id: int, part: int, label: str, *, interval: float = 1.0):
        self.store, self.job_id, self.part, self.label = store, job_id, part, label
        self.interval = interval
        self._last = 0.0
        self._done: int | None = None
        self._metrics: dict[str, Any] | None = None
        self._log: list[str] = []

    def update(self, *, done: int | None = None, total: int | None = None,
               metrics: dict[str, Any] | None = None, point: dict[str, Any] | None = None,
               force: bool = False) -> None:
        """Record the part's progress (total and points are the job's business, not a part's);
        raises JobCancelled when a user cancelled the job."""
        if done is not None:
            self._done = done
        if metrics is not None:
            self._metrics = metrics
        if time.monotonic() - self._last >= self.interval:
            self.flush()

    def log(self, line: str) -> None:
        """Append a line to the job's log, naming the part and its worker."""
        self._log.append(f"{utcnow()[:19]} [part {self.part}, {self.label}] {line}")
        if len(self._log) >= 50:
            self.flush()

    def flush(self) -> None:
        with self.store.tx() as conn:
            if self._done is not None:
                conn.execute(job_parts.update().where(job_parts.c.job_id == self.job_id,
                                                      job_parts.c.part == self.part)
                             .values(done=self._done))
            row = conn.execute(sa.select(jobs.c.status, jobs.c.total, jobs.c.log, jobs.c.metrics)
                               .where(jobs.c.id == self.job_id)).first()
            done = conn.execute(sa.select(sa.func.coalesce(sa.func.sum(job_parts.c.done), 0))
                                .where(job_parts.c.job_id == self.job_id)).scalar()
            values: dict[str, Any] = {"done": done, "heartbeat_at": utcnow()}
            if row.total:
                values["progress"] = min(1.0, done / row.total)
            if self._metrics is not None:
                # the intake is the job's; the speed is the reporting part's
                values["metrics"] = {**(row.metrics or {}), **self._metrics, "part": self.part,
                                     "reported_by": self.label}
            if self._log:
                values["log"] = (row.log + "\n".join(self._log) + "\n")[-200_000:]
                self._log.clear()
            conn.execute(jobs.update().where(jobs.c.id == self.job_id).values(**values))
        self._last = time.monotonic()
        if row.status == "cancelling":
            raise JobCancelled(f"Job {self.job_id} was cancelled.")


def _set_part(conn, job_id: int, part: int, **values: Any) -> None:
    conn.execute(job_parts.update().where(job_parts.c.job_id == job_id, job_parts.c.part == part)
                 .values(**values))


def _claim(store: Store, job_id: int, part: int, label: str) -> dict[str, Any] | None:
    """Mark the part running here (and a queued job running); None when it is not to be run: it
    finished already (a repeated delivery), or its job was cancelled meanwhile."""
    now = utcnow()
    with store.tx() as conn:
        Store.lock(conn, f"job:{job_id}")
        job = conn.execute(sa.select(jobs.c.status, jobs.c.started_at)
                           .where(jobs.c.id == job_id)).first()
        row = conn.execute(sa.select(job_parts).where(job_parts.c.job_id == job_id,
                                                      job_parts.c.part == part)).mappings().first()
        if job is None or row is None:
            raise StateError(f"Job {job_id} has no part {part}.")
        if row["status"] in TERMINAL:
            return None
        if job.status in ("cancelling", "cancelled"):
            _set_part(conn, job_id, part, status="cancelled", finished_at=now)
            _finish_job(conn, store, job_id, None)
            return None
        if job.status == "queued":
            conn.execute(jobs.update().where(jobs.c.id == job_id).values(
                status="running", started_at=job.started_at or now, finished_at=None, error=None,
                host=this_host(), heartbeat_at=now))
        _set_part(conn, job_id, part, status="running", attempts=row["attempts"] + 1,
                  host=this_host(), worker=label[:100], started_at=now, finished_at=None,
                  error=None)
        return dict(row)


def _finish_job(conn, store: Store, job_id: int, summary) -> None:
    """Settle the job once none of its parts is left to run (in the caller's locked transaction)."""
    rows = conn.execute(sa.select(job_parts.c.status, job_parts.c.error)
                        .where(job_parts.c.job_id == job_id).order_by(job_parts.c.part)).all()
    if any(r.status not in TERMINAL for r in rows):
        return
    statuses = {r.status for r in rows}
    values: dict[str, Any] = {"finished_at": utcnow(), "pid": None}
    if statuses == {"done"}:
        values.update(status="done", progress=1.0, error=None,
                      result=summary(store, job_id) if summary else None)
    elif "failed" in statuses:
        failed = [r for r in rows if r.status == "failed"]
        values.update(status="failed", error=f"{len(failed)} of {len(rows)} part(s) failed; the "
                      f"first: {failed[0].error}")
    else:
        values.update(status="cancelled")
    conn.execute(jobs.update().where(jobs.c.id == job_id).values(**values))


def kind_of(store: Store, job_id: int) -> str:
    """The kind of a job (train, generate, ...)."""
    with store.read() as conn:
        kind = conn.execute(sa.select(jobs.c.kind).where(jobs.c.id == job_id)).scalar()
    if kind is None:
        raise StateError(f"No job with id {job_id}.")
    return kind


def run_whole(store: Store, job_id: int, part: int, label: str,
              run: Callable[[], dict[str, Any]]) -> str:
    """A job that is not split: its one part is claimed here, `run()` (jobs.run, which claims the
    job, also from a dead worker, and records its outcome) runs it; returns how it ended."""
    if _claim(store, job_id, part, label) is None:
        return "skipped"
    try:
        job = run()
        status, error = job["status"], job.get("error")
    except BrandvoiceError as exc:  # not claimable: cancelled, or done meanwhile
        status, error = "cancelled", str(exc)
    with store.tx() as conn:
        _set_part(conn, job_id, part, status=status if status in TERMINAL else "failed",
                  error=error, finished_at=utcnow())
    return status


def run_part(store: Store, job_id: int, part: int, handler: PartHandler, label: str) -> str:
    """Run one part of a split job in this process; returns how it ended (done, failed, cancelled,
    or skipped when it had finished already or its job was cancelled)."""
    row = _claim(store, job_id, part, label)
    if row is None:
        return "skipped"
    reporter = PartReporter(store, job_id, part, label)
    status, error, _ = outcome(lambda: handler.run(store, job_id, reporter, row["first_contact"],
                                                   row["last_contact"]), reporter._log)
    try:
        reporter.flush()
    except JobCancelled:
        status = "cancelled" if status == "done" else status
    with store.tx() as conn:
        Store.lock(conn, f"job:{job_id}")
        _set_part(conn, job_id, part, status=status, error=error, finished_at=utcnow())
        _finish_job(conn, store, job_id, handler.summary)
    return status
