"""Jobs in the store, on SQLite and PostgreSQL: progress, result, cancel, failure, non-finite metrics."""

from __future__ import annotations

import pytest

from brandvoice import jobs
from brandvoice.errors import StateError

pytestmark = pytest.mark.all_databases


def test_run_records_progress_history_log_and_result(store):
    job_id = jobs.create(store, "train", {"brand": "Acme"}, created_by="rita", total=3)

    def handler(store, job_id, reporter):
        for step in (1, 2, 3):
            reporter.update(done=step, metrics={"step": step, "loss": 1.0 / step},
                            point={"step": step, "loss": 1.0 / step}, force=True)
        reporter.log("all steps done")
        return {"adapter": "acme v1"}

    job = jobs.run(store, job_id, handler)
    assert job["status"] == "done" and job["progress"] == 1.0 and job["done"] == job["total"] == 3
    assert [p["step"] for p in job["history"]] == [1, 2, 3] and job["metrics"]["step"] == 3
    assert job["result"] == {"adapter": "acme v1"} and "all steps done" in job["log"]
    assert job["params"] == {"brand": "Acme"} and job["created_by"] == "rita"
    assert job["pid"] is None and job["finished_at"] >= job["started_at"]
    assert jobs.run(store, job_id, handler)["status"] == "done"  # a finished job is not run again
    assert [j["id"] for j in jobs.list_jobs(store, "train")] == [job_id]


def test_cancel_stops_the_job_at_its_next_report(store):
    job_id = jobs.create(store, "generate", {})

    def handler(store, job_id, reporter):
        jobs.cancel(store, job_id)  # as a user would, from another process
        reporter.update(done=1, force=True)
        raise AssertionError("not reached")

    assert jobs.run(store, job_id, handler)["status"] == "cancelled"
    with pytest.raises(StateError, match="only a queued or running job can be cancelled"):
        jobs.cancel(store, job_id)


def test_failure_is_recorded_with_the_trace(store):
    job_id = jobs.create(store, "train", {})

    def handler(store, job_id, reporter):
        raise RuntimeError("out of memory")

    job = jobs.run(store, job_id, handler)
    assert job["status"] == "failed" and job["error"] == "RuntimeError: out of memory"
    assert "Traceback" in job["log"]


def test_non_finite_metrics_are_stored_as_null(store):
    # PostgreSQL's json type refuses NaN and Infinity: a diverged loss used to fail the job there.
    job_id = jobs.create(store, "train", {})
    nan, inf = float("nan"), float("inf")

    def handler(store, job_id, reporter):
        reporter.update(done=1, total=2, metrics={"loss": nan, "grad_norm": inf},
                        point={"step": 1, "loss": nan}, force=True)
        reporter.update(done=2, point={"step": 2, "loss": 0.5}, force=True)
        return {"perplexity": [nan, 2.0], "nested": {"ratio": -inf}}

    job = jobs.run(store, job_id, handler)
    assert job["status"] == "done", job["error"]
    assert job["metrics"] == {"loss": None, "grad_norm": None}
    assert job["history"] == [{"step": 1, "loss": None}, {"step": 2, "loss": 0.5}]
    assert job["result"] == {"perplexity": [None, 2.0], "nested": {"ratio": None}}
