"""A generate job in parts, as the job queue runs it: each part is the drafts of a range of the
job's contacts, written by whichever worker takes it (`jobs.parts`).

A worker keeps what every part of a job shares, loaded once for its first part: the job's plan
(settings, template, adapter, every contact: the leakage check compares each draft with the whole
job's contacts, not the part's), the backend (a model in memory, or a server's connection,
checked once) and the guard. A part run again after a kill continues where it stopped: the loop
leaves each (contact, variant) that has a draft alone.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from brandvoice.generation.runner import JobPlan, load_plan, merged
from brandvoice.store import Store


class _Shared:
    """What the parts of one job share in this process."""

    def __init__(self, store: Store, job_id: int, plan: JobPlan):
        self.key = (store.url, job_id)
        self.plan = plan
        self.contacts = [c for _, c in plan.people]
        self.backend = None
        self.guard = None
        self.reporter = None  # the running part's: the backend's log lines go to it

    def log(self, line: str) -> None:
        if self.reporter is not None:
            self.reporter.log(line)

    def close(self) -> None:
        if self.backend is not None:
            self.backend.close()
            self.backend = None


_lock = threading.Lock()
_shared: _Shared | None = None


def _for_job(store: Store, job_id: int, reporter) -> _Shared:
    """This process's shared state for the job, loaded when its first part arrives (the previous
    job's backend is closed then)."""
    global _shared
    with _lock:
        if _shared is not None and _shared.key == (store.url, job_id):
            return _shared
        if _shared is not None:
            _shared.close()
            _shared = None
        shared = _Shared(store, job_id, load_plan(store, job_id, reporter))
        _shared = shared
        return shared


def forget() -> None:
    """Release what the parts of the last job shared (a worker stopping, tests)."""
    global _shared
    with _lock:
        if _shared is not None:
            _shared.close()
        _shared = None


def run_part(store: Store, job_id: int, reporter, first_contact: int,
             last_contact: int) -> dict[str, Any]:
    """worker.PART_HANDLERS["generate"]: write the missing drafts of the job's contacts with ids
    first_contact..last_contact; returns the part's statistics."""
    shared = _for_job(store, job_id, reporter)
    shared.reporter = reporter
    plan = shared.plan
    people = [(cid, c) for cid, c in plan.people if first_contact <= cid <= last_contact]
    started = time.perf_counter()
    runs, _ = plan.write(store, job_id, reporter, people, shared=shared,
                         quick_start=first_contact == plan.people[0][0])  # the job's first part
    return {**merged(runs), "contacts": len(people),
            "seconds": round(time.perf_counter() - started, 1)}


def summarize(store: Store, job_id: int) -> dict[str, Any]:
    """The job's result once every part is done: counts over all its drafts, and its intake."""
    with _lock:
        cached = _shared if _shared is not None and _shared.key == (store.url, job_id) else None
    plan = cached.plan if cached is not None else load_plan(store, job_id, _Silent())
    summary = plan.loop(store, job_id, _Silent()).summary()
    summary.update(intake=plan.intake)
    if plan.campaign:
        summary["template"] = ", ".join(t.name for t in plan.templates)
    return summary


class _Silent:
    """A reporter that records nothing (reading a plan to summarise it)."""

    def log(self, line: str) -> None:
        pass

    def update(self, **_kw) -> None:
        pass
