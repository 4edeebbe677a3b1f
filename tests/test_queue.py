"""The job queue on PostgreSQL (Procrastinate): its schema applied where the store opens, generate
jobs in parts that any worker takes, a dead worker's part resumed where it stopped, one training
per brand, cancelling, and liveness from the engine's heartbeats rather than a pid."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from helpers_drafts import user

from brandvoice import generation, jobs, worker
from brandvoice.config import Settings
from brandvoice.errors import ConfigError, StateError
from brandvoice.generation.backends import GenOutput
from brandvoice.jobs import queue
from brandvoice.store import Store, contacts, drafts, engine_schemas, job_parts, queue_schema

PG = pytest.mark.parametrize("database", ["postgresql"], indirect=True)

CRM = "Record ID,First Name,Last Name,Email,Company Name,Job Title,Lifecycle Stage,Lead Status\n" + \
    "".join(f"{1000 + i},Name{chr(65 + i)},Last{i},p{i}@firm{i}.com,Firm {i},CFO,lead,Open\n"
            for i in range(7))
BODY = "Hi there, this is a short follow-up with a concrete next step for your finance team."


class Backend:
    """Answers from the seed; records every request it was sent."""

    label = "fake"
    info = {"backend": "fake"}

    def __init__(self):
        self.users: list[str] = []

    def generate(self, requests):
        self.users += [r.user for r in requests]
        return [GenOutput(text=f"Subject: Note {r.seed}\n\n{BODY}", prompt=r.user, new_tokens=9)
                for r in requests]

    def close(self):
        pass


class Verdict:
    status, tone_score, results = "pass", 0.9, []


class Guard:
    def check_many(self, items, batch_contacts=None):
        assert batch_contacts is not None and len(batch_contacts) == 7  # the whole job's contacts
        return [Verdict() for _ in items]


@pytest.fixture
def fakes(store, plugged):
    backend = Backend()
    plugged("backend", "fake", lambda config, settings, **kw: backend)
    plugged("guard", "test", lambda settings, brand, *, store, adapter: Guard())
    store.settings.guard = "test"
    store.settings.job_part_size = 3
    generation.parts_forget()
    yield backend
    generation.parts_forget()


def submit(store, tmp_path) -> int:
    crm = tmp_path / "crm.csv"
    crm.write_text(CRM, encoding="utf-8")
    config = generation.GenerationConfig(batch_size=2, backend="fake")
    return generation.submit(store, store.settings, actor=user(store), crm=crm,
                             template="reengage_cold_lead", base_model="smollm2-135m-instruct",
                             brand="Acme", config=config)


def drafted(store, job_id) -> list[int]:
    """The contact ids of the job's drafts (one entry per draft)."""
    with store.read() as conn:
        return sorted(conn.execute(sa.select(drafts.c.contact_id)
                                   .where(drafts.c.job_id == job_id)).scalars())


def parts_of(store, job_id) -> list[dict]:
    with store.read() as conn:
        return [dict(r) for r in conn.execute(sa.select(job_parts).where(
            job_parts.c.job_id == job_id).order_by(job_parts.c.part)).mappings()]


def contact_ids(store, job_id) -> list[int]:
    with store.read() as conn:
        return sorted(conn.execute(sa.select(contacts.c.id)
                                   .where(contacts.c.job_id == job_id)).scalars())


# --- the schema --------------------------------------------------------------------------------

@PG
def test_the_store_applies_the_queue_schema_once(store):
    with store.read() as conn:
        assert conn.exec_driver_sql("SELECT to_regclass('procrastinate_jobs')").scalar()
        assert queue_schema.recorded_level(conn) == queue_schema.installed_level()
        assert queue_schema.is_current(conn)
    with store.tx() as conn:
        assert queue_schema.apply(conn) is None  # idempotent: nothing to do


def _fake_engine(root, scripts: dict[str, str]):
    (root / "sql" / "migrations").mkdir(parents=True, exist_ok=True)
    (root / "sql" / "schema.sql").write_text(
        "CREATE TABLE procrastinate_jobs (id int); CREATE TABLE procrastinate_seen (name text);")
    for name, text in scripts.items():
        (root / "sql" / "migrations" / f"{name}.sql").write_text(text)


@PG
@pytest.mark.blank_database
def test_queue_schema_levels_apply_newer_scripts_and_refuse_a_newer_database(
        settings, tmp_path, monkeypatch):
    root = tmp_path / "engine"
    monkeypatch.setattr(queue_schema, "package_dir", lambda: root)
    _fake_engine(root, {"01.00.00_01_pre_a": "INSERT INTO procrastinate_seen VALUES ('a');"})
    store = Store(settings)
    with store.read() as conn:  # a new database gets the schema script, not the migrations
        assert conn.exec_driver_sql("SELECT count(*) FROM procrastinate_seen").scalar() == 0
        assert queue_schema.recorded_level(conn) == "01.00.00_01_pre_a"
    Store.dispose_all()
    _fake_engine(root, {"01.00.00_01_pre_a": "INSERT INTO procrastinate_seen VALUES ('a');",
                        "01.01.00_01_pre_b": "INSERT INTO procrastinate_seen VALUES ('b');",
                        "01.01.00_50_post_c": "INSERT INTO procrastinate_seen VALUES ('c');"})
    store = Store(settings)  # an upgraded package: the scripts after the recorded level, in order
    with store.read() as conn:
        assert conn.exec_driver_sql("SELECT name FROM procrastinate_seen").scalars().all() == ["b", "c"]
        assert queue_schema.recorded_level(conn) == "01.01.00_50_post_c"
    Store.dispose_all()
    Store(settings)  # opened again: nothing applied twice
    with Store(settings).read() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM procrastinate_seen").scalar() == 2
    with Store(settings).tx() as conn:
        conn.execute(engine_schemas.update().values(level="09.00.00_01_pre_z"))
    Store.dispose_all()
    with pytest.raises(ConfigError, match="newer than the installed Procrastinate"):
        Store(settings)


def test_the_worker_needs_postgresql(settings):
    with pytest.raises(ConfigError, match="needs PostgreSQL"):
        worker.serve(settings, once=True, echo=lambda line: None)
    assert jobs.runner_name(settings) == "process"  # auto on SQLite


# --- generate jobs in parts --------------------------------------------------------------------

@PG
def test_a_generate_job_runs_in_parts_any_worker_takes(store, fakes, tmp_path):
    job_id = submit(store, tmp_path)
    assert jobs.runner_name(store.settings) == "queue"
    assert jobs.start(store.settings, job_id) is None  # no process: the queue
    job = jobs.get(store, job_id)
    assert job["status"] == "queued" and job["runner"] == "queue"
    assert job["queue"]["parts"] == 3 and job["queue"]["live"] and job["queue"]["workers"] == 0
    ids = contact_ids(store, job_id)
    assert [(p["first_contact"], p["last_contact"], p["contacts"]) for p in parts_of(store, job_id)] \
        == [(ids[0], ids[2], 3), (ids[3], ids[5], 3), (ids[6], ids[6], 1)]

    worker.serve(store.settings, name="w1", once=True, echo=lambda line: None)

    job = jobs.get(store, job_id)
    assert job["status"] == "done", job["error"]
    assert drafted(store, job_id) == ids  # every contact exactly once
    assert job["done"] == 7 and job["progress"] == 1.0
    assert job["result"]["drafts"] == 7 and job["result"]["verdicts"] == {"pass": 7}
    assert all(p["status"] == "done" and p["host"] == jobs.this_host() and p["worker"].startswith("w1#")
               for p in parts_of(store, job_id))
    assert "[part 0, w1#" in job["log"]


@PG
def test_a_dead_workers_part_is_resumed_where_it_stopped(store, fakes, tmp_path):
    job_id = submit(store, tmp_path)
    jobs.start(store.settings, job_id)
    first = parts_of(store, job_id)[0]
    ids = contact_ids(store, job_id)
    # A worker took part 0, wrote the drafts of its first two contacts, and died: its heartbeat
    # stopped long ago, its part is still "doing" in the queue.
    from brandvoice.jobs.parts import PartReporter

    generation.run_part(store, job_id, PartReporter(store, job_id, 0, "dead"), ids[0], ids[1])
    with store.tx() as conn:
        dead = conn.exec_driver_sql("INSERT INTO procrastinate_workers (last_heartbeat) VALUES "
                                    "(now() - interval '1 hour') RETURNING id").scalar()
        conn.exec_driver_sql(f"UPDATE procrastinate_jobs SET status = 'doing', worker_id = {dead} "
                             f"WHERE id = {first['queue_job_id']}")
        conn.execute(job_parts.update().where(job_parts.c.job_id == job_id, job_parts.c.part == 0)
                     .values(status="running", host="gone-host", attempts=1))
        conn.execute(sa.text("UPDATE jobs SET status = 'running' WHERE id = :id"), {"id": job_id})
    fakes.users.clear()

    worker.serve(store.settings, name="w2", once=True, echo=lambda line: None)

    assert jobs.get(store, job_id)["status"] == "done"
    assert drafted(store, job_id) == ids  # nothing lost, nothing twice
    assert len(fakes.users) == 5  # only the contacts without a draft were generated
    part0 = parts_of(store, job_id)[0]
    assert part0["attempts"] == 2 and part0["host"] == jobs.this_host() and part0["done"] == 3


@PG
def test_liveness_is_the_engines_heartbeat_not_a_pid(store, fakes, tmp_path):
    job_id = submit(store, tmp_path)
    jobs.start(store.settings, job_id)
    with store.tx() as conn:
        alive = conn.exec_driver_sql("INSERT INTO procrastinate_workers DEFAULT VALUES "
                                     "RETURNING id").scalar()
        conn.exec_driver_sql(f"UPDATE procrastinate_jobs SET status = 'doing', worker_id = {alive}")
        conn.execute(sa.text("UPDATE jobs SET status = 'running', pid = 999999999, host = 'x' "
                             "WHERE id = :id"), {"id": job_id})
    job = jobs.get(store, job_id)
    assert job["status"] == "running" and job["queue"]["workers"] == 1  # a pid elsewhere: no matter
    with store.tx() as conn:
        conn.exec_driver_sql("UPDATE procrastinate_workers SET last_heartbeat = "
                             "now() - interval '1 hour'")
    assert jobs.get(store, job_id)["status"] == "interrupted"
    assert [j["status"] for j in jobs.list_jobs(store) if j["id"] == job_id] == ["interrupted"]
    job = jobs.resume(store, user(store, "boss", "admin"), job_id)
    assert job["status"] == "queued"
    assert queue.enqueue(store, job_id, parted=jobs.PARTED) == 3  # the dead worker's parts are deferred again
    worker.serve(store.settings, once=True, echo=lambda line: None)
    assert jobs.get(store, job_id)["status"] == "done"
    assert drafted(store, job_id) == contact_ids(store, job_id)


@pytest.mark.all_databases
def test_a_job_on_another_host_is_alive_while_its_heartbeat_is(store, database):
    job_id = jobs.create(store, "train", {"brand": "Acme"})
    with store.tx() as conn:
        conn.execute(sa.text("UPDATE jobs SET status = 'running', pid = 999999999, host = 'far', "
                             "heartbeat_at = :now WHERE id = :id"),
                     {"now": jobs.utcnow(), "id": job_id})
    assert jobs.get(store, job_id)["status"] == "running"  # its pid means nothing here
    with store.tx() as conn:
        conn.execute(sa.text("UPDATE jobs SET host = :h WHERE id = :id"),
                     {"h": jobs.this_host(), "id": job_id})
    assert jobs.get(store, job_id)["status"] == "interrupted"  # here, that pid is gone


@PG
def test_cancel_takes_the_waiting_parts_out_of_the_queue(store, fakes, tmp_path):
    job_id = submit(store, tmp_path)
    jobs.start(store.settings, job_id)
    job = jobs.cancel(store, user(store, "boss", "admin"), job_id)
    assert job["status"] == "cancelled"
    assert {p["status"] for p in parts_of(store, job_id)} == {"cancelled"}
    worker.serve(store.settings, once=True, echo=lambda line: None)
    assert drafted(store, job_id) == [] and fakes.users == []


# --- training: one per brand -------------------------------------------------------------------

@PG
def test_one_training_per_brand_waits_in_the_queue(store):
    first = jobs.create(store, "train", {"brand": "Acme"})
    second = jobs.create(store, "train", {"brand": " acme "})
    other = jobs.create(store, "train", {"brand": "Globex"})
    jobs.start(store.settings, first)
    with pytest.raises(StateError, match="already waiting"):
        jobs.start(store.settings, second)
    jobs.start(store.settings, other)
    with store.read() as conn:
        locks = conn.exec_driver_sql("SELECT lock, queueing_lock FROM procrastinate_jobs "
                                     "ORDER BY id").all()
    assert [tuple(r) for r in locks] == [("train:acme", "train:acme"),
                                         ("train:globex", "train:globex")]
    assert jobs.get(store, second)["status"] == "queued" and not parts_of(store, second)


def test_start_names_where_the_job_runs():
    assert jobs.where(42) == "running in process 42"
    assert "brandvoice worker" in jobs.where(None)
    assert jobs.runner_name(Settings(db_url="postgresql+psycopg://u:p@h/db")) == "queue"
    assert queue.conninfo("postgresql+psycopg://u:p@h:5/db") == "postgresql://u:p@h:5/db"


def test_the_job_page_says_when_no_worker_takes_the_queue():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_string(
        "from brandvoice.ui import jobview\n"
        "jobview._queue_line({'status': 'queued', 'queue': {'parts': 3, 'by_status': "
        "{'queued': 2, 'done': 1}, 'hosts': [], 'workers': 0, 'live': True}})\n"
        "jobview._queue_line({'status': 'running', 'queue': {'parts': 3, 'by_status': "
        "{'running': 2, 'done': 1}, 'hosts': ['gpu-a', 'gpu-b'], 'workers': 2, 'live': True}})\n")
    at.run()
    assert [c.value for c in at.caption] == ["Job queue: 3 part(s): 1 done, 2 queued",
                                             "Job queue: 3 part(s): 1 done, 2 running; running on "
                                             "gpu-a, gpu-b"]
    assert len(at.warning) == 1 and "No queue worker is running" in at.warning[0].value
