"""The job queue of a team setup: Procrastinate on the store's PostgreSQL database.

Why Procrastinate: it keeps its queue in PostgreSQL, the database a team already runs for the store
(no broker to operate), takes a job with `SELECT ... FOR UPDATE SKIP LOCKED`, gives locks (jobs of
one lock run one at a time, in order) and queueing locks (one waiting job per lock), and records a
heartbeat per worker, from which it lists the jobs of dead workers. Its tables are applied where
the store opens (`store.queue_schema`).

How a job runs here: `enqueue` (the "queue" runner of `jobs.start`) writes the job's parts
(`job_parts`) and defers one Procrastinate job per part, in the store's transaction (the deferral
runs on the store's own connection, so a part and its queue entry exist together or not at all).
A generate job is split by its contacts into parts of Settings.job_part_size; any other job is one
part. Training takes the brand's lock and queueing lock: one training per brand runs at a time, and
one more may wait. `brandvoice worker` (`serve`) runs parts on any machine; each worker also
sweeps: a part taken by a worker whose heartbeat is older than Settings.worker_timeout is put back
in the queue, and the next worker resumes it where it stopped (`jobs.parts`).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from brandvoice.config import Settings
from brandvoice.errors import ConfigError, StateError
from brandvoice.store import Store, contacts, job_parts, jobs

QUEUE = "brandvoice"
TASK = "brandvoice.part"  # kwargs: job_id, part
log = logging.getLogger(__name__)


def conninfo(db_url: str) -> str:
    """The libpq connection string of a SQLAlchemy PostgreSQL URL (driver name dropped)."""
    url = sa.engine.make_url(db_url)
    if url.get_backend_name() != "postgresql":
        raise ConfigError(f"The job queue needs PostgreSQL; BRANDVOICE_DB_URL is {url.drivername}.",
                          hint="On SQLite jobs run in a background process of the app "
                               "(BRANDVOICE_JOB_RUNNER=process, the default there).")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _deferrer():
    """An App that only defers, on the store's own connection (its pool is never opened)."""
    import procrastinate

    return procrastinate.App(connector=procrastinate.SyncPsycopgConnector())


def _driver(conn: Connection):
    """The psycopg connection under a store transaction (Procrastinate writes on it)."""
    return conn.connection.driver_connection


def lock_of(job: Mapping[str, Any]) -> str | None:
    """The queue lock of a job: one training per brand at a time."""
    brand = str((job.get("params") or {}).get("brand") or "").strip().casefold()
    return f"train:{brand}" if job["kind"] == "train" and brand else None


def plan(conn: Connection, job: Mapping[str, Any], size: int,
         parted: tuple[str, ...]) -> list[dict[str, Any]]:
    """The parts of a job: its contacts by id in runs of `size` (kinds in `parted`), else one."""
    if job["kind"] not in parted:
        return [{"part": 0, "first_contact": 0, "last_contact": 0, "contacts": 0}]
    ids = conn.execute(sa.select(contacts.c.id).where(contacts.c.job_id == job["id"])
                       .order_by(contacts.c.id)).scalars().all()
    if not ids:
        raise StateError(f"Job {job['id']} has no contacts to split into parts.",
                         hint="Start the batch again (`brandvoice generate ...`).")
    return [{"part": n, "first_contact": run[0], "last_contact": run[-1], "contacts": len(run)}
            for n, run in enumerate(ids[i:i + size] for i in range(0, len(ids), size))]


def _part_states(conn: Connection, job_ids: list[int], stale_s: float) -> list[Any]:
    """Each part of the jobs with its queue status and whether a live worker has it."""
    return conn.execute(sa.text("""
        SELECT p.job_id, p.part, p.status, p.host, q.status::text AS queue_status,
               (q.status = 'todo' OR (q.status = 'doing' AND w.last_heartbeat >
                  now() - make_interval(secs => :stale))) AS live
          FROM job_parts p
          LEFT JOIN procrastinate_jobs q ON q.id = p.queue_job_id
          LEFT JOIN procrastinate_workers w ON w.id = q.worker_id
         WHERE p.job_id = ANY(:ids)
    """), {"ids": list(job_ids), "stale": float(stale_s)}).all()


def describe(conn: Connection, job_ids: list[int], stale_s: float) -> dict[int, dict[str, Any]]:
    """Per job the queue knows: its parts by status, the hosts running them, live workers, and
    whether any part waits or runs on a live worker (`live`)."""
    if conn.dialect.name != "postgresql" or not job_ids:
        return {}
    workers = conn.execute(sa.text(
        "SELECT count(*) FROM procrastinate_workers WHERE last_heartbeat > "
        "now() - make_interval(secs => :stale)"), {"stale": float(stale_s)}).scalar()
    out: dict[int, dict[str, Any]] = {}
    for r in _part_states(conn, job_ids, stale_s):
        d = out.setdefault(r.job_id, {"parts": 0, "by_status": {}, "hosts": [], "live": False,
                                      "workers": workers})
        d["parts"] += 1
        d["by_status"][r.status] = d["by_status"].get(r.status, 0) + 1
        if r.status == "running" and r.live and r.host and r.host not in d["hosts"]:
            d["hosts"].append(r.host)
        d["live"] = d["live"] or bool(r.live)
    return out


def enqueue(store: Store, job_id: int, *, parted: tuple[str, ...]) -> int:
    """Put a queued job's parts that are not done, and not waiting or running already, in the
    queue (planning them the first time: a job of a kind in `parted` is split by its contacts);
    returns how many were deferred."""
    from procrastinate import exceptions as pq_errors

    size, stale = store.settings.job_part_size, store.settings.worker_timeout
    with store.tx() as conn:
        if conn.dialect.name != "postgresql":
            conninfo(store.url)  # the ConfigError that says why
        Store.lock(conn, f"job:{job_id}")
        job = conn.execute(sa.select(jobs).where(jobs.c.id == job_id)).mappings().first()
        if job is None or job["status"] != "queued":
            raise StateError(f"Job {job_id} is {job['status'] if job else 'missing'}, not queued.",
                             hint=f"Resume it first: `brandvoice jobs resume {job_id}`.")
        have = {r.part: r for r in conn.execute(sa.select(job_parts).where(
            job_parts.c.job_id == job_id))}
        if not have:
            rows = [dict(p, job_id=job_id, status="queued", attempts=0, done=0)
                    for p in plan(conn, job, size, parted)]
            conn.execute(job_parts.insert(), rows)
            have = {r["part"]: None for r in rows}
        live = {r.part for r in _part_states(conn, [job_id], stale) if r.live}
        todo = [n for n, r in sorted(have.items()) if n not in live and (r is None or r.status != "done")]
        if todo:
            lock = lock_of(job)
            try:
                with conn.begin_nested():  # a refused deferral must not end the transaction
                    ids = _deferrer().configure_task(
                        TASK, queue=QUEUE, lock=lock, queueing_lock=lock,
                        connection=_driver(conn)).batch_defer(
                        *({"job_id": job_id, "part": n} for n in todo))
            except pq_errors.AlreadyEnqueued:
                raise StateError(f"A training of brand {job['params'].get('brand')!r} is already "
                                 f"waiting in the queue; job {job_id} stays queued.",
                                 hint="Cancel one of them, or start this one when the other "
                                      "has begun.") from None
            for n, qid in zip(todo, ids, strict=True):
                conn.execute(job_parts.update().where(job_parts.c.job_id == job_id,
                                                      job_parts.c.part == n)
                             .values(queue_job_id=qid, status="queued", error=None))
        conn.execute(jobs.update().where(jobs.c.id == job_id).values(runner="queue", pid=None))
    return len(todo)


def cancel_waiting(conn: Connection, job_id: int) -> int:
    """Take a job's waiting parts out of the queue (in the caller's transaction); returns how many
    parts are running (they stop at their next progress report)."""
    rows = conn.execute(sa.text("""
        SELECT p.part, p.queue_job_id, q.status::text AS queue_status FROM job_parts p
          LEFT JOIN procrastinate_jobs q ON q.id = p.queue_job_id
         WHERE p.job_id = :id AND p.status NOT IN ('done', 'failed', 'cancelled')"""),
        {"id": job_id}).all()
    manager = _deferrer().job_manager
    running = 0
    for r in rows:
        if r.queue_status == "doing":
            running += 1
            continue
        if r.queue_status == "todo":
            manager.cancel_job_by_id(r.queue_job_id, connection=_driver(conn))
        conn.execute(job_parts.update().where(job_parts.c.job_id == job_id,
                                              job_parts.c.part == r.part).values(status="cancelled"))
    return running


async def _sweep_once(app, stale_s: float) -> int:
    """Put back in the queue the parts of workers whose heartbeat is older than `stale_s`."""
    try:
        stalled = await app.job_manager.get_stalled_jobs(queue=QUEUE, seconds_since_heartbeat=stale_s)
    except Exception as exc:  # noqa: BLE001 - a busy database: the next sweep tries again
        log.warning("Could not look for stalled parts: %s", exc)
        return 0
    n = 0
    for job in stalled:
        try:
            await app.job_manager.retry_job(job)
        except Exception:  # noqa: BLE001 - another worker's sweep took it first
            continue
        log.warning("Part %s of a dead worker is back in the queue.", job.task_kwargs)
        n += 1
    return n


async def _sweep(app, stale_s: float, every_s: float) -> None:
    while True:
        await asyncio.sleep(every_s)
        await _sweep_once(app, stale_s)


def serve(settings: Settings, run_part: Callable[[int, int, str], None], *, name: str,
          once: bool = False) -> None:
    """Run queued parts in this process until stopped (SIGINT/SIGTERM: after the running part),
    or with `once` until the queue is empty; `run_part(job_id, part, worker_label)` runs one."""
    import procrastinate

    app = procrastinate.App(connector=procrastinate.PsycopgConnector(
        conninfo=conninfo(str(settings.db_url)), min_size=1, max_size=3))

    @app.task(name=TASK, queue=QUEUE, pass_context=True)
    def _part(context, job_id: int, part: int) -> None:
        run_part(int(job_id), int(part), f"{name}#{context.job.id}")

    stale = settings.worker_timeout
    beat = max(1.0, min(10.0, stale / 6))

    # A loop already running in this thread (an app that embeds the worker, a test harness): the
    # worker gets a thread and a loop of its own, without signal handlers (the main thread's).
    own_thread = _loop_running()

    async def main() -> None:
        async with app.open_async():
            await _sweep_once(app, stale)  # first what dead workers left, then new work
            sweeper = asyncio.create_task(_sweep(app, stale, max(2.0, stale / 4)))
            try:
                await app.run_worker_async(queues=[QUEUE], name=name, wait=not once, concurrency=1,
                                           update_heartbeat_interval=beat,
                                           stalled_worker_timeout=stale,
                                           fetch_job_polling_interval=2.0,
                                           install_signal_handlers=not own_thread)
            finally:
                sweeper.cancel()

    if not own_thread:
        asyncio.run(main())
        return
    failed: list[BaseException] = []

    def in_thread() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:  # noqa: BLE001 - raised again in the caller's thread
            failed.append(exc)

    thread = threading.Thread(target=in_thread, name=f"brandvoice-worker-{name}")
    thread.start()
    thread.join()
    if failed:
        raise failed[0]


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
