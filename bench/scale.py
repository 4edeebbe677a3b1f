"""Benchmark: one generate job of 100,000 contacts on PostgreSQL, run by 1, 2 and 4 queue workers
(`brandvoice worker` processes) against a stub OpenAI-compatible server; then a worker killed
(SIGKILL) in the middle of a part, and the job still exact.

What it measures is the job queue and the workers (render, guard with the brand's rules, store):
the stub answers each request after a fixed delay (--latency: a GPU server's time per request,
with as many requests in flight as the workers send), so the model's own speed is not in the
figures; docs/scale.md projects it. Each run is checked: every contact has exactly one draft, one
"create" audit event per draft, and every part is done. The load average (1, 5, 15 min) is
recorded before and after each run: the machine is shared.

Usage: python bench/scale.py [--contacts 100000] [--workers 1,2,4] [--kill] [--db-url URL]
       [--latency 0.5] [--batch 32] [--concurrency 32] [--out bench/results/scale.json]
Without --db-url it starts a throwaway PostgreSQL (tests/pg_cluster.sh) and stops it at the end.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

FIRST = ["Dana", "Marcus", "Priya", "Tomas", "Hannah", "Kevin", "Sofia", "James", "Aisha", "Ryan",
         "Mei", "Lucia", "Oren", "Farah", "Niels", "Grace", "Ivan", "Zola", "Pablo", "Keiko"]
LAST = ["Reyes", "Okafor", "Raman", "Herrera", "Lindqvist", "Osei", "Marchetti", "Whitaker", "Bello"]
TITLES = ["VP Finance", "Controller", "CFO", "Accounting Manager", "Head of Finance"]
HEADER = ["Record ID", "First Name", "Last Name", "Email", "Company Name", "Job Title",
          "Lifecycle Stage", "Lead Status"]
MODEL = "stub-base"


def write_crm(path: Path, n: int, seed: int = 0) -> Path:
    rnd = random.Random(seed)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        for i in range(n):
            w.writerow([str(100000 + i), rnd.choice(FIRST), rnd.choice(LAST), f"p{i}@firm{i}.example",
                        f"Firm {i % 7000}", rnd.choice(TITLES), "lead", "Open"])
    return path


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


class Cluster:
    """A throwaway PostgreSQL (tests/pg_cluster.sh), or the one given."""

    def __init__(self, url: str | None, where: Path):
        self.dir = where / "pg" if url is None else None
        if self.dir is not None:
            out = subprocess.run(["bash", str(REPO / "tests" / "pg_cluster.sh"), "start",
                                  str(self.dir)], capture_output=True, text=True, check=True)
            url = out.stdout.strip().splitlines()[-1]
        self.url = url

    def stop(self) -> None:
        if self.dir is not None:
            subprocess.run(["bash", str(REPO / "tests" / "pg_cluster.sh"), "stop", str(self.dir)],
                           check=False)


def submit(settings, crm: Path, args) -> tuple[int, float]:
    from brandvoice import generation, jobs, users
    from brandvoice.errors import NotFoundError
    from brandvoice.store import Store

    store = Store(settings)
    try:
        actor = users.get_user(store, "bench")
    except NotFoundError:
        actor = users.add_user(store, "bench", "bench-password-1", "admin")
    config = generation.GenerationConfig(
        backend="openai", server_url=args.server_url, model=args.model, batch_size=args.batch,
        concurrency=args.concurrency, candidates=1, max_tries=1, guard_tries=1, backoff=0.2)
    t0 = time.perf_counter()
    job_id = generation.submit(store, settings, actor=actor, crm=crm, template="reengage_cold_lead",
                               base_model="smollm2-135m-instruct", brand="Ledgerly", config=config)
    jobs.start(settings, job_id)  # the queue: split into parts, deferred
    return job_id, time.perf_counter() - t0


def start_workers(n: int, env: dict, logs: Path, first: int = 0) -> list[subprocess.Popen]:
    procs = []
    for i in range(first, first + n):
        log = open(logs / f"worker-{i}.log", "ab")  # noqa: SIM115 - closed with the process
        procs.append(subprocess.Popen([str(Path(sys.executable).parent / "brandvoice"), "worker",
                                       "--name", f"w{i}"], env=env, stdout=log, stderr=subprocess.STDOUT,
                                      cwd=REPO))
    return procs


def stop_workers(procs: list[subprocess.Popen]) -> dict[str, float]:
    """SIGTERM each worker (it ends after its part) and collect its CPU seconds."""
    cpu = {}
    for p in procs:  # os.kill, not send_signal: that would reap a killed worker before wait4
        try:
            os.kill(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    for p in procs:
        try:
            _, status, usage = os.wait4(p.pid, 0)
        except ChildProcessError:  # reaped already: its CPU time is not known
            cpu[str(p.pid)] = None
            continue
        p.returncode = status
        cpu[str(p.pid)] = round(usage.ru_utime + usage.ru_stime, 1)
    return cpu


def exactness(store, job_id: int) -> dict:
    import sqlalchemy as sa

    with store.read() as conn:
        q = lambda sql: conn.execute(sa.text(sql), {"id": job_id}).scalar()  # noqa: E731
        return {
            "contacts": q("SELECT count(*) FROM contacts WHERE job_id = :id"),
            "drafts": q("SELECT count(*) FROM drafts WHERE job_id = :id"),
            "contacts_with_a_draft": q("SELECT count(DISTINCT contact_id) FROM drafts WHERE job_id = :id"),
            "create_audit_events": q("SELECT count(*) FROM audit a JOIN drafts d ON d.id = a.draft_id "
                                     "WHERE d.job_id = :id AND a.action = 'create'"),
            "parts": q("SELECT count(*) FROM job_parts WHERE job_id = :id"),
            "parts_done": q("SELECT count(*) FROM job_parts WHERE job_id = :id AND status = 'done'"),
            "part_runs": q("SELECT sum(attempts) FROM job_parts WHERE job_id = :id"),
        }


def wait_done(store, job_id: int, procs, *, kill_at: float | None = None, poll: float = 1.0):
    """Poll the job until it is done; with `kill_at`, SIGKILL the first worker once that share of
    the job is written, while it is in the middle of a part. Returns (seconds, kill facts)."""
    import sqlalchemy as sa

    from brandvoice import jobs

    t0, killed = time.perf_counter(), None
    while True:
        job = jobs.get(store, job_id)
        if job["status"] in ("done", "failed", "cancelled") or \
                (job["status"] == "interrupted" and kill_at is None):
            return time.perf_counter() - t0, job, killed
        if kill_at is not None and killed is None and job["done"] >= kill_at * job["total"]:
            # SIGKILL the first worker once it is in the middle of a part
            with store.read() as conn:
                part = conn.execute(sa.text(
                    "SELECT part, first_contact, last_contact, contacts FROM job_parts WHERE "
                    "job_id = :id AND status = 'running' AND worker LIKE 'w0#%'"),
                    {"id": job_id}).first()
            before = _drafts_in(store, job_id, part) if part is not None else 0
            # in the middle of a part: some of its chunks stored, the next one on its way
            if part is not None and 0 < before < part.contacts:
                os.kill(procs[0].pid, signal.SIGKILL)
                time.sleep(0.5)
                killed = {"part": part.part, "at_done": job["done"], "after_s": round(time.perf_counter() - t0, 1),
                          "part_drafts_when_killed": _drafts_in(store, job_id, part),
                          "part_drafts_a_moment_before": before}
        time.sleep(poll)


def _drafts_in(store, job_id, part) -> int:
    import sqlalchemy as sa

    with store.read() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM drafts WHERE job_id = :id AND contact_id "
                                    "BETWEEN :a AND :b"), {"id": job_id, "a": part.first_contact,
                                                           "b": part.last_contact}).scalar()


def one_run(settings, env, crm, args, n: int, logs: Path, kill: bool = False) -> dict:
    from brandvoice.store import Store

    store = Store(settings)
    job_id, submit_s = submit(settings, crm, args)
    before = load()
    procs = start_workers(n, env, logs)
    seconds, job, killed = wait_done(store, job_id, procs, kill_at=0.3 if kill else None)
    after = load()
    cpu = stop_workers(procs)
    facts = exactness(store, job_id)
    exact = (facts["drafts"] == facts["contacts"] == facts["contacts_with_a_draft"]
             == facts["create_audit_events"] and facts["parts_done"] == facts["parts"])
    run = {"workers": n, "job": job_id, "status": job["status"], "error": job.get("error"),
           "contacts": facts["contacts"], "seconds": round(seconds, 1),
           "drafts_per_s": round(facts["drafts"] / seconds, 1), "submit_seconds": round(submit_s, 1),
           "exactly_once": exact, "checks": facts, "worker_cpu_s": cpu,
           "load_before": before, "load_after": after}
    if kill:
        if killed is not None:
            import sqlalchemy as sa

            with store.read() as conn:
                row = conn.execute(sa.text(
                    "SELECT attempts, contacts, first_contact, last_contact, host FROM job_parts "
                    "WHERE job_id = :id AND part = :p"), {"id": job_id, "p": killed["part"]}).first()
            killed.update(part_contacts=row.contacts, part_runs=row.attempts,
                          part_drafts_at_end=_drafts_in(store, job_id, row))
        run["killed"] = killed
    print(json.dumps({k: v for k, v in run.items() if k not in ("checks", "worker_cpu_s")}),
          flush=True)
    return run


def _load(values) -> str:
    return ", ".join(f"{v:.1f}" for v in values)


def table(result: dict) -> str:
    """The runs as a markdown table (bench/docs.py writes it into docs/scale.md), and the kill."""
    lines = ["| workers | contacts | seconds | drafts/s | vs 1 worker | every contact drafted once "
             "| load average (1, 5, 15 min) before → after |",
             "|---|---|---|---|---|---|---|"]
    for r in result["runs"]:
        who = f"{r['workers']}, one killed" if "killed" in r else str(r["workers"])
        lines.append(f"| {who} | {r['contacts']:,} | {r['seconds']:,} | {r['drafts_per_s']} | "
                     f"{r['speedup_vs_1']:.2f}× | {'yes' if r['exactly_once'] else 'NO'} | "
                     f"{_load(r['load_before'])} → {_load(r['load_after'])} |")
    s = result["settings"]
    lines += ["", f"Stub latency {s['stub_latency_s']} s per request, {s['concurrency_per_worker']} "
              f"requests in flight per worker, chunks of {s['batch_size']}, parts of "
              f"{s['part_size']} contacts, worker timeout {s['worker_timeout_s']} s."]
    killed = next((r["killed"] for r in result["runs"] if r.get("killed")), None)
    if killed:
        lines += ["", f"The killed worker (SIGKILL, {killed['after_s']} s into the run) had stored "
                  f"{killed['part_drafts_when_killed']} of the {killed['part_contacts']} drafts of "
                  f"its part {killed['part']}; the part ran {killed['part_runs']} times and ended "
                  f"with {killed['part_drafts_at_end']} drafts."]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--contacts", type=int, default=100_000)
    ap.add_argument("--workers", default="1,2,4")
    ap.add_argument("--kill", action="store_true", help="Also the run with a worker killed.")
    ap.add_argument("--kill-workers", type=int, default=2)
    ap.add_argument("--db-url")
    ap.add_argument("--latency", type=float, default=0.5)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--part-size", type=int, default=500)
    ap.add_argument("--worker-timeout", type=float, default=15.0)
    ap.add_argument("--server-url", help="A real OpenAI-compatible server instead of the stub.")
    ap.add_argument("--model", default=MODEL, help="The model name the server serves.")
    ap.add_argument("--out", default=str(REPO / "bench" / "results" / "scale.json"))
    args = ap.parse_args()

    from brandvoice.config import Settings

    tmp = Path(tempfile.mkdtemp(prefix="bv-scale-"))
    tmp.chmod(0o755)  # the throwaway server runs as its own user
    cluster = Cluster(args.db_url, tmp)
    stub = None
    if args.server_url is None:  # the stub stands for the GPU server
        stub = subprocess.Popen([sys.executable, str(REPO / "tests" / "helpers_openai.py"), "--model",
                                 args.model, "--latency", str(args.latency)], stdout=subprocess.PIPE,
                                text=True)
    try:
        if stub is not None:
            args.server_url = stub.stdout.readline().strip()
        env = {k: v for k, v in os.environ.items() if not k.startswith("BRANDVOICE_")}
        env.update(BRANDVOICE_HOME=str(tmp / "home"), BRANDVOICE_DB_URL=cluster.url,
                   BRANDVOICE_JOB_PART_SIZE=str(args.part_size),
                   BRANDVOICE_WORKER_TIMEOUT=str(args.worker_timeout), OMP_NUM_THREADS="1")
        settings = Settings(home=tmp / "home", db_url=cluster.url, job_part_size=args.part_size,
                            worker_timeout=args.worker_timeout)
        crm = write_crm(tmp / "contacts.csv", args.contacts)
        logs = tmp / "logs"
        logs.mkdir()
        runs = [one_run(settings, env, crm, args, int(n), logs) for n in args.workers.split(",")]
        if args.kill:
            runs.append(one_run(settings, env, crm, args, args.kill_workers, logs, kill=True))
    finally:
        if stub is not None:
            stub.terminate()
        cluster.stop()
    base = next((r["drafts_per_s"] for r in runs if r["workers"] == 1 and "killed" not in r), None)
    for r in runs:
        r["speedup_vs_1"] = round(r["drafts_per_s"] / base, 2) if base else None
    result = {
        "what": "one generate job, N queue workers (processes) on PostgreSQL, stub OpenAI server",
        "command": "python bench/scale.py " + " ".join(sys.argv[1:]),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "peak_rss_mb_of_this_process": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024},
        "settings": {"contacts": args.contacts, "server": "stub" if stub is not None else args.server_url,
                     "stub_latency_s": args.latency, "batch_size": args.batch,
                     "concurrency_per_worker": args.concurrency, "part_size": args.part_size,
                     "worker_timeout_s": args.worker_timeout, "guard": "brand (rules; no adapter: "
                     "tone not checked)", "template": "reengage_cold_lead", "brand": "Ledgerly"},
        "runs": runs,
        "logs": str(logs),
    }
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
