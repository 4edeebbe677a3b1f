"""The report of bench/quality.py: drafts joined with their reading labels, by configuration.

Usable = a reader's score of 4 or 5 (../shared/QUALITY.md). Slot figures count the slots the model
wrote (not the marketer's fallbacks) and, among those, the ones a reader judged good on their own.
Greeting, sender and placeholder figures are checked on every draft by code; "invented people" also
counts readers' notes. Unlabelled drafts are counted and left out of the rates.
"""

from __future__ import annotations

import json
import re
import sys
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
DRAFTS = RESULTS / "quality_drafts.jsonl"
LABELS = REPO / "tests" / "data" / "labelled" / "drafts.jsonl"
DOC = REPO / "docs" / "generation.md"  # its table, in the block "quality"


def load(path: Path) -> list[dict]:
    """The JSON lines of a file (none if it does not exist)."""
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _profile(brand: str):
    from brandvoice import prompting
    from brandvoice.config import Settings

    return prompting.load_profile(Settings.from_env().guardrails_dir, brand)


def structure_ok(d: dict) -> dict:
    """Code checks on one draft: the greeting the brand profile prescribes for this contact, the
    profile's sign-off as the only signature, no placeholder of any shape."""
    from brandvoice.prompting import find_placeholders as placeholders

    profile = _profile(d["brand"])
    expected = profile.greeting_for(d["contact"])
    first = next((ln for ln in d["body"].splitlines() if ln.strip()), "")
    sign = profile.signature
    body_wo_footer = d["body"].split((profile.footer or "\0")[:30])[0].rstrip()
    return {"greeting": first.strip() == expected.strip(),
            "sender": not sign or body_wo_footer.endswith(sign),
            "placeholders": not placeholders(f"{d['subject']}\n{d['body']}")}


DEFAULT_BASE = "smollm2-135m-instruct"  # drafts recorded before the base was recorded


def base_of(d: dict) -> str:
    """The base model preset a draft (or its label) was written with."""
    return d.get("base") or DEFAULT_BASE


def summarise(drafts: list[dict], labels: dict[str, dict]) -> list[dict]:
    """One row per (base, brand, mode, model, k, tag): drafts, labelled, usable, slots, structure."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for d in drafts:
        model = "base" if str(d.get("model", "")).startswith("base:") else "adapter"
        groups[(base_of(d), d["brand"], d["mode"], model, d["k"], d.get("tag", ""))].append(d)
    rows = []
    for (base, brand, mode, model, k, tag), ds in sorted(groups.items()):
        lab = [labels[d["key"]] for d in ds if d["key"] in labels]
        slots = [s for d in ds for s in d.get("slots", [])]
        model_slots = [s for s in slots if s["source"] == "model"]
        judged = [s for lb in lab for s in lb.get("slots", []) if s.get("source") == "model"
                  and s.get("good") is not None]
        checks = [structure_ok(d) for d in ds]
        invented = sum(1 for lb in lab if re.search(r"invent|made.up", lb.get("reason", ""), re.I))
        rows.append({
            "base": base, "brand": brand, "mode": mode, "model": model, "k": k, "tag": tag,
            "drafts": len(ds),
            "labelled": len(lab), "usable": sum(lb["score"] >= 4 for lb in lab),
            "usable_rate": round(sum(lb["score"] >= 4 for lb in lab) / len(lab), 3) if lab else None,
            "slots": len(slots), "model_slots": len(model_slots),
            "model_slot_share": round(len(model_slots) / len(slots), 3) if slots else None,
            "good_slots": sum(bool(s["good"]) for s in judged), "judged_slots": len(judged),
            "good_slot_rate": round(sum(bool(s["good"]) for s in judged) / len(judged), 3)
            if judged else None,
            "greeting_ok": sum(c["greeting"] for c in checks), "sender_ok": sum(c["sender"] for c in checks),
            "no_placeholder": sum(c["placeholders"] for c in checks), "invented_noted": invented,
            "verdicts": {v: sum(d["verdict"] == v for d in ds) for v in ("pass", "warn", "fail")}})
    return rows


def _pct(n, d) -> str:
    return f"{n / d:.0%}" if d else "–"


def _timing(runs: dict, r: dict) -> str:
    jobs = [j for j in runs.get("jobs", []) if j["brand"] == r["brand"] and j["mode"] == r["mode"]
            and j["k"] == r["k"] and (j["model"] == "base") == (r["model"] == "base")
            and j.get("tag", "") == r.get("tag", "") and base_of(j) == base_of(r)]
    seconds, drafts = sum(j["seconds"] for j in jobs), sum(j["drafts"] for j in jobs)
    return f"{seconds / drafts:.1f}" if drafts else "–"


def agreement(labels: dict[str, dict]) -> str:
    """How far a second reader of some drafts agreed with the first (tests/data/labelled/
    second_reading.jsonl): same score, same usable or not, within one point."""
    second = [s for s in load(LABELS.parent / "second_reading.jsonl") if s["key"] in labels]
    if not second:
        return ""
    n = len(second)
    same = sum(labels[s["key"]]["score"] == s["score"] for s in second)
    usable = sum((labels[s["key"]]["score"] >= 4) == (s["score"] >= 4) for s in second)
    near = sum(abs(labels[s["key"]]["score"] - s["score"]) <= 1 for s in second)
    return (f" A second reader scored {n} of them blind: the same score for {same}, the same "
            f"usable-or-not for {usable}, within one point for {near}.")


def protocol(labels: dict[str, dict], drafts: list[dict]) -> str:
    """How the drafts were made, sampled and read: the text above the table."""
    read = [labels[d["key"]] for d in drafts if d["key"] in labels]
    scorers = sorted({lb.get("scorer", "?") for lb in read})
    return (f"Every draft of every job, not the best ones: one job per demo brand, template, mode, "
            f"model and k, over every contact of the brand's demo CRM export that the template can "
            f"use ({len(drafts)} drafts; `python bench/quality.py run`, then `report`). Each draft "
            f"was read in full with its brief and the contact's CRM row beside it and scored 1-5 "
            f"on ../shared/QUALITY.md's scale, blind to its model, mode and verdict (batches "
            f"mixed with other drafts by `bench/labels.py`); each slot the model wrote was judged "
            f"good or not on its own. {len(read)} drafts read, by {', '.join(scorers)} (model "
            f"readers following the rubric; labels with their one-line reasons in "
            f"tests/data/labelled/drafts.jsonl).{agreement(labels)} Usable = 4 or 5. Greeting, sender and "
            f"placeholders are checked by code on every draft. Time is wall clock per draft on "
            f"2 shared CPU cores, model loading included.\n\n")


def table(rows: list[dict], runs: dict) -> str:
    """The docs table."""
    out = ["| base model | brand | mode | model | k | drafts (read) | usable | slots by the model "
           "| good among them | greeting right | policy sender | no placeholder | s per draft |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append(
            f"| {base_of(r)} | {r['brand']} | {r['mode']} | "
            f"{r['model']}{' · ' + r['tag'] if r.get('tag') else ''} "
            f"| {r['k']} | {r['drafts']} ({r['labelled']}) "
            f"| {_pct(r['usable'], r['labelled'])} | "
            + (f"{_pct(r['model_slots'], r['slots'])} | {_pct(r['good_slots'], r['judged_slots'])} | "
               if r["slots"] else "– | – | ")
            + f"{_pct(r['greeting_ok'], r['drafts'])} | {_pct(r['sender_ok'], r['drafts'])} | "
            f"{_pct(r['no_placeholder'], r['drafts'])} | {_timing(runs, r)} |")
    for key, t in sorted(runs.items()):
        if not key.startswith("hundred_contacts"):
            continue
        base = key.partition(":")[2] or DEFAULT_BASE
        load = f", load average {t['load_avg']}" if t.get("load_avg") is not None else ""
        out.append("")
        out.append(f"100 contacts on {base}, slot mode, k = {t['k']}: {t['seconds']:.0f} s on 2 CPU "
                   f"cores ({t['tokens_per_s']:.0f} new tokens/s{load}).")
    return "\n".join(out) + "\n"


def by_kind(labels: dict[str, dict]) -> list[dict]:
    """Of the slots an adapter wrote (every read slot draft without a tag), how many readers
    judged good, by brand and slot kind: what a brand policy's [slots] model_kinds is set from."""
    counts: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for lb in labels.values():
        if lb.get("mode") != "slots" or lb.get("tag") not in ("", None, "every-kind") \
                or lb.get("origin", "pipeline") != "pipeline" \
                or str(lb.get("model", "")).startswith("base:"):
            continue
        for s in lb.get("slots", []):
            if s.get("source") == "model" and s.get("good") is not None:
                c = counts[(base_of(lb), lb["brand"], s["kind"])]
                c[0] += 1
                c[1] += bool(s["good"])
    return [{"base": base, "brand": b, "kind": k, "judged": n, "good": g,
             "good_rate": round(g / n, 3)} for (base, b, k), (n, g) in sorted(counts.items())]


def kind_table(kinds: list[dict]) -> str:
    """The docs lines of `by_kind`."""
    cells = "; ".join(f"{base_of(r)} {r['brand']} {r['kind']} {r['good']}/{r['judged']} "
                      f"({r['good_rate']:.0%})" for r in kinds)
    return f"\nModel-written slots judged good, by brand and kind (k = 1 and 4, before any policy): {cells}.\n"


def block(result: dict) -> str:
    """The docs block of a result (quality.json), with the reading protocol of its drafts."""
    labels = {lb["key"]: lb for lb in load(LABELS)}
    return protocol(labels, load(DRAFTS)) + table(result["rows"], result["runs"]) \
        + kind_table(result["by_kind"])


def report() -> dict:
    """Write bench/results/quality.json and its table in docs/generation.md; return the result."""
    drafts = load(DRAFTS)
    labels = {lb["key"]: lb for lb in load(LABELS)}
    runs = json.loads((RESULTS / "quality_runs.json").read_text()) \
        if (RESULTS / "quality_runs.json").is_file() else {}
    rows = summarise(drafts, labels)
    kinds = by_kind(labels)
    result = {"rows": rows, "by_kind": kinds, "runs": runs, "drafts": len(drafts),
              "labelled": sum(d["key"] in labels for d in drafts)}
    (RESULTS / "quality.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    sys.path.insert(0, str(REPO / "bench"))
    import docblock

    docblock.write_block(DOC, "quality", block(result))
    print(table(rows, runs))
    print(f"{result['labelled']} of {result['drafts']} drafts labelled")
    return result
