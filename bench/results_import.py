"""Benchmark: importing 100,000 result rows (target < 10 s), SQLite file DB (WAL).

25,000 drafts are made, approved and exported (one generic batch); a Mailchimp activity export of
100,000 rows is written for them (opens, clicks and bounces with their times, 1 % of the rows for
addresses that received no draft). Measured: the import (read, match, store, audit), the same file
imported again (refused by its hash: nothing changes), and the report over the 25,000 drafts.
The load average is recorded beside the timings (the machine is shared).
Writes bench/results/results_import.json. Run: .venv/bin/python bench/results_import.py
"""

from __future__ import annotations

import csv
import json
import os
import platform
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO))

DRAFTS = 25_000
ROWS = 100_000
TARGET_S = 10.0


def _activity(path: Path, drafts: int, rows: int, seed: int = 0) -> int:
    """A Mailchimp email-activity CSV of `rows` rows; returns how many name unknown addresses."""
    rng = random.Random(seed)
    start = datetime.now(timezone.utc) + timedelta(hours=1)
    unknown = rows // 100
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\r\n")
        w.writerow(["Email Address", "Action", "Timestamp", "URL"])
        for n in range(rows - unknown):
            i = n % drafts
            action = ("open", "open", "click", "bounce" if i % 50 == 0 else "open")[n // drafts % 4]
            when = start + timedelta(seconds=n + rng.randrange(3600))
            w.writerow([f"contact{i}@example.com", action, when.strftime("%Y-%m-%d %H:%M:%S"),
                        "https://ledgerly.example/demo" if action == "click" else ""])
        for n in range(unknown):
            w.writerow([f"stranger{n}@example.org", "open",
                        start.strftime("%Y-%m-%d %H:%M:%S"), ""])
    return unknown


def main() -> dict:
    from helpers_drafts import make_drafts

    from brandvoice import delivery, results, review, users
    from brandvoice.config import Settings
    from brandvoice.store import Store

    tmp = Path(tempfile.mkdtemp(prefix="bv-bench-results-"))
    store = Store(Settings(home=tmp))
    admin = users.add_user(store, "admin", "bench-password", "admin")
    rev = users.add_user(store, "rita", "bench-password", "reviewer", actor=admin)
    mkt = users.add_user(store, "mark", "bench-password", "marketer", actor=admin)
    t0 = time.perf_counter()
    make_drafts(store, DRAFTS)
    review.bulk_approve_passed(store, rev)
    batch = delivery.export(store, mkt, "generic", tmp / "export.csv")
    setup_s = time.perf_counter() - t0
    path = tmp / "mailchimp-activity.csv"
    unknown = _activity(path, DRAFTS, ROWS)

    load_before = os.getloadavg()
    t0 = time.perf_counter()
    res = results.import_results(store, mkt, path)
    import_s = time.perf_counter() - t0
    load_after = os.getloadavg()
    named = res["unmatched"] + res["ignored"] + res["invalid"]
    assert res["rows"] == ROWS and res["matched"] + named == ROWS, res
    assert res["unmatched"] == unknown and res["batch_ids"] == [batch["batch_id"]]

    t0 = time.perf_counter()
    again = results.import_results(store, mkt, path)
    again_s = time.perf_counter() - t0
    assert again["already_imported"]
    t0 = time.perf_counter()
    rep = results.report(store, metric="click")
    report_s = time.perf_counter() - t0
    assert rep["drafts"] == DRAFTS

    out = {
        "benchmark": "results_import",
        "rows": ROWS, "drafts": DRAFTS, "database": "sqlite (file, WAL)",
        "file_bytes": path.stat().st_size,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "platform": platform.platform()},
        "load_average_1_5_15": {"before": [round(x, 2) for x in load_before],
                                "after": [round(x, 2) for x in load_after]},
        "timings": {"setup_make_approve_export_s": round(setup_s, 2),
                    "import_100000_rows_s": round(import_s, 3),
                    "rows_per_s": round(ROWS / import_s),
                    "reimport_same_file_s": round(again_s, 3),
                    "report_25000_drafts_s": round(report_s, 3)},
        "import": {k: res[k] for k in ("rows", "matched", "new_events", "known_events",
                                       "new_by_kind", "unmatched", "ignored", "invalid")},
        "target_s": TARGET_S,
        "meets_target": import_s < TARGET_S,
    }
    dest = REPO / "bench" / "results" / "results_import.json"
    dest.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    return out


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
