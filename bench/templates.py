"""Benchmark: what the template bounds cost in batch rendering.

Renders `after_demo` for N demo contacts (cycled) in the bounded sandbox (prompting.sandbox: its
operators, loops and output checked) and in Jinja's plain immutable sandbox with the same filters,
in this process (`prompting.render`), and as a job renders them: in a bounded worker process
(`prompting.BoundedRenderer`, started anew each run, so its start is counted); the best of three
runs each (the machine is shared: the ratios are the result).
Usage: python bench/templates.py [--contacts 1000] [--out bench/results/templates.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def best_of(n: int, fn) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--contacts", type=int, default=1000)
    ap.add_argument("--out", default=str(REPO / "bench" / "results" / "templates.json"))
    args = ap.parse_args()

    from jinja2 import StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    from brandvoice import crm, prompting
    from brandvoice.crm.profiles import SNAPSHOT_FIELDS
    from brandvoice.prompting.filters import FILTERS, GLOBALS, neutralize
    from brandvoice.prompting.sandbox import render_bounded

    found = crm.import_contacts(REPO / "data" / "crm_hubspot_ledgerly.csv",
                                activities=REPO / "data" / "activities_ledgerly.csv").contacts
    people = [found[i % len(found)] for i in range(args.contacts)]
    info = prompting.get_template("after_demo")
    now = datetime(2026, 11, 21, tzinfo=timezone.utc)
    contexts = [{**{f: c.get(f, "") for f in SNAPSHOT_FIELDS}, "custom": c.get("custom") or {},
                 "activities": c.get("activities") or [], "contact": c, "brand": "Ledgerly",
                 "use_case": info.use_case, "template": info.name, "now": now} for c in people]
    plain_env = ImmutableSandboxedEnvironment(undefined=StrictUndefined, trim_blocks=True,
                                              lstrip_blocks=True, finalize=neutralize)
    plain_env.filters.update(FILTERS)
    plain_env.globals.update(GLOBALS)
    plain = plain_env.from_string(info.source)
    bounded = prompting.environment("email").from_string(info.source)
    plain_s = best_of(3, lambda: [plain.render(ctx) for ctx in contexts])
    bounded_s = best_of(3, lambda: [render_bounded(bounded, ctx) for ctx in contexts])
    full_s = best_of(3, lambda: [prompting.render(info, c, brand="Ledgerly", extra={"now": now})
                                 for c in people])
    def in_worker():
        outs = prompting.BoundedRenderer(info, brand="Ledgerly", extra={"now": now}).many(people)
        assert all(isinstance(o, str) for o in outs)

    worker_s = best_of(3, in_worker)
    result = {"contacts": args.contacts, "template": info.name,
              "plain_ms_per_contact": round(1e3 * plain_s / args.contacts, 4),
              "bounded_ms_per_contact": round(1e3 * bounded_s / args.contacts, 4),
              "prompting_render_ms_per_contact": round(1e3 * full_s / args.contacts, 4),
              "bounded_worker_ms_per_contact": round(1e3 * worker_s / args.contacts, 4),
              "bounded_worker_total_s": round(worker_s, 3),
              "prompting_render_total_s": round(full_s, 3),
              "bounded_over_plain": round(bounded_s / plain_s, 3),
              "worker_over_in_process": round(worker_s / full_s, 3),
              "load_average": [round(x, 2) for x in os.getloadavg()]}
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
