"""Benchmark: CRM import of 100,000 generated HubSpot rows (+ activities), prompt rendering, snapshots.

Speeds are reported against a baseline measured in the same run (a bare csv.reader pass over the
same file), because the machine is shared and absolute timings are noisy. Peak RSS growth is the
process's peak resident size after the import minus its size before it.
Usage: python bench/crm.py [--rows 100000] [--out bench/results/crm.json]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

HEADER = ["Record ID", "First Name", "Last Name", "Email", "Company Name", "Job Title", "Lifecycle Stage",
          "Lead Status", "Phone Number", "City", "Country/Region", "Contact owner", "Last Activity Date",
          "Marketing contact status", "Unsubscribed from all email", "Create Date", "Industry", "Notes"]
FIRST = ["Dana", "Marcus", "Priya", "Tomás", "Hannah", "Kevin", "Sofia", "James", "Aisha", "Ryan", "Mei", ""]
LAST = ["Reyes", "Okafor", "Raman", "Herrera", "Lindqvist", "Osei", "Marchetti", "Whitaker", "Bello"]
TITLES = ["VP Finance", "Controller", "CFO", "Accounting Manager", "Senior Accountant", "Head of Finance"]
STAGES = ["Lead", "Marketing Qualified Lead", "Sales Qualified Lead", "Opportunity", "Customer"]
TYPES = ["Demo attended", "Content download", "Webinar attended", "Meeting no-show", "Email opened",
         "Deal stage change", "Trial ends soon"]


def rss_kb() -> int:
    """Current resident set size in KiB (Linux /proc; falls back to the peak)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def write_files(folder: Path, rows: int, seed: int = 0) -> tuple[Path, Path]:
    rnd = random.Random(seed)
    now = datetime(2026, 11, 21, tzinfo=timezone.utc)
    crm_path, act_path = folder / "contacts.csv", folder / "activities.csv"
    with open(crm_path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        for i in range(rows):
            first, last = rnd.choice(FIRST), rnd.choice(LAST)
            email = f"user{i}@company{i % 5000}.example" if i % 500 else f"broken{i}@"
            note = ("Evaluating close automation; NetSuite today.\nAsked about SOC 2." if i % 7 == 0 else "")
            w.writerow([str(100000 + i), first, last, email, f"Company {i % 5000}", rnd.choice(TITLES),
                        rnd.choice(STAGES), "Open", "+1 555 0100", "Denver", "United States", "Jordan Blake",
                        "2026-11-01", "Marketing contact", "true" if i % 250 == 0 else "",
                        "2026-01-02 10:00", "Software", note])
    with open(act_path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["contact_id", "type", "timestamp", "detail"])
        for _ in range(rows):
            ts = now - timedelta(days=rnd.randint(0, 120), minutes=rnd.randint(0, 1440))
            w.writerow([str(100000 + rnd.randrange(rows)), rnd.choice(TYPES), ts.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "downloaded the pricing guide"])
    return crm_path, act_path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--out", default=str(REPO / "bench" / "results" / "crm.json"))
    args = ap.parse_args()
    os.environ.setdefault("BRANDVOICE_HOME", tempfile.mkdtemp(prefix="bv-bench-"))
    from brandvoice import crm, jobs, prompting
    from brandvoice.config import Settings
    from brandvoice.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        crm_path, act_path = write_files(Path(tmp), args.rows)
        size_mb = crm_path.stat().st_size / 1e6
        t = time.perf_counter()
        with open(crm_path, newline="", encoding="utf-8") as fh:
            baseline_rows = sum(1 for _ in csv.reader(fh)) - 1
        baseline_s = time.perf_counter() - t

        before = rss_kb()
        t = time.perf_counter()
        result = crm.import_contacts(crm_path)
        import_s = time.perf_counter() - t
        peak_growth_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
        held_mb = (rss_kb() - before) / 1024
        n = len(result.contacts)
        del result

        t = time.perf_counter()
        with_acts = crm.import_contacts(crm_path, activities=act_path)
        import_acts_s = time.perf_counter() - t

        info = prompting.get_template("after_content_download")
        people = with_acts.contacts[:2000]
        now = datetime(2026, 11, 21, tzinfo=timezone.utc)
        t = time.perf_counter()
        gate = prompting.completeness(info, with_acts.contacts)
        gate_s = time.perf_counter() - t
        ok = set(gate["ok"])
        usable = [c for c in people if c["key"] in ok]
        t = time.perf_counter()
        for c in usable:
            prompting.render(info, c, brand="Ledgerly", extra={"now": now})
        render_s = time.perf_counter() - t

        store = Store(Settings.from_env())
        job_id = jobs.create(store, "generate", {})
        t = time.perf_counter()
        crm.snapshot_contacts(store, job_id, with_acts.contacts)
        snapshot_s = time.perf_counter() - t
        t = time.perf_counter()
        crm.snapshot_contacts(store, job_id, with_acts.contacts)
        snapshot_again_s = time.perf_counter() - t

    res = {
        "rows": args.rows, "file_mb": round(size_mb, 1), "contacts": n,
        "excluded": len(with_acts.excluded), "activities_joined": with_acts.stats["activities"]["joined"],
        "csv_reader_baseline_s": round(baseline_s, 3), "baseline_rows": baseline_rows,
        "import_s": round(import_s, 3), "import_rows_per_s": round(args.rows / import_s),
        "import_vs_csv_reader": round(import_s / baseline_s, 2),
        "import_with_activities_s": round(import_acts_s, 3),
        "peak_rss_growth_mb": round(peak_growth_mb, 1), "rss_held_by_contacts_mb": round(held_mb, 1),
        "gate_s": round(gate_s, 3), "rendered": len(usable),
        "render_briefs_per_s": round(len(usable) / render_s) if render_s else None,
        "snapshot_s": round(snapshot_s, 2), "snapshot_rows_per_s": round(n / snapshot_s),
        "snapshot_again_s": round(snapshot_again_s, 2),
        "python": sys.version.split()[0], "cpus": os.cpu_count(),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    tmp_out = Path(args.out).with_suffix(".tmp")
    tmp_out.write_text(json.dumps(res, indent=2) + "\n")
    tmp_out.replace(args.out)
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
