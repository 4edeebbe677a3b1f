"""Slot jobs on the embedded model: one decoding loop per chunk against one loop per slot kind.

A slot template asks the model for short texts of different budgets (a subject, an opening, an
ask). The local backend used to decode them one budget at a time; it now decodes every one-line
request of a chunk in one loop (each row stopping at its own budget) and reads the system turn
that every prompt starts with once. This script times both ways on the same requests, with the
same model, alternating rounds (the machine is shared), in float32 and bfloat16, and checks that
float32 greedy answers are the same both ways.

    .venv/bin/python bench/slot_decoding.py          # writes bench/results/slot_decoding.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

BRAND, TEMPLATE = "Ledgerly", "ledgerly_after_content_download"
CRM, ACTIVITIES = REPO / "data" / "crm_hubspot_ledgerly.csv", REPO / "data" / "activities_ledgerly.csv"
OUT = REPO / "bench" / "results" / "slot_decoding.json"


class _Recorder:
    """A backend that keeps the requests it is given (and answers nothing)."""

    def __init__(self):
        self.requests = []

    def generate(self, requests):
        from brandvoice.generation.protocol import GenOutput

        self.requests += requests
        return [GenOutput(text="", prompt="", new_tokens=0) for _ in requests]


def chunk_requests(settings, contacts: int, k: int) -> list:
    """The model requests of one generation chunk of `contacts` demo contacts."""
    from brandvoice import crm, prompting
    from brandvoice.generation import batch
    from brandvoice.generation.slots import SkeletonWriter

    template = prompting.get_template(TEMPLATE, settings)
    usable = [c for c in crm.import_contacts(CRM, activities=ACTIVITIES).contacts
              if not prompting.missing_fields(template, c)]
    render = batch.renderer(settings, template, BRAND, {})
    rec = _Recorder()
    writer = SkeletonWriter(rec, None, brand=BRAND, template=template, k=k, seed=1234)
    items = [(render(usable[i % len(usable)]), usable[i % len(usable)], i // len(usable))
             for i in range(contacts)]
    writer.fill(items)
    return rec.requests


def per_kind(backend, requests) -> list:
    """The old way: one `generate` loop per token budget, no shared prefix."""
    from brandvoice.generation import local

    c, out = backend.config, [None] * len(requests)
    for budget in sorted({r.max_new_tokens for r in requests}):
        idx = [i for i, r in enumerate(requests) if r.max_new_tokens == budget]
        rows = local._generate(backend.model, backend.tokenizer,
                               [backend.prompt_for(requests[i]) for i in idx],
                               [requests[i].seed for i in idx], max_new_tokens=budget,
                               temperature=c.temperature, top_k=c.top_k, top_p=c.top_p,
                               repetition_penalty=c.repetition_penalty,
                               lines=[requests[i].lines for i in idx])
        for i, row in zip(idx, rows, strict=True):
            out[i] = row[0]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--contacts", type=int, default=8, help="contacts per chunk (the batch size)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args()

    from brandvoice.config import Settings
    from brandvoice.generation import GenerationConfig
    from brandvoice.generation.local import LocalBackend

    settings = Settings.from_env()
    requests = chunk_requests(settings, args.contacts, 1)
    result = {"contacts": args.contacts, "requests": len(requests),
              "budgets": sorted({r.max_new_tokens for r in requests}), "dtypes": {}}
    for dtype in ("float32", "bfloat16"):
        backend = LocalBackend.load(GenerationConfig(dtype=dtype, merge="no"), settings)
        new = lambda b=backend: [o.text for o in b.generate(requests)]  # noqa: E731
        old = lambda b=backend: per_kind(b, requests)  # noqa: E731
        new()  # warm-up
        times: dict[str, list[float]] = {"per_kind": [], "one_loop": []}
        for _ in range(args.rounds):
            for name, fn in (("per_kind", old), ("one_loop", new)):
                t0 = time.perf_counter()
                fn()
                times[name].append(round(time.perf_counter() - t0, 2))
        entry = {"seconds": times, "speedup_median": round(
            statistics.median(times["per_kind"]) / statistics.median(times["one_loop"]), 2)}
        if dtype == "float32":
            entry["same_sampled_text"] = sum(a == b for a, b in zip(new(), old(), strict=True))
        result["dtypes"][dtype] = entry
        print(dtype, json.dumps(entry), flush=True)
        backend.close()
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
