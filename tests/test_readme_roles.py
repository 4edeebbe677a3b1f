"""The README says what the code does: its roles table is users.PERMISSIONS, its review states are
review.STATES, and `make run` listens on localhost unless told otherwise."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from brandvoice import review, users

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    start = README.index(title)
    end = README.find("\n### ", start + len(title))
    return README[start:end if end > 0 else None]


def test_the_roles_table_is_the_permissions_table():
    section = _section("### Users and roles")
    rows = dict(re.findall(r"^\| ([a-z][a-z ]+?) \| ([a-z, ]+) \|$", section, re.MULTILINE))
    rows.pop("action")  # the header row
    assert {k: tuple(v.split(", ")) for k, v in rows.items()} == users.PERMISSIONS
    assert "BRANDVOICE_ALLOW_SELF_APPROVAL" not in README  # the policy is in the store


def test_the_states_table_names_every_state():
    section = _section("### Review (")
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
