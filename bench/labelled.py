"""The labelled drafts (tests/data/labelled/drafts.jsonl) and their frozen split.

Each draft, scored 1-5 by reading (../shared/QUALITY.md), belongs to one of two parts, fixed by
the SHA-256 of its key alone:

    part_of(key) == "calibration"   when int(sha256(key)[:8], 16) % 5 < 3   (about 60 %)
    part_of(key) == "test"          otherwise                               (about 40 %)

A draft never changes part (its key is a hash of its brand, campaign, mode, model, contact and
text: bench/quality.py draft_key), and a draft added later lands in the part its hash gives, so
the split never moves. Rule and threshold work (the sweeps of bench/calibrate.py) reads the
calibration part only: `load("calibration")`. The test part is read once, to report the chosen
settings against the targets: `load("test")`. A draft's "record_conflict" (whether its text states
a contact fact the record contradicts or does not hold) is its label's, or a second reading's
(tests/data/labelled/record_conflicts.jsonl).
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
LABELS = REPO / "tests" / "data" / "labelled" / "drafts.jsonl"
# A second reading of drafts scored earlier, for one question only: does the text state a contact
# fact the record contradicts or does not hold? ({"key", "record_conflict", "reason", "scorer"})
CONFLICTS = LABELS.parent / "record_conflicts.jsonl"
PARTS = ("calibration", "test")


def part_of(key: str) -> str:
    """The part a labelled draft belongs to, fixed by the SHA-256 of its key (60 / 40)."""
    return "calibration" if int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % 5 < 3 else "test"


def load(part: str, path: Path = LABELS) -> list[dict]:
    """The labelled drafts of one part ("calibration" or "test"), each with its "part"."""
    from brandvoice import textio

    if part not in PARTS:
        raise ValueError(f"part must be one of {PARTS}, not {part!r}")
    conflicts = {}
    if path == LABELS and CONFLICTS.is_file():
        conflicts = {r["key"]: r for _, r in textio.read_jsonl(CONFLICTS, what="Record conflicts")}
    rows = []
    for _, row in textio.read_jsonl(path, what="Labelled drafts"):
        if part_of(row["key"]) == part:
            extra = conflicts.get(row["key"])
            if extra is not None and "record_conflict" not in row:
                row = {**row, "record_conflict": extra["record_conflict"],
                       "record_reason": extra.get("reason", "")}
            rows.append({**row, "part": part})
    return rows


def require_part(rows: list[dict], part: str) -> None:
    """ValueError when a row is not of `part`: calibration code never sees the test part."""
    strays = [r["key"] for r in rows if part_of(r["key"]) != part]
    if strays:
        raise ValueError(f"{len(strays)} labelled draft(s) of another part given where only the "
                         f"{part} part may be read: {', '.join(strays[:3])}")
