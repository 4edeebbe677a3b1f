"""Template text meeting the wrong contact, and the routed campaigns read against the record.

    python bench/targeting.py wrong-contact   # template-text drafts of the templates before
                                              # audiences, every contact with the fields
    python bench/targeting.py routed          # each demo brand's slot templates as one routed
                                              # campaign on the default model: every draft
    python bench/targeting.py report          # the reading of both, from the labels

`wrong-contact` is what generation did before routing: each slot template of the demo brands as it
was before audiences (git revision BEFORE), written for every contact of the brand's demo export
that has its required fields, with every slot keeping the template's words (no model: the text is
the marketer's). Each draft says whether routing would now send that contact that template
("routed"). The drafts go to the label pool (bench/results/label_pool.jsonl) for readers, with
their send day ("as_of"); readers score them on QUALITY.md's scale and say whether the text states
a contact fact the record contradicts or does not hold ("record_conflict").

`routed` plans each demo brand's slot templates as one campaign as of the demo exports' day and
runs it with the brand's adapter on the default embedded model (bench/quality.py's workspace and
adapters), writing every draft to bench/results/targeting_drafts.jsonl and to the label pool.

`report` joins the labels (tests/data/labelled/drafts.jsonl) with both sets and writes
bench/results/targeting.json: per set, drafts read, usable (4-5), and drafts whose text
contradicts the record; the contact-fact check's catch rate on the labelled test part (drafts
its rules were not written on) is bench/calibrate.py's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("BRANDVOICE_MODELS_DIR", str(REPO / ".brandvoice" / "models"))

RESULTS = REPO / "bench" / "results"
POOL = RESULTS / "label_pool.jsonl"
ROUTED = RESULTS / "targeting_drafts.jsonl"
OUT = RESULTS / "targeting.json"
LABELS = REPO / "tests" / "data" / "labelled" / "drafts.jsonl"
BEFORE = "e78292c"  # the templates as they were before audiences
DAY = datetime(2026, 11, 22, 9, tzinfo=timezone.utc)  # the demo exports' send day


def load(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def write(path: Path, rows: list[dict]) -> None:
    from brandvoice import textio

    textio.atomic_write(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def old_template(name: str):
    from brandvoice import prompting

    source = subprocess.run(["git", "show", f"{BEFORE}:prompts/{name}.j2"], cwd=REPO, check=True,
                            capture_output=True, text=True).stdout
    return prompting.parse_template(source, name=name)


def record(brand: str, info, contact: dict, subject: str, body: str, slots: list[dict],
           *, model: str, tag: str, as_of: datetime, k: int = 0) -> dict:
    """A draft as bench/quality.py records it, with its send day."""
    from quality import CONTACT_FIELDS, draft_key

    return {"key": draft_key(brand, info.name, "slots", k, str(contact.get("key")), subject, body),
            "origin": "pipeline", "brand": brand, "template": info.name, "mode": "slots", "k": k,
            "model": model, "contact": {f: contact.get(f) for f in CONTACT_FIELDS},
            "activities": [f"{str(a.get('timestamp') or '')[:10]} {a.get('type')}: {a.get('detail')}"
                           for a in contact.get("activities") or []],
            "subject": subject, "body": body, "slots": slots, "tag": tag,
            "as_of": as_of.isoformat().replace("+00:00", "Z")}


def cmd_wrong_contact(_args) -> None:
    from quality import BRANDS

    from brandvoice import crm, prompting
    from brandvoice.config import Settings
    from brandvoice.generation import routing

    settings = Settings.from_env()
    rows = [r for r in load(POOL) if r.get("tag") != "before audiences"]
    n = 0
    for brand, spec in BRANDS.items():
        profile = prompting.load_profile(settings.guardrails_dir, brand)
        contacts = crm.import_contacts(REPO / spec["crm"], activities=REPO / spec["activities"]).contacts
        new = [t for t in prompting.list_templates(settings) if t.brand == brand and t.kind == "slots"]
        for info in [old_template(t.name) for t in new]:
            current = next(t for t in new if t.name == info.name)
            for c in contacts:
                if prompting.missing_fields(info, c):
                    continue
                sk = prompting.render_skeleton(info, c, brand=brand, signature=profile.signature,
                                               greeting=profile.greeting_for(c),
                                               extra={"now": DAY})
                subject, body = sk.fill({})
                parsed = profile.complete(prompting.ParsedEmail(subject=subject, body=body))
                slots = [{"name": s.name, "kind": s.kind, "source": "template", "text": s.fallback,
                          "reason": "the template's own words (no model)"} for s in sk.slots]
                r = record(brand, info, c, parsed.subject, parsed.body, slots,
                           model="template text (no model)", tag="before audiences", as_of=DAY)
                r["routed"] = routing.route_contact(c, [current], DAY).template == info.name
                rows.append(r)
                n += 1
    write(POOL, rows)
    print(f"{n} template-text drafts of the templates before audiences -> {POOL}")


def cmd_routed(args) -> None:
    import quality
    from benchuser import marketer

    from brandvoice import prompting, worker
    from brandvoice.generation import GenerationConfig, campaign

    home = Path(args.home or REPO / "bench" / f".quality-home-{args.preset}").resolve()
    store = quality.open_home(home)
    records, timings = [], []
    for brand, spec in quality.BRANDS.items():
        adapter = _adapter(store, brand, spec, args.preset)
        names = [t.name for t in prompting.list_templates(store.settings)
                 if t.brand == brand and t.kind == "slots"]
        t0 = time.perf_counter()
        job_id = campaign.submit(store, store.settings, actor=marketer(store),
                                 crm=REPO / spec["crm"], activities=REPO / spec["activities"],
                                 templates=names, adapter=str(adapter.id) if adapter else None,
                                 base_model=None if adapter else args.preset, brand=brand,
                                 config=GenerationConfig(), as_of=DAY)
        job = worker.run(store, job_id)
        if job["status"] != "done":
            raise SystemExit(f"{brand}: {job['status']}: {job['error']}")
        timings.append({"brand": brand, "drafts": job["result"]["drafts"],
                        "seconds": round(time.perf_counter() - t0, 1),
                        "load_avg": round(os.getloadavg()[0], 2),
                        "model": adapter.label if adapter else f"base:{args.preset}",
                        "plan": job["metrics"]["intake"]["plan"]})
        records += campaign_records(store, job_id, brand, GenerationConfig().candidates)
        print(f"{brand}: {timings[-1]}")
    for r in records:
        r["tag"], r["as_of"] = "routed campaign", DAY.isoformat().replace("+00:00", "Z")
    write(ROUTED, records)
    pool = [r for r in load(POOL) if r.get("tag") != "routed campaign"] + records
    write(POOL, pool)
    (RESULTS / "targeting_runs.json").write_text(json.dumps(timings, indent=2), encoding="utf-8")
    print(f"{len(records)} drafts -> {ROUTED}")


def _adapter(store, brand: str, spec: dict, preset: str):
    """The brand's adapter (trained if missing), or None when the brand's slot policy lets the
    model write no slot ([slots] model_kinds = []): its drafts are the template's words whatever
    the model, so no adapter is trained for them."""
    import quality

    from brandvoice import training
    from brandvoice.errors import NotFoundError
    from brandvoice.guardrails import load_policy

    try:
        return training.get_adapter(store, brand)
    except NotFoundError:
        if load_policy(store.settings.guardrails_dir, brand).slot_model_kinds == frozenset():
            return None
    return quality.ensure_adapter(store, brand, spec, {}, preset)


def campaign_records(store, job_id: int, brand: str, k: int) -> list[dict]:
    """Every draft of a campaign job as a record (bench/quality.py's shape), each under the
    template its route chose."""
    from quality import CONTACT_FIELDS, draft_key

    from brandvoice import review

    rows: list[dict] = []
    while True:  # the queue is read a page at a time
        page, _ = review.list_queue(store, job_id=job_id, limit=1000, offset=len(rows))
        rows += page
        if len(page) < 1000:
            break
    out = []
    for row in rows:
        d = review.get_draft(store, row["id"])
        contact = (d.get("contact") or {}).get("data") or {}
        slots = (d.get("settings") or {}).get("slots") or []
        out.append({
            "key": draft_key(brand, d["template_name"], "slots", k, str(contact.get("key")),
                             d["subject"], d["body"]),
            "brand": brand, "template": d["template_name"], "mode": "slots", "k": k,
            "model": d["adapter_label"], "origin": "pipeline",
            "contact": {f: contact.get(f) for f in CONTACT_FIELDS},
            "activities": [f"{str(a.get('timestamp') or '')[:10]} {a.get('type')}: {a.get('detail')}"
                           for a in contact.get("activities") or []],
            "subject": d["subject"], "body": d["body"], "flags": d["flags"],
            "verdict": d["verdict"], "route": (d.get("settings") or {}).get("route"),
            "problems": [f"{g['status']} {g['check']}/{g['rule']}: {g['message'][:160]}"
                         for g in d["guardrails"] if g["status"] != "pass"],
            "slots": [{"name": s["name"], "kind": s["kind"], "source": s["source"],
                       "text": s["text"], "reason": s["reason"]} for s in slots]})
    return out


def cmd_report(_args) -> None:
    labels = {r["key"]: r for r in load(LABELS)}
    out = {"as_of": DAY.isoformat(), "sets": {}}
    for name, what, rows in (
            ("before", "before audiences (template text, every contact with the fields)",
             [r for r in load(POOL) if r.get("tag") == "before audiences"]),
            ("routed", "routed campaign (default model)", load(ROUTED))):
        read = [labels[r["key"]] for r in rows if r["key"] in labels]
        usable = sum(r["score"] >= 4 for r in read)
        conflicts = sum(bool(r.get("record_conflict")) for r in read)
        out["sets"][name] = {"what": what, "drafts": len(rows), "read": len(read), "usable": usable,
                             "usable_share": round(usable / len(read), 3) if read else None,
                             "record_conflicts": conflicts,
                             "routed_share": round(sum(bool(r.get("routed")) for r in rows)
                                                   / len(rows), 3) if rows and "routed" in rows[0]
                             else None}
        if name.startswith("before"):
            fits = [labels[r["key"]] for r in rows if r["key"] in labels and r.get("routed")]
            out["sets"][name]["routed_now"] = {
                "read": len(fits), "usable": sum(x["score"] >= 4 for x in fits),
                "record_conflicts": sum(bool(x.get("record_conflict")) for x in fits)}
    OUT.write_text(json.dumps(out, indent=2), encoding="utf-8")
    print(json.dumps(out, indent=2))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("wrong-contact")
    r = sub.add_parser("routed")
    r.add_argument("--preset", default="smollm2-135m-instruct")
    r.add_argument("--home", default="")
    sub.add_parser("report")
    args = ap.parse_args()
    {"wrong-contact": cmd_wrong_contact, "routed": cmd_routed, "report": cmd_report}[args.cmd](args)


if __name__ == "__main__":
    main()
