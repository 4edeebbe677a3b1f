"""The labelled drafts: gather drafts to read, hand them to readers in batches, keep their scores.

    python bench/labels.py heldout              # the brands' held-out past emails, greeted to a contact
    python bench/labels.py batches --size 40    # unlabelled drafts -> bench/.labelling/batch_NN.md
    python bench/labels.py add bench/.labelling/labels_*.jsonl   # readers' scores -> the labelled set

The pool (bench/results/label_pool.jsonl) is every draft of bench/quality.py's jobs
(bench/results/quality_drafts.jsonl), the brands' held-out emails (`heldout`) and reviewer rewrites
(added with `add --rewrites`). Batches mix them, shuffled, without saying where a draft came from:
readers score blind, on ../shared/QUALITY.md's scale, each draft in full with its brief and the
contact's CRM row. A reader's label line is JSON: {"key", "score" (1-5), "reason", "scorer",
"slots": [{"name", "good" (true/false), "why"}] for the slots the model wrote, and optionally
"record_conflict" (true/false: the text states a contact fact the record contradicts or does not
hold)}. `add` joins labels
to their drafts and writes tests/data/labelled/drafts.jsonl (the guardrails' test and calibration
data, see bench/calibrate.py).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
RESULTS = REPO / "bench" / "results"
DRAFTS = RESULTS / "quality_drafts.jsonl"
POOL = RESULTS / "label_pool.jsonl"
WORK = REPO / "bench" / ".labelling"
LABELS = REPO / "tests" / "data" / "labelled" / "drafts.jsonl"
KEEP = ("key", "origin", "brand", "template", "mode", "k", "model", "contact", "activities",
        "subject", "body", "slots", "verdict", "tag", "base", "as_of")


def load(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write(path: Path, rows: list[dict]) -> None:
    from brandvoice import textio

    textio.atomic_write(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def pool() -> list[dict]:
    """Every draft that may be read: the quality jobs' drafts, held-out emails, rewrites."""
    extra = load(POOL)
    drafts = [{**d, "origin": "pipeline"} for d in load(DRAFTS)]
    seen, out = set(), []
    for d in drafts + extra:
        if d["key"] not in seen:
            seen.add(d["key"])
            out.append(d)
    return out


def _activities() -> dict[tuple[str, str], list[str]]:
    """Every demo contact's activities with their dates, as quality.py's records list them."""
    from brandvoice import crm

    sys.path.insert(0, str(REPO / "bench"))
    from quality import BRANDS

    out = {}
    for brand, spec in BRANDS.items():
        for c in crm.import_contacts(REPO / spec["crm"], activities=REPO / spec["activities"]).contacts:
            out[(brand, str(c["key"]))] = [
                f"{str(a.get('timestamp') or '')[:10]} {a.get('type')}: {a.get('detail')}"
                for a in c.get("activities") or []]
    return out


def cmd_heldout(_args) -> None:
    """Each demo brand's held-out past emails (the split training keeps out), each greeted to a
    contact of the brand's demo CRM export, as drafts to read."""
    from brandvoice import corpus, crm, prompting
    from brandvoice.config import Settings

    sys.path.insert(0, str(REPO / "bench"))
    from quality import BRANDS, CONTACT_FIELDS, draft_key

    rows = [r for r in load(POOL) if r.get("origin") != "heldout"]
    for brand, spec in BRANDS.items():
        data = corpus.prepare(REPO / spec["emails"], brand=brand)
        profile = prompting.load_profile(Settings.from_env().guardrails_dir, brand)
        contacts = [c for c in crm.import_contacts(REPO / spec["crm"]).contacts
                    if c.get("first_name")]
        for i, e in enumerate(data.test):
            c = contacts[i % len(contacts)]
            body = prompting.readdress(e.body, c["first_name"])
            if profile.footer and profile.footer not in body:  # as generation appends it
                body = f"{body.rstrip()}\n\n{profile.footer}"
            contact = {f: c.get(f) for f in CONTACT_FIELDS}
            rows.append({"key": draft_key(brand, e.campaign or "", "past", 0, str(c["key"]),
                                          e.subject, body),
                         "origin": "heldout", "brand": brand, "template": e.campaign or "",
                         "mode": "email", "k": 0, "model": "past email (held out)",
                         "contact": contact, "activities": [], "subject": e.subject, "body": body,
                         "slots": [], "score": 5, "scorer": "the brand (sent, a high performer)",
                         "reason": "A real email of the brand, held out from training, greeted "
                                   "to the contact; its facts are the brand's own."})
    write(POOL, rows)
    print(f"{sum(r['origin'] == 'heldout' for r in rows)} held-out emails in {POOL}")


def _card(i: int, d: dict) -> str:
    c = d.get("contact") or {}
    row = ", ".join(f"{k}={v}" for k, v in c.items() if v not in (None, ""))
    acts = "; ".join(d.get("activities") or []) or "none"
    model = [s for s in d.get("slots") or [] if s.get("source") == "model"]
    lines = [f"## {i}. key {d['key']}", f"- brand: {d['brand']}; campaign/template: {d['template']}",
             f"- CRM row: {row}", f"- activities: {acts}"]
    if model:
        lines.append("- slots the model wrote (judge each on its own): "
                     + "; ".join(f"{s['name']} ({s['kind']}): \"{s['text']}\"" for s in model))
    lines += ["", f"Subject: {d['subject']}", "", d["body"], ""]
    return "\n".join(lines)


def cmd_batches(args) -> None:
    """Drafts in no earlier batch and not labelled, shuffled, in new batches for readers (numbered
    after the batches already there, which stay as they are)."""
    import re

    WORK.mkdir(parents=True, exist_ok=True)
    done = {r["key"] for r in load(LABELS)}
    earlier = sorted(WORK.glob("batch_*.md"))
    for path in earlier:
        done |= set(re.findall(r"^## \d+\. key (\w+)$", path.read_text(encoding="utf-8"), re.M))
    todo = [d for d in pool() if d["key"] not in done and "score" not in d]  # held-out: labelled
    random.Random(args.seed).shuffle(todo)
    n = len(earlier)
    for b in range(0, len(todo), args.size):
        chunk = todo[b:b + args.size]
        n += 1
        path = WORK / f"batch_{n:02d}.md"
        path.write_text(f"# Batch {n}: {len(chunk)} drafts\n\n"
                        + "\n".join(_card(i + 1, d) for i, d in enumerate(chunk)), encoding="utf-8")
    print(f"{len(todo)} drafts to read in {n - len(earlier)} new batches under {WORK}")


def _kept(d: dict) -> dict:
    """The fields a labelled draft keeps (its send day only when it has one)."""
    return {k: d.get(k) for k in KEEP if k != "as_of" or d.get("as_of")}


def cmd_add(args) -> None:
    """Readers' labels (and, with --rewrites, reviewer rewrites) into the labelled set."""
    by_key = {d["key"]: d for d in pool()}
    if args.rewrites:
        extra = load(POOL)
        sources = {**{d["key"]: d for d in load(WORK / "to_rewrite.jsonl")}, **by_key}
        history = _activities()
        for path in args.files:
            for r in load(Path(path)):
                src = sources[r["of"]]
                src = {**src, "activities": history.get((src["brand"], src["contact"]["key"]), [])}
                key = hashlib.sha256(json.dumps([r["of"], r["subject"], r["body"]]).encode()
                                     ).hexdigest()[:16]
                extra.append({**{k: src.get(k) for k in KEEP}, "key": key, "origin": "rewrite",
                              "mode": "email", "model": f"rewrite of {r['of']}", "slots": [],
                              "subject": r["subject"], "body": r["body"], "verdict": None})
        write(POOL, extra)
        print(f"{len(extra)} drafts in the pool's extra part")
        return
    labelled = {r["key"]: r for r in load(LABELS)}
    for d in pool():  # the brand's own held-out emails come labelled
        if "score" in d:
            labelled[d["key"]] = {**_kept(d), "score": d["score"],
                                  "reason": d["reason"], "scorer": d["scorer"]}
    bad = []
    for path in args.files:
        for n, lab in enumerate(load(Path(path)), start=1):
            d = by_key.get(lab.get("key"))
            if d is None or lab.get("score") not in (1, 2, 3, 4, 5):
                bad.append(f"{path} line {n}: unknown key or score not 1-5")
                continue
            slots = []
            judged = {s.get("name"): s for s in lab.get("slots") or []}
            for s in d.get("slots") or []:
                j = judged.get(s["name"], {})
                slots.append({**s, "good": j.get("good") if s.get("source") == "model" else None,
                              "why": j.get("why")})
            labelled[d["key"]] = {**_kept(d), "slots": slots, "score": lab["score"],
                                  "reason": lab.get("reason", ""),
                                  "scorer": lab.get("scorer", "reader")}
            if "record_conflict" in lab:  # the text states a contact fact the record contradicts
                labelled[d["key"]]["record_conflict"] = bool(lab["record_conflict"])
    LABELS.parent.mkdir(parents=True, exist_ok=True)
    write(LABELS, sorted(labelled.values(), key=lambda r: r["key"]))
    print(f"{len(labelled)} labelled drafts in {LABELS}" + (f"; {len(bad)} lines refused:" if bad else ""))
    for b in bad[:20]:
        print("  " + b)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("heldout")
    b = sub.add_parser("batches")
    b.add_argument("--size", type=int, default=40)
    b.add_argument("--seed", type=int, default=0)
    a = sub.add_parser("add")
    a.add_argument("files", nargs="+")
    a.add_argument("--rewrites", action="store_true",
                   help="the files hold reviewer rewrites ({of, subject, body}), not labels")
    args = ap.parse_args()
    {"heldout": cmd_heldout, "batches": cmd_batches, "add": cmd_add}[args.cmd](args)


if __name__ == "__main__":
    main()
