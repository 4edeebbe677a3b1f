"""The docs say what the code does: the roles table of docs/review.md is users.PERMISSIONS, its
review states are review.STATES, and `make run` listens on localhost unless told otherwise."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from brandvoice import review, users

REPO = Path(__file__).resolve().parent.parent
REVIEW = (REPO / "docs" / "review.md").read_text(encoding="utf-8")
EVERYWHERE = "\n".join(p.read_text(encoding="utf-8") for p in [REPO / "README.md",
                                                                *(REPO / "docs").glob("*.md")])


def _section(title: str) -> str:
    start = REVIEW.index(title)
    end = REVIEW.find("\n## ", start + len(title))
    return REVIEW[start:end if end > 0 else None]


def test_the_roles_table_is_the_permissions_table():
    section = _section("## Users and roles")
    rows = dict(re.findall(r"^\| ([a-z][a-z ]+?) \| ([a-z, ]+) \|$", section, re.MULTILINE))
    rows.pop("action")  # the header row
    assert {k: tuple(v.split(", ")) for k, v in rows.items()} == users.PERMISSIONS
    assert "BRANDVOICE_ALLOW_SELF_APPROVAL" not in EVERYWHERE  # the policy is in the store


def test_the_states_table_names_every_state():
    section = _section("## Review (")
    for state in review.STATES:
        assert f"| {state}" in section or f", {state} |" in section, state
    for code in review.REASON_CODES:
        assert f"`{code}`" in section, code


def test_make_run_listens_on_localhost_by_default():
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    default = subprocess.run(["make", "-n", "run"], cwd=REPO, capture_output=True, text=True)
    assert "--server.address localhost" in default.stdout, default.stdout + default.stderr
    opened = subprocess.run(["make", "-n", "run", "ADDRESS=0.0.0.0"], cwd=REPO, capture_output=True,
                            text=True)
    assert "--server.address 0.0.0.0" in opened.stdout
