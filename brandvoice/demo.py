"""The demo workspace: demo users, the demo brand's files, and a small pending review queue.

`brandvoice setup --demo` calls `prepare`; it is idempotent (run it again: nothing is duplicated).
The review queue is seeded for the first few contacts of the demo CRM export, one of two ways
(BRANDVOICE_DEMO_SEED = auto | model | quick; auto times the embedded model first):

- model: in a background process, a "demo" job trains the demo brand's adapter (a real training
  job, ~10 min on 2 shared cores) and then runs the real generation job with it (guardrails on), when the
  machine generates fast enough; both show up on the Brand voice and Generate pages;
- quick: a clearly labelled quick path without a generation model: each draft is one of the brand's
  best held-out past emails of the template's campaign, greeted by the contact's first name,
  checked by the real guardrails (tone against the training side, policy, personalization)
  and labelled adapter "demo quick path (past email, no model)" with the flag "demo-quick-path".
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
    from brandvoice.training import adapters
    from brandvoice.training import trainer as train

    job = jobs.get(store, job_id)
    params = job["params"]
    if params.get("quick_path"):
        return run_quick_job(store, job_id, reporter)
    settings = store.settings
    actor = _job_actor(store, job)
    reporter.update(done=0, total=2, force=True)
    result: dict = {}
    if not [a for a in adapters.list_adapters(store, BRAND.lower()) if a.status == "ready"]:
        config = train.TrainConfig(brand=BRAND, emails=params["emails"])
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
    config = generate.GenerationConfig(batch_size=2, max_tries=2, guard_tries=1)
    gen_id = generate.submit(store, settings, actor=actor, crm=params["crm"],
                             activities=params["activities"], template=params["template"],
                             adapter=str(adapter.id), brand=BRAND, config=config)
    reporter.log(f"Generating the demo drafts with {adapter.label} in job {gen_id}.")
    done = jobs.run(store, gen_id, generate.run_job)
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
    if job is None:
        mode = seed_mode(settings, n)
        if mode.startswith("quick"):
            yield f"Review queue: {mode}"
            yield from quick_drafts(store, template, crm_file, act_file)
            return
        yield f"Review queue: {mode}"
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


SEED_BUDGET_S = 120.0  # the real job seeds the queue when it should finish within this
SEED_TOKENS = 200  # rough length of one generated draft, in tokens
QUICK_LABEL = "demo quick path (past email, no model)"


def seed_mode(settings: Settings, n: int) -> str:
    """'model ...' or 'quick ...' (with the reason), from settings.demo_seed (BRANDVOICE_DEMO_SEED)
    or, for auto, a timing probe."""
    if settings.demo_seed == "model":
        return "model (BRANDVOICE_DEMO_SEED=model)"
    if settings.demo_seed == "quick":
        return "quick path without a model (BRANDVOICE_DEMO_SEED=quick)"
    tps = probe_speed(settings)
    estimate = n * SEED_TOKENS / max(tps, 1e-6)
    how = f"the base model writes {tps:.1f} tokens/s here, so {n} drafts take ~{estimate:.0f} s"
    if estimate <= SEED_BUDGET_S:
        return f"model ({how})"
    return (f"quick path ({how}; more than {SEED_BUDGET_S:.0f} s). Generate real drafts on the "
            "Generate page, or set BRANDVOICE_DEMO_SEED=model")


def probe_speed(settings: Settings, tokens: int = 24, max_time: float = 8.0) -> float:
    """Greedy tokens per second of the embedded base model here (2 prompts; stops after max_time)."""
    import torch

    from brandvoice import models, prompting
    from brandvoice.prompting import shape

    model = models.load_model(settings.base_model, "none", settings)
    tok = models.load_tokenizer(settings.base_model, settings)
    prompt = models.prompt_text(tok, shape.system_prompt(BRAND),
                                prompting.training_brief("content follow-up", "lead", "Controller"))
    enc = tok([prompt, prompt], return_tensors="pt", padding=True, add_special_tokens=False)
    with torch.inference_mode():
        model.generate(**enc, max_new_tokens=2, do_sample=False, pad_token_id=tok.pad_token_id)
        started = time.monotonic()
        out = model.generate(**enc, max_new_tokens=tokens, min_new_tokens=tokens, do_sample=False,
                             pad_token_id=tok.pad_token_id, max_time=max_time)
    elapsed = time.monotonic() - started
    return 2 * (out.shape[1] - enc["input_ids"].shape[1]) / max(elapsed, 1e-6)


def _greet(body: str, first_name: str) -> str:
    """The past email with its greeting addressed to the contact."""
    from brandvoice import prompting

    return prompting.readdress(body, first_name)


def quick_drafts(store, template, crm_file: Path, act_file: Path) -> Iterator[str]:
    """The labelled quick path, as a "demo" job run here: held-out past emails, guarded."""
    from brandvoice import jobs

    job_id = jobs.create(store, "demo", {
        "emails": str(files("emails")[0]), "crm": str(crm_file.resolve()),
        "activities": str(act_file.resolve()), "template": template.name,
        "template_hash": template.hash, "brand": BRAND, "quick_path": True},
        created_by="marketer")
    done = jobs.run(store, job_id, run_quick_job)
    if done["status"] != "done":
        yield (f"Review queue: demo job {job_id} {done['status']}: {done.get('error')}. "
               f"Resume it with `brandvoice jobs resume {job_id}`.")
        return
    yield (f"Review queue: {done['result']['new_drafts']} pending drafts (job {job_id}), labelled "
           f"'{QUICK_LABEL}'.")


def run_quick_job(store, job_id: int, reporter) -> dict:
    """The quick path's job: each contact gets one of the brand's best held-out past emails of the
    template's campaign, greeted by first name, checked by the real guardrails and created through
    the draft lifecycle (as the job's creator); a run again fills only what is missing."""
    import sqlalchemy as sa

    from brandvoice import corpus, crm, jobs, prompting
    from brandvoice.guardrails import Guard, store_results
    from brandvoice.store import drafts, lifecycle

    job = jobs.get(store, job_id)
    p, actor, settings = job["params"], job["created_by"], store.settings
    template = prompting.get_template(p["template"], settings)
    # The same corpus training would use: cleaned, high performers, held-out split. Drafts copy
    # held-out emails (the tone check compares them with the training side, as for real drafts).
    data = corpus.prepare(p["emails"], brand=BRAND)

    def best(emails: list) -> list:
        same = [e for e in emails if e.campaign == template.use_case]
        return sorted(same, key=lambda e: -(e.rate("click_rate") or 0.0))

    ranked = best(data.test) + best(data.train) or data.test  # held-out ones first
    result = crm.import_contacts(p["crm"], activities=p["activities"])
    ids = crm.snapshot_contacts(store, job_id, result.contacts)
    reporter.update(done=0, total=len(result.contacts), force=True)
    guard = Guard.for_brand(settings, BRAND, store=store, training_emails=data.train,
                            heldout_emails=data.test)  # the settings' embedder
    with store.tx() as conn:
        have = {c for (c,) in conn.execute(sa.select(drafts.c.contact_id)
                                           .where(drafts.c.job_id == job_id))}
        new = 0
        for i, contact in enumerate(result.contacts):
            if ids[contact["key"]] in have:
                continue
            past = ranked[i % len(ranked)]
            body = _greet(past.body, contact.get("first_name") or "there")
            verdict = guard.check(past.subject, body, contact, batch_contacts=result.contacts)
            draft_id = lifecycle.create(conn, dict(
                job_id=job_id, contact_id=ids[contact["key"]], variant=0, attempt=0, brand=BRAND,
                subject=past.subject, body=body, raw_output=None,
                prompt=f"(quick path: {past.source})", template_name=template.name,
                template_hash=template.hash, adapter_id=None, adapter_label=QUICK_LABEL,
                settings={"quick_path": True, "source": past.source}, seed=None,
                verdict=verdict.status, tone_score=verdict.tone_score,
                flags=["demo-quick-path"]), actor, job_id=job_id, contact=contact["key"],
                quick_path=True)
            store_results(store, conn, draft_id, 1, verdict)
            new += 1
    reporter.log(f"Demo quick path: {new} drafts from past {BRAND} emails (no model).")
    reporter.update(done=len(result.contacts), force=True)
    return {"quick_path": True, "new_drafts": new, "drafts": len(result.contacts)}


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
