"""The plan of a campaign for 10,000 contacts: how long routing takes before any model runs.

    python bench/routing.py            # writes bench/results/routing.json

Each demo brand's CRM export and activity log are repeated to 10,000 contacts (fresh ids and
emails, each copy with its own activities), then the brand's slot templates are planned as one
campaign as of the demo exports' send day: the CRM import (read, validate, join activities) and
the routing are timed apart and together, best of 3, with the load average beside them. Target:
the plan (import and routing) in under 5 s.
"""

from __future__ import annotations

import csv
import json
import os
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
OUT = REPO / "bench" / "results" / "routing.json"
N = 10_000
DAY = datetime(2026, 11, 22, 9, tzinfo=timezone.utc)
BRANDS = {
    "Ledgerly": ("data/crm_hubspot_ledgerly.csv", "data/activities_ledgerly.csv", "Record ID", "Email"),
    "Bright Bean": ("data/crm_pipedrive_brightbean.csv", "data/activities_brightbean.csv",
                    "Person - ID", "Person - Email - Work"),
}
TARGET_S = 5.0


def scale(folder: Path, crm_file: str, acts_file: str, id_col: str, email_col: str) -> tuple[Path, Path]:
    """The export repeated to N contacts, each copy with its own id, email and activities."""
    with (REPO / crm_file).open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        fields, rows = reader.fieldnames, list(reader)
    with (REPO / acts_file).open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        act_fields, acts = reader.fieldnames, list(reader)
    by_id: dict[str, list[dict]] = {}
    for a in acts:
        by_id.setdefault(a["contact_id"], []).append(a)
    crm_path, act_path = folder / "crm.csv", folder / "activities.csv"
    with crm_path.open("w", encoding="utf-8", newline="") as fh, \
            act_path.open("w", encoding="utf-8", newline="") as ah:
        w, aw = csv.DictWriter(fh, fieldnames=fields), csv.DictWriter(ah, fieldnames=act_fields)
        w.writeheader()
        aw.writeheader()
        for i in range(N):
            row = dict(rows[i % len(rows)])
            old = row[id_col]
            row[id_col] = str(900000 + i)
            row[email_col] = row[email_col] and f"c{i}@bench.example"
            w.writerow(row)
            for a in by_id.get(old, []):
                aw.writerow({**a, "contact_id": row[id_col]})
    return crm_path, act_path


def best_of(n: int, fn):
    best, out = float("inf"), None
    for _ in range(n):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    from brandvoice import crm, prompting
    from brandvoice.generation import routing

    results = {"contacts": N, "as_of": DAY.isoformat(), "target_s": TARGET_S, "brands": {}}
    for brand, (crm_file, acts_file, id_col, email_col) in BRANDS.items():
        templates = [t for t in prompting.list_templates() if t.brand == brand]
        with tempfile.TemporaryDirectory() as tmp:
            crm_path, act_path = scale(Path(tmp), crm_file, acts_file, id_col, email_col)
            load0 = os.getloadavg()[0]
            t_import, result = best_of(3, lambda: crm.import_contacts(crm_path, activities=act_path))  # noqa: B023
            t_route, plan = best_of(3, lambda: routing.plan(  # noqa: B023
                result.contacts, templates, now=DAY,  # noqa: B023
                opted_out=routing.opted_out_rows(result.excluded)))  # noqa: B023
        d = plan.to_dict(samples=0)
        results["brands"][brand] = {
            "templates": [t.name for t in templates], "contacts": d["contacts"],
            "routed": d["routed"], "per_template": d["per_template"], "per_reason": d["per_reason"],
            "import_s": round(t_import, 3), "route_s": round(t_route, 3),
            "plan_s": round(t_import + t_route, 3), "met": t_import + t_route < TARGET_S,
            "load_avg": round((load0 + os.getloadavg()[0]) / 2, 2)}
        print(f"{brand}: {d['contacts']} contacts planned in {t_import + t_route:.2f} s "
              f"(import {t_import:.2f} s, routing {t_route:.2f} s), load {os.getloadavg()[0]:.1f}")
    results["cpu_count"] = os.cpu_count()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
