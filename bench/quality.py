"""Draft quality on the embedded model, read against ../shared/QUALITY.md.

    python bench/quality.py run      # train each demo brand's adapter, write every draft of every job
    python bench/quality.py report   # join the drafts with the labels, write results and the docs table

`run` uses a scratch BRANDVOICE_HOME per base model preset (bench/.quality-home-PRESET, reused by
later runs, so an adapter is
trained once): for each demo brand and each template it can use, one generation job over every
contact of the brand's demo CRM export that the template can write to: slot mode (the brand's slot
templates) and whole-email mode (the shared templates), with k = 1 and the default k. Every draft
of every job is written to bench/results/quality_drafts.jsonl (all drafts, not the best ones), with
its parts, slot choices and guardrail verdict. Then one timing job: 100 contacts, slot mode,
default k.

Drafts are scored by reading, each in full with the brief and the contact's CRM row beside it, on
QUALITY.md's 1-5 scale; each model-written slot is judged good or not on its own. Labels live in
tests/data/labelled/drafts.jsonl (the guardrails are calibrated and tested on them too), matched to
drafts by `key`. `report` counts only labelled drafts and says how many are unlabelled.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("BRANDVOICE_MODELS_DIR", str(REPO / ".brandvoice" / "models"))

from benchuser import marketer  # noqa: E402

RESULTS = REPO / "bench" / "results"
DRAFTS = RESULTS / "quality_drafts.jsonl"
LABELS = REPO / "tests" / "data" / "labelled" / "drafts.jsonl"
BRANDS = {
    "Ledgerly": {"emails": "data/emails_ledgerly.csv", "crm": "data/crm_hubspot_ledgerly.csv",
                 "activities": "data/activities_ledgerly.csv", "prefix": "ledgerly_"},
    "Bright Bean": {"emails": "data/emails_brightbean.csv", "crm": "data/crm_pipedrive_brightbean.csv",
                    "activities": "data/activities_brightbean.csv", "prefix": "brightbean_"},
}
CONTACT_FIELDS = ("key", "first_name", "last_name", "company", "job_title", "lifecycle_stage",
                  "lead_status")


def log(msg: str) -> None:
    print(f"[bench/quality {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def draft_key(brand: str, template: str, mode: str, k: int, contact: str, subject: str,
              body: str) -> str:
    """A draft's identity for its label: what was asked and what was written."""
    blob = json.dumps([brand, template, mode, k, contact, subject, body], ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def open_home(home: Path):
    os.environ["BRANDVOICE_HOME"] = str(home)
    from brandvoice.config import Settings
    from brandvoice.store import Store

    return Store(Settings.from_env())


def ensure_adapter(store, brand: str, spec: dict, timings: dict, preset: str | None = None,
                   train: dict | None = None):
    """The brand's newest ready adapter in the bench home; trained with the preset's default
    settings (and `train` overrides) if none."""
    from brandvoice import models, training, worker
    from brandvoice.errors import NotFoundError

    try:
        return training.get_adapter(store, brand)
    except NotFoundError:
        pass
    preset = preset or models.DEFAULT_MODEL
    log(f"training {brand} on {preset} (default settings {train or ''})")
    t0 = time.perf_counter()
    cfg = training.TrainConfig(brand=brand, emails=str(REPO / spec["emails"]), base_model=preset,
                               **(train or {}))
    job = worker.run(store, training.submit(store, store.settings, cfg, marketer(store)))
    if job["status"] != "done":
        raise SystemExit(f"training {brand} {job['status']}: {job['error']}")
    timings[f"train:{preset}:{brand}"] = {"seconds": round(time.perf_counter() - t0, 1),
                                          "load_avg": round(os.getloadavg()[0], 2),
                                          "settings": cfg.identity(),
                                          "metrics": job["result"]["metrics"]}
    return training.get_adapter(store, brand)


def run_job(store, brand: str, spec: dict, template, adapter, k: int, crm: Path | None = None,
            activities: Path | None = None, overrides: dict | None = None,
            tag: str = "", base_model: str | None = None) -> tuple[dict, list[dict]]:
    """One generation job; (timing, drafts as records)."""
    from brandvoice import generation, models, worker

    base_model = adapter.base_model if adapter is not None else (base_model or models.DEFAULT_MODEL)
    cfg = generation.GenerationConfig(**{**(overrides or {}), "candidates": k})
    t0 = time.perf_counter()
    job_id = generation.submit(store, store.settings, actor=marketer(store), crm=crm or REPO / spec["crm"],
                               activities=activities or REPO / spec["activities"],
                               template=template.name, brand=brand, config=cfg,
                               adapter=str(adapter.id) if adapter is not None else None,
                               base_model=None if adapter is not None else base_model)
    job = worker.run(store, job_id)
    seconds = time.perf_counter() - t0
    if job["status"] != "done":
        raise SystemExit(f"{template.name} k={k}: {job['status']}: {job['error']}")
    run = job["result"]["run"]
    timing = {"brand": brand, "template": template.name, "mode": template.kind, "k": k,
              "model": adapter.label if adapter is not None else "base",
              "drafts": job["result"]["drafts"], "seconds": round(seconds, 1),
              "new_tokens": run["new_tokens"], "tokens_per_s": run["tokens_per_s"], "tag": tag,
              "base": base_model, "load_avg": round(os.getloadavg()[0], 2)}
    records = job_records(store, job_id, brand, template.name, template.kind, k)
    for r in records:
        r["tag"], r["base"] = tag, base_model
    return timing, records


def job_records(store, job_id: int, brand: str, template: str, mode: str, k: int) -> list[dict]:
    """Every draft of a job as a record (what readers read, what the report counts)."""
    from brandvoice import review

    rows, _ = review.list_queue(store, job_id=job_id, limit=1000)
    records = []
    for r in rows:
        d = review.get_draft(store, r["id"])
        contact = (d.get("contact") or {}).get("data") or {}
        slots = (d.get("settings") or {}).get("slots") or []
        records.append({
            "key": draft_key(brand, template, mode, k, str(contact.get("key")),
                             d["subject"], d["body"]),
            "brand": brand, "template": template, "mode": mode, "k": k,
            "model": d["adapter_label"], "contact": {f: contact.get(f) for f in CONTACT_FIELDS},
            # every activity with its date: readers judge time words and facts against them
            "activities": [f"{str(a.get('timestamp') or '')[:10]} {a.get('type')}: {a.get('detail')}"
                           for a in contact.get("activities") or []],
            "subject": d["subject"], "body": d["body"], "flags": d["flags"],
            "verdict": d["verdict"],
            "problems": [f"{g['status']} {g['check']}/{g['rule']}: {g['message'][:160]}"
                         for g in d["guardrails"] if g["status"] != "pass"],
            "slots": [{"name": s["name"], "kind": s["kind"], "source": s["source"],
                       "text": s["text"], "reason": s["reason"]} for s in slots]})
    return records


def hundred_contacts(folder: Path, spec: dict, template) -> tuple[Path, Path]:
    """The brand's demo contacts that `template` can use, repeated to 100 contacts (fresh ids and
    emails), with each one's activities copied to its new id: (CRM file, activities file)."""
    from brandvoice import crm, prompting

    usable = {str(c["key"]) for c in crm.import_contacts(
        REPO / spec["crm"], activities=REPO / spec["activities"]).contacts
        if not prompting.missing_fields(template, c)}
    with (REPO / spec["crm"]).open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        fields, rows = reader.fieldnames, [r for r in reader if r.get("Record ID") in usable]
    with (REPO / spec["activities"]).open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        act_fields, acts = reader.fieldnames, list(reader)
    crm_path, act_path = folder / "crm_100.csv", folder / "activities_100.csv"
    with crm_path.open("w", encoding="utf-8", newline="") as fh, \
            act_path.open("w", encoding="utf-8", newline="") as ah:
        w, aw = csv.DictWriter(fh, fieldnames=fields), csv.DictWriter(ah, fieldnames=act_fields)
        w.writeheader()
        aw.writeheader()
        for i in range(100):
            row = dict(rows[i % len(rows)])
            old, row["Record ID"] = row["Record ID"], str(90000 + i)
            row["Email"] = f"contact{i}@bench.example"
            w.writerow(row)
            for a in acts:
                if a["contact_id"] == old:
                    aw.writerow({**a, "contact_id": row["Record ID"]})
    return crm_path, act_path


def every_kind(home: Path, min_shape: float | None = None) -> Path:
    """A copy of the brand policies in which the model writes every slot kind (`[slots]
    model_kinds` dropped): what a preset can do, before a brand's policy narrows it; with
    `min_shape`, every policy's slot shape threshold set to it."""
    import shutil

    from brandvoice import textio

    out = home / "guardrails-every-kind"
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(REPO / "guardrails", out)
    for path in out.glob("*.toml"):
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        kept = [ln for ln in lines if not ln.lstrip().startswith(("model_kinds", "min_shape"))
                or min_shape is None and ln.lstrip().startswith("min_shape")]
        if min_shape is not None:
            at = next((i for i, ln in enumerate(kept) if ln.strip() == "[slots]"), None)
            if at is None:
                kept += ["\n[slots]\n"]
                at = len(kept) - 1
            kept.insert(at + 1, f"min_shape = {min_shape}\n")
        textio.atomic_write(path, "".join(kept))
    return out


def cmd_run(args) -> None:
    from brandvoice import prompting

    home = Path(args.home or REPO / "bench" / f".quality-home-{args.preset}").resolve()
    if args.kinds == "every":
        os.environ["BRANDVOICE_GUARDRAILS"] = str(every_kind(home, args.min_shape))
    store = open_home(home)
    train = {k: json.loads(v) for k, v in (kv.split("=", 1) for kv in args.train)}
    timings: dict = {"jobs": []}
    records: list[dict] = []
    ks = sorted({int(x) for x in args.k.split(",")})
    for brand, spec in BRANDS.items():
        if args.brands and brand not in args.brands.split(","):
            continue
        adapter = ensure_adapter(store, brand, spec, timings, args.preset, train) \
            if "adapter" in args.models else None
        templates = [t for t in prompting.list_templates(store.settings)
                     if (t.brand == brand and t.kind == "slots") or (t.brand is None and "email" in args.modes)]
        templates = [t for t in templates if t.kind in args.modes.split(",")]
        if args.templates:
            templates = [t for t in templates if t.name in args.templates.split(",")]
        for template in templates:
            for model in args.models.split(","):
                for k in ks:
                    log(f"{brand} {template.name} ({template.kind}) {model} k={k}")
                    timing, recs = run_job(store, brand, spec, template,
                                           adapter if model == "adapter" else None, k,
                                           overrides=dict(kv.split("=", 1) for kv in args.set),
                                           tag=args.tag, base_model=args.preset)
                    timings["jobs"].append(timing)
                    records += recs
                    log(f"  {timing['drafts']} drafts in {timing['seconds']} s")
    if args.timing:
        brand, spec = "Ledgerly", BRANDS["Ledgerly"]
        adapter = ensure_adapter(store, brand, spec, timings, args.preset, train)
        template = prompting.get_template("ledgerly_after_content_download", store.settings)
        crm, activities = hundred_contacts(home, spec, template)
        from brandvoice import generation

        k = args.default_k or generation.GenerationConfig().candidates
        timing, _ = run_job(store, brand, spec, template, adapter, k, crm=crm,
                            activities=activities)
        timings[f"hundred_contacts:{args.preset}"] = timing
        log(f"100 contacts: {timing['seconds']} s")
    merge(Path(args.out), records, timings)
    log(f"{len(records)} drafts -> {args.out}")


def _job(r: dict) -> tuple:
    return (r["brand"], r["template"], r["mode"], r["k"], r["model"], r.get("tag", ""),
            r.get("base") or "smollm2-135m-instruct")


def merge(out: Path, records: list[dict], timings: dict) -> None:
    """Add this run's drafts and timings to earlier runs' (a job run again replaces its drafts),
    so that the benchmark can run in parts: slot mode first, whole-email mode later, and so on."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    runs_path = RESULTS / "quality_runs.json"
    again = {_job(r) for r in records} | {_job(t) for t in timings["jobs"]}
    kept = [r for r in (load_jsonl(out) if out.is_file() else []) if _job(r) not in again]
    with out.open("w", encoding="utf-8") as fh:
        for r in kept + records:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    old = json.loads(runs_path.read_text(encoding="utf-8")) if runs_path.is_file() else {}
    merged = {**old, **{k: v for k, v in timings.items() if k != "jobs"}}
    merged["jobs"] = [t for t in old.get("jobs", []) if _job(t) not in again] + timings["jobs"]
    runs_path.write_text(json.dumps(merged, indent=2), encoding="utf-8")


def load_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    run = sub.add_parser("run")
    run.add_argument("--preset", default="smollm2-135m-instruct",
                     help="the base model preset (training and base-model jobs)")
    run.add_argument("--train", action="append", default=[], metavar="KEY=JSON",
                     help="a training setting for a new adapter (e.g. learning_rate=3e-4)")
    run.add_argument("--home", default="", help="scratch workspace (default: one per preset)")
    run.add_argument("--kinds", choices=("policy", "every"), default="policy",
                     help="slot kinds the model writes: the brands' policies, or every kind")
    run.add_argument("--brands", default="")
    run.add_argument("--templates", default="")
    run.add_argument("--min-shape", type=float, default=None,
                     help="with --kinds every: every policy's [slots] min_shape (how close a slot "
                          "must stand to the brand's own lines of its kind)")
    run.add_argument("--modes", default="slots,email")
    run.add_argument("--models", default="adapter", help="adapter, base or both (comma separated)")
    run.add_argument("--k", default="1,4", help="the k values (candidates) to run, comma separated")
    run.add_argument("--default-k", type=int, default=0,
                     help="k of the 100-contact timing job (default: GenerationConfig's)")
    run.add_argument("--timing", action="store_true", help="also time 100 contacts")
    run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                     help="a generation setting for every job (e.g. temperature=1.0)")
    run.add_argument("--out", default=str(DRAFTS))
    run.add_argument("--tag", default="", help="a name for this run's setting (its own table row; "
                     "a run under the same name replaces it)")
    sub.add_parser("report")
    args = ap.parse_args()
    if args.cmd == "run":
        cmd_run(args)
    else:
        from quality_report import report

        report()


if __name__ == "__main__":
    main()
