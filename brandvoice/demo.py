"""The demo workspace: demo users, the demo brand's files, and a small pending review queue.

`brandvoice setup --demo` calls `prepare`; it is idempotent (run it again: nothing is duplicated).
The review queue is seeded for the first few contacts of the demo CRM export by a background
"demo" job (BRANDVOICE_DEMO_SEED = model, the default; none seeds nothing): it trains the demo
brand's adapter in a demo-sized run (`DEMO_TRAINING`: the slots its slot templates use, a fixed
step budget) and then runs the real generation job with it (guardrails on). Both show up on the
Brand voice and Generate pages, and the first model-written drafts reach the queue within the
minutes `bench/demo.py` measures on a busy 2-core machine. There is no path without the model:
drafts copied from past emails named the wrong download.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

from brandvoice import textio
from brandvoice.config import Settings

BRAND = "Ledgerly"
DATA_DIR = Path(__file__).resolve().parent.parent / "data"
FILES: dict[str, list[str]] = {
    "emails": ["emails_ledgerly.csv", "emails_brightbean.csv"],
    "crm": ["crm_hubspot_ledgerly.csv"],
    "activities": ["activities_ledgerly.csv"],
}
USERS = (("admin", "admin"), ("reviewer", "reviewer"), ("marketer", "marketer"))
# The day the demo CRM exports were taken: the demo plans campaigns as of it (its trials end
# ahead of it, its downloads are recent), whatever today's date.
EXPORT_DAY = date(2026, 11, 22)
SEED_CONTACTS = 6  # drafts generated for the first start: enough to review, quick on a CPU
SEED_TEMPLATE = "ledgerly_after_content_download"  # a slot template: the model writes short parts
# The demo's first adapter: the slot task only (the demo's templates are slot templates; whole
# emails from the embedded model were unusable), the base in full precision (on a CPU 1.7x the
# tokens/s of nf4: bench/results/train.json "variants") and a fixed budget of 40 steps of 2
# examples, so that the first drafts arrive in minutes even where other jobs share the 2 cores
# (bench/demo.py measures it; the full default run took 31 minutes on such a machine). The Train
# tab trains the full run.
DEMO_TRAINING = {"whole_emails": False, "max_steps": 40, "grad_accum": 2, "quantization": "none"}
DEMO_CANDIDATES = 2  # two openings per contact: more of them written by the model, not the fallback


def password(settings: Settings) -> str:
    """The demo users' password (settings.demo_password: BRANDVOICE_DEMO_PASSWORD, default
    "brandvoice-demo")."""
    return settings.demo_password


def files(kind: str) -> list[Path]:
    """The demo input files of one kind ("emails", "crm", "activities")."""
    return [DATA_DIR / name for name in FILES.get(kind, [])]


def ensure_users(store) -> Iterator[str]:
    """Create the demo admin, reviewer and marketer unless they exist."""
    from brandvoice import users
    from brandvoice.errors import BrandvoiceError

    pw = password(store.settings)
    existing = {u["username"] for u in users.list_users(store)}
    admin, created = None, set()
    if not existing:
        admin = users.add_user(store, "admin", pw, "admin", actor=None)
        existing.add("admin")
        created.add("admin")
        yield f"Created user admin (admin), password {pw!r}"
    for name, role in USERS:
        if name in created:
            continue
        if name in existing:
            yield f"User {name} exists"
            continue
        if admin is None:
            try:
                admin = users.authenticate(store, "admin", pw)
            except BrandvoiceError:
                yield (f"Skipped demo user {name}: the store has other users and no admin with the "
                       "demo password. Add users with `brandvoice users add`.")
                continue
        users.add_user(store, name, pw, role, actor=admin)
        yield f"Created user {name} ({role}), password {pw!r}"


def _read_csv(path: Path) -> tuple[list[str], list[dict]]:
    table = textio.open_table(path, what="Demo file", formats=("csv",))
    return table.header, [dict(zip(table.header, cells, strict=False)) for _, cells in table.rows()]


def _seed_crm(settings: Settings, template, n: int) -> tuple[Path, Path]:
    """The first n demo contacts the template can write to, and their activities, as own files."""
    from brandvoice import crm, prompting

    src, acts = files("crm")[0], files("activities")[0]
    result = crm.import_contacts(src, activities=acts)
    ok = set(prompting.completeness(template, result.contacts)["ok"][:n])
    chosen = [c for c in result.contacts if str(c["key"]) in ok]
    emails = {c["email"].lower() for c in chosen}
    refs = {str(c["key"]) for c in chosen} | emails
    column = result.mapping["email"]
    header, rows = _read_csv(src)
    crm_out = settings.home / "demo" / f"crm_seed_{template.name}.csv"
    textio.write_csv(crm_out, header, [r for r in rows if (r.get(column) or "").strip().lower() in emails])
    act_header, act_rows = _read_csv(acts)
    ref_col = act_header[0]  # the contact reference (record id or email) comes first
    act_out = settings.home / "demo" / f"activities_seed_{template.name}.csv"
    textio.write_csv(act_out, act_header,
               [r for r in act_rows if (r.get(ref_col) or "").strip().lower() in refs])
    return crm_out, act_out


def _seed_job(store, crm_file: Path) -> dict | None:
    """The demo's earlier seed job (same seed file), if there is one."""
    from brandvoice import jobs

    for job in jobs.list_jobs(store, "demo", limit=200) + jobs.list_jobs(store, "generate", limit=200):
        if (job.get("params") or {}).get("crm") == str(crm_file.resolve()):
            return job
    return None


def _job_actor(store, job: dict):
    """The user a demo job acts as: the one who created it (the demo marketer)."""
    from brandvoice import users

    return users.get_user(store, job.get("created_by") or "marketer")


def run_seed_job(store, job_id: int, reporter) -> dict:
    """The "demo" job: train the demo adapter (unless one is ready), then generate the seed drafts
    (or, for the quick path, `run_quick_job`)."""
    from brandvoice import jobs
    from brandvoice.errors import StateError
    from brandvoice.generation import batch as generate
    from brandvoice.generation import runner
    from brandvoice.training import adapters
    from brandvoice.training import trainer as train

    job = jobs.get(store, job_id)
    params = job["params"]
    if params.get("quick_path"):  # a job of an older version, which copied past emails
        raise StateError("This demo job was made by an older version that copied past emails; "
                         "nothing to resume.", hint="Generate drafts on the Generate page.")
    settings = store.settings
    actor = _job_actor(store, job)
    reporter.update(done=0, total=2, force=True)
    result: dict = {}
    if not [a for a in adapters.list_adapters(store, BRAND.lower()) if a.status == "ready"]:
        config = train.TrainConfig(brand=BRAND, emails=params["emails"], **DEMO_TRAINING)
        train_id = train.submit(store, settings, config, actor)
        reporter.log(f"Training the {BRAND} adapter in job {train_id}.")
        done = jobs.run(store, train_id, train.run_job)
        if done["status"] != "done":
            raise StateError(f"Training job {train_id} {done['status']}: {done.get('error')}",
                             hint=f"Resume it with `brandvoice jobs resume {train_id}`.")
        result["train_job"] = train_id
    reporter.update(done=1, force=True)
    adapter = adapters.get_adapter(store, BRAND.lower())
    # Small batches: the first drafts reach the queue early. One retry at most: on a CPU each
    # attempt costs tens of seconds, and a draft that failed a check is still worth reviewing.
    config = generate.GenerationConfig(batch_size=2, max_tries=2, guard_tries=1,
                                       candidates=DEMO_CANDIDATES)
    gen_id = generate.submit(store, settings, actor=actor, crm=params["crm"],
                             activities=params["activities"], template=params["template"],
                             adapter=str(adapter.id), brand=BRAND, config=config)
    reporter.log(f"Generating the demo drafts with {adapter.label} in job {gen_id}.")
    done = jobs.run(store, gen_id, runner.run_job)
    if done["status"] != "done":
        raise StateError(f"Generation job {gen_id} {done['status']}: {done.get('error')}",
                         hint=f"Resume it with `brandvoice jobs resume {gen_id}`.")
    reporter.update(done=2, force=True)
    return {**result, "generate_job": gen_id, "adapter": adapter.label}


def seed_queue(store, settings: Settings, *, n: int = SEED_CONTACTS,
               wait: bool | None = None) -> Iterator[str]:
    """Train the demo adapter and generate a few pending drafts with it, through real jobs.

    By default the job runs in a background process, so that the app starts at once and the drafts
    appear in the queue as they are written; wait=True (or settings.demo_wait,
    BRANDVOICE_DEMO_WAIT=1) runs it here.
    """
    from brandvoice import jobs, prompting, review

    if wait is None:
        wait = settings.demo_wait
    template = prompting.get_template(SEED_TEMPLATE, settings)
    crm_file, act_file = _seed_crm(settings, template, n)
    job = _seed_job(store, crm_file)
    _, total = review.list_queue(store, brand=BRAND, limit=1)
    if job is None and total:
        yield f"Review queue: {total} demo drafts already there"
        return
    if job is None and settings.demo_seed == "none":
        yield "Review queue: not seeded (BRANDVOICE_DEMO_SEED=none)"
        return
    if job is not None and job["status"] == "done":
        yield f"Review queue: demo job {job['id']} done ({total} demo drafts)"
        return
    if job is not None and job["status"] in (*jobs.ACTIVE, "cancelling"):
        yield f"Review queue: demo job {job['id']} is {job['status']}"
        return
    if job is None:
        job_id = jobs.create(store, "demo", {
            "emails": str(files("emails")[0]), "crm": str(crm_file.resolve()),
            "activities": str(act_file), "template": template.name, "contacts": n},
            created_by="marketer", total=2)
        what = "training the demo adapter, then generating"
    else:
        job_id, what = job["id"], f"resuming ({job['status']})"
        jobs.resume(store, _job_actor(store, job), job_id)
    yield (f"Review queue: {what} {n} drafts with it (template {template.name}) in job {job_id}.")
    if not wait:
        pid = jobs.start(settings, job_id)
        yield (f"  In the background ({jobs.where(pid)}): training shows on the Brand voice page, "
               f"drafts appear in the review queue as they are written; `brandvoice jobs show {job_id}`.")
        return
    started = time.monotonic()
    done = jobs.run(store, job_id, run_seed_job)
    if done["status"] != "done":
        yield (f"Review queue: demo job {job_id} {done['status']}: {done.get('error')}. "
               f"Resume it with `brandvoice jobs resume {job_id}`.")
        return
    gen_id = (done.get("result") or {}).get("generate_job", job_id)
    _, total = review.list_queue(store, job_id=gen_id, limit=1)
    yield f"Review queue: {total} drafts pending ({time.monotonic() - started:.0f} s)"


def prepare(settings: Settings) -> Iterator[str]:
    """Prepare the demo workspace; yields progress lines."""
    from brandvoice.store import Store

    yield f"Workspace: {settings.home}"
    store = Store(settings)
    yield from ensure_users(store)
    for kind, paths in ((k, files(k)) for k in FILES):
        for p in paths:
            yield f"Demo {kind} file: {p}" + ("" if p.is_file() else " (missing)")
    yield from seed_queue(store, settings)
    yield "Ready: `make run` (or `streamlit run app.py`) and sign in as reviewer or marketer."
