"""Benchmark: review queue and export on 10,000 drafts (SQLite file DB, WAL).

Measures: a filtered page of the queue (target < 100 ms), bulk approve of 1,000 drafts (< 1 s),
exporting 10,000 drafts (< 5 s). The machine is shared and noisy, so every timing is also given as a
ratio to a baseline measured in the same run (a raw full scan of the drafts table).
Writes bench/results/review_export.json. Run: .venv/bin/python bench/review_export.py
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO))

N = 10_000
BULK = 1_000
TARGETS = {"list_page_ms": 100, "bulk_approve_1000_s": 1.0, "export_10000_s": 5.0}


def timed(fn, repeat: int = 1):
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main() -> dict:
    import sqlalchemy as sa
    from helpers_drafts import make_drafts

    from brandvoice import delivery as export
    from brandvoice import review, users
    from brandvoice.config import Settings
    from brandvoice.store import Store, drafts

    tmp = Path(tempfile.mkdtemp(prefix="bv-bench-"))
    store = Store(Settings(home=tmp))
    admin = users.add_user(store, "admin", "bench-password", "admin")
    rev = users.add_user(store, "rita", "bench-password", "reviewer", actor=admin)
    mkt = users.add_user(store, "mark", "bench-password", "marketer", actor=admin)

    t_make, _ = timed(lambda: (make_drafts(store, N // 2, template="follow_up"),
                               make_drafts(store, N // 2, template="demo_recap",
                                           email_domain="example.org")))

    def baseline():
        with store.read() as conn:
            return conn.execute(sa.select(drafts.c.id, drafts.c.subject, drafts.c.state)).all()

    t_base, _ = timed(baseline, repeat=5)
    filters = {"state": "pending", "verdict": "pass", "template": "demo_recap"}
    t_list, (rows, total) = timed(lambda: review.list_queue(store, **filters, limit=50, offset=2_500),
                                  repeat=20)
    assert total == N // 2 and len(rows) == 50
    t_list_first, _ = timed(lambda: review.list_queue(store, state="pending", limit=50), repeat=20)

    ids = [r["id"] for r in review.list_queue(store, state="pending", verdict="pass", limit=1000)[0]]
    t_bulk, res = timed(lambda: review.bulk_approve_passed(store, rev, ids))
    assert int(res) == BULK
    t_bulk_rest, rest = timed(lambda: review.bulk_approve_passed(store, rev))
    assert int(rest) == N - BULK

    out = tmp / "export.csv"
    t_export, result = timed(lambda: export.export(store, mkt, "generic", out))
    assert result["rows"] == N
    t_reexport, again = timed(lambda: export.export(store, mkt, None, tmp / "again.csv",
                                                    batch_id=result["batch_id"]))
    assert again["file_hash"] == result["file_hash"]

    timings = {
        "baseline_full_scan_ms": round(t_base * 1000, 2),
        "make_10000_drafts_s": round(t_make, 3),
        "list_page_ms": round(t_list * 1000, 2),
        "list_first_page_ms": round(t_list_first * 1000, 2),
        "bulk_approve_1000_s": round(t_bulk, 3),
        "bulk_approve_9000_s": round(t_bulk_rest, 3),
        "export_10000_s": round(t_export, 3),
        "reexport_10000_s": round(t_reexport, 3),
    }
    ratios = {k: round(v / timings["baseline_full_scan_ms"] * (1000 if k.endswith("_s") else 1), 3)
              for k, v in timings.items() if k != "baseline_full_scan_ms"}
    report = {
        "benchmark": "review_export",
        "drafts": N,
        "database": "sqlite (file, WAL)",
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "platform": platform.platform()},
        "timings": timings,
        "ratio_to_baseline": ratios,
        "targets": TARGETS,
        "meets_targets": {k: timings[k] < v for k, v in TARGETS.items()},
        "export_file_bytes": out.stat().st_size,
    }
    dest = REPO / "bench" / "results" / "review_export.json"
    dest.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
