"""Jobs in the store, on SQLite and PostgreSQL: progress, result, cancel, failure, non-finite metrics."""

from __future__ import annotations

import json
import os
import threading

import pytest
import sqlalchemy as sa

from brandvoice import jobs
from brandvoice.errors import PermissionDenied, StateError
from brandvoice.store import audit
from brandvoice.store import jobs as jobs_table

pytestmark = [pytest.mark.all_databases, pytest.mark.usefixtures("fast_hashes")]


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
    with store.read() as conn:  # who asked for it is in the audit trail
        (event,) = conn.execute(sa.select(audit.c.actor, audit.c.details)
                                .where(audit.c.action == "job_create")).all()
    assert event.actor == "rita" and event.details == {"job_id": job_id, "kind": "train"}


def test_cancel_stops_the_job_at_its_next_report(store, people):
    job_id = jobs.create(store, "generate", {})

    def handler(store, job_id, reporter):
        with pytest.raises(PermissionDenied, match="only marketers or admins can cancel jobs"):
            jobs.cancel(store, people["rev"], job_id)
        jobs.cancel(store, people["mkt"], job_id)  # as a user would, from another process
        reporter.update(done=1, force=True)
        raise AssertionError("not reached")

    assert jobs.run(store, job_id, handler)["status"] == "cancelled"
    with pytest.raises(StateError, match="only a queued or running job can be cancelled"):
        jobs.cancel(store, people["mkt"], job_id)
    queued = jobs.create(store, "generate", {})
    assert jobs.cancel(store, people["admin"], queued)["status"] == "cancelled"  # at once
    with store.read() as conn:
        events = conn.execute(sa.select(audit.c.actor, audit.c.details)
                              .where(audit.c.action == "job_cancel")).all()
    assert [(e.actor, e.details["job_id"]) for e in events] == [("marketer1", job_id), ("root", queued)]


def test_a_job_is_claimed_once_and_resumed_by_a_user(store, people):
    job_id = jobs.create(store, "generate", {}, created_by="marketer1")
    started, release, seen = threading.Event(), threading.Event(), []

    def handler(store, job_id, reporter):
        started.set()
        release.wait(30)
        return {"ok": True}

    worker = threading.Thread(target=lambda: seen.append(jobs.run(store, job_id, handler)))
    worker.start()
    assert started.wait(30)
    with pytest.raises(StateError, match="is running, not queued"):  # a second worker
        jobs.run(store, job_id, handler)
    release.set()
    worker.join(30)
    assert seen[0]["status"] == "done"

    failed = jobs.create(store, "train", {})
    assert jobs.run(store, failed, lambda *a: 1 / 0)["status"] == "failed"
    with pytest.raises(StateError, match="Resume it first"):
        jobs.run(store, failed, handler)  # a failed job runs again only when a user resumes it
    with pytest.raises(PermissionDenied, match="only marketers or admins can resume jobs"):
        jobs.resume(store, people["rev"], failed)
    assert jobs.resume(store, people["mkt"], failed)["status"] == "queued"
    release.set()
    assert jobs.run(store, failed, handler)["status"] == "done"
    with pytest.raises(StateError, match="is done"):
        jobs.resume(store, people["mkt"], failed)


def test_a_silent_heartbeat_means_interrupted(store, people, monkeypatch):
    job_id = jobs.create(store, "generate", {})
    with store.tx() as conn:  # a worker in this very process (pid alive) that stopped reporting
        conn.execute(jobs_table.update().where(jobs_table.c.id == job_id).values(
            status="running", pid=os.getpid(), started_at="2026-01-01T00:00:00.000000Z",
            heartbeat_at="2026-01-01T00:00:00.000000Z"))
    assert jobs.get(store, job_id)["status"] == "interrupted"
    assert [j["status"] for j in jobs.list_jobs(store)] == ["interrupted"]
    with store.tx() as conn:
        conn.execute(jobs_table.update().where(jobs_table.c.id == job_id)
                     .values(heartbeat_at=jobs.utcnow()))
    assert jobs.get(store, job_id)["status"] == "running"  # alive again: not resumable
    with pytest.raises(StateError, match="only an interrupted, failed or cancelled job"):
        jobs.resume(store, people["mkt"], job_id)
    monkeypatch.setattr(jobs, "STALE_AFTER_S", 0.0)
    assert jobs.resume(store, people["mkt"], job_id)["status"] == "queued"


def test_the_heartbeat_is_written_while_the_handler_works(store, monkeypatch):
    import time

    monkeypatch.setattr(jobs, "HEARTBEAT_S", 0.05)
    job_id = jobs.create(store, "generate", {})
    beats = []

    def handler(store, job_id, reporter):
        for _ in range(3):
            time.sleep(0.3)  # a long model call: no progress report
            beats.append(jobs.get(store, job_id)["heartbeat_at"])
        return {}

    assert jobs.run(store, job_id, handler)["status"] == "done"
    assert len(set(beats)) == 3


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


def test_the_worker_says_why_it_does_not_run_a_job(store, capsys):
    from brandvoice import worker

    job_id = jobs.create(store, "train", {})
    assert jobs.run(store, job_id, lambda *a: 1 / 0)["status"] == "failed"
    assert worker.main([str(job_id)]) == 1  # started again without a resume: refused, no traceback
    out = capsys.readouterr().out
    assert f"job {job_id}: Job {job_id} is failed, not queued" in out and "Traceback" not in out


def test_the_worker_process_gets_every_setting(store, tmp_path, plugged):
    from brandvoice.config import Settings

    plugged("runner", "background", jobs.start_process)  # the worker process, under another name
    values = dict(home=tmp_path / "worker-home", db_url=store.url, base_model="tiny-test-model",
                  quantization="int8", embedder="fake", embedder_backend="fp32",
                  prompts_dir=tmp_path / "prompts", guardrails_dir=tmp_path / "guardrails",
                  models_dir=tmp_path / "models", guard="test", job_runner="background",
                  raise_errors=True, user="rita", password="s3cret", demo_password="other-demo",
                  demo_seed="none", demo_wait=True, job_part_size=7, worker_timeout=33.0)
    assert set(values) == set(Settings.model_fields)  # a new setting must be added here too
    for name, field in Settings.model_fields.items():  # and each value differs from its default
        assert values[name] != field.get_default(call_default_factory=True), name
    own = Settings(**values)
    assert Settings.from_json(own.to_json()) == own  # what the worker is given: every value
    assert own.password.get_secret_value() == "s3cret"
    job_id = jobs.create(store, "generate", {}, created_by="rita")  # fails at once: no params
    assert jobs.start(own, job_id) > 0
    assert jobs.wait(store, job_id, timeout=120)["status"] == "failed"
    log = (own.jobs_dir / f"job-{job_id}.log").read_text(encoding="utf-8")
    line = next(x for x in log.splitlines() if x.startswith(f"job {job_id}: settings "))
    received = json.loads(line.split("settings ", 1)[1])
    assert received == own.shown() and received["password"] == "***"
    assert "s3cret" not in log  # the secret reached the worker, not its log
