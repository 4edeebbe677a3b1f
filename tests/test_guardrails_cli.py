"""`brandvoice check --drafts FILE`: verdicts and reasons for any CSV of drafts."""

from __future__ import annotations

import csv

import pytest
from click.testing import CliRunner

from brandvoice.cli import main

PAST = [
    ("Your recap from the call", "Hi Ana,\n\nThanks for the call. The close checklist is attached and the "
     "bank reconciliation guide is linked below.\n\n— The Acme team"),
    ("The checklist you asked for", "Hi Ben,\n\nHere is the month-end close checklist. Assign an owner to "
     "each line and review it every week.\n\n— The Acme team"),
    ("Accruals without spreadsheets", "Hi there,\n\nAccruals run from schedules you set once. Acme posts "
     "them on day one of the close.\n\n— The Acme team"),
    ("Bank recs, matched", "Hi there,\n\nAcme matches bank lines to the ledger on its own. The rest land "
     "in one queue with the likely match.\n\n— The Acme team"),
    ("Lock the period", "Hi there,\n\nLock a period once it is reviewed. Late entries move to the next "
     "period with a note.\n\n— The Acme team"),
    ("Close in five days", "Hi there,\n\nTeams that reconcile daily close in five days. Start with the bank "
     "accounts and the checklist.\n\n— The Acme team"),
]
OTHER = [("Coffee o'clock", "Hey friend! Fresh beans roasted Monday, brewed with love. Stay bright, the crew"),
         ("Beans are back", "Our espresso roast is back in the grinder. Sip, smile, repeat. Stay bright!")]


def write(path, header, rows):
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


@pytest.fixture
def fake_loader(plugged, fake_embedder, monkeypatch):
    """The fake embedder plugged in as "fake" and chosen by the settings (BRANDVOICE_EMBEDDER)."""
    plugged("embedder", "fake", lambda settings: fake_embedder)
    monkeypatch.setenv("BRANDVOICE_EMBEDDER", "fake")


def test_check_writes_verdicts_and_reasons(tmp_path, home, fake_loader):
    emails = write(tmp_path / "past.csv", ["brand", "subject", "body"],
                   [("Acme", s, b) for s, b in PAST] + [("Beanco", s, b) for s, b in OTHER])
    good = ("Hi Dana,\n\nThanks for the call. The close checklist is attached; assign an owner to each "
            "line and review it every week.\n\n— The Acme team")
    drafts = write(tmp_path / "drafts.csv", ["subject", "body", "email", "first_name", "company"], [
        ("Your checklist", good, "dana@x.example", "Dana", "Northwind"),
        ("Your checklist", good.replace("Hi Dana", "Hi Marcus"), "dana@x.example", "Dana", "Northwind"),
        ("Deal!", "Hi {{first_name}},\n\nAct now!!! Save 50% today.", "marcus@y.example", "Marcus", "Bluestem"),
    ])
    out = tmp_path / "checked.csv"
    r = CliRunner().invoke(main, ["check", "--drafts", str(drafts), "--brand", "Acme", "--emails",
                                  str(emails), "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "Checked 3 draft(s)" in r.output and "Tone profile:" in r.output
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert list(rows[0])[:5] == ["subject", "body", "email", "first_name", "company"]
    assert {"verdict", "tone_score", "fails", "warns", "reasons"} <= set(rows[0])
    assert rows[0]["verdict"] in ("pass", "warn") and rows[0]["tone_score"], rows[0]["reasons"]
    assert rows[1]["verdict"] == "fail" and "Greets “Marcus”" in rows[1]["reasons"]
    assert rows[2]["verdict"] == "fail" and "placeholder" in rows[2]["reasons"]
    assert "50%" in rows[2]["reasons"]
    r = CliRunner().invoke(main, ["check", "--drafts", str(drafts), "--brand", "Acme", "--emails",
                                  str(emails), "--out", str(out), "--strict"])
    assert r.exit_code == 1


def test_check_without_tone_and_default_output(tmp_path, home):
    drafts = write(tmp_path / "d.csv", ["Subject", "Body"], [("Hello", "Hi there,\n\nA note.\n\nThe team")])
    r = CliRunner().invoke(main, ["check", "--drafts", str(drafts), "--no-tone"])
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader((tmp_path / "d.checked.csv").open(encoding="utf-8")))
    assert rows[0]["Subject"] == "Hello" and rows[0]["tone_score"] == ""


def test_check_matches_crm_rows(tmp_path, home):
    crm = write(tmp_path / "crm.csv", ["email", "first_name", "last_name", "company"],
                [("dana@x.example", "Dana", "Reyes", "Northwind"),
                 ("marcus@y.example", "Marcus", "Okafor", "Bluestem")])
    body = "Hi Dana,\n\nMarcus Okafor at Bluestem said the same thing last week.\n\nThe team"
    drafts = write(tmp_path / "d.csv", ["subject", "body", "email"], [("Hello Dana", body, "dana@x.example")])
    r = CliRunner().invoke(main, ["check", "--drafts", str(drafts), "--crm", str(crm), "--no-tone",
                                  "--out", str(tmp_path / "o.csv")])
    assert r.exit_code == 0, r.output
    reasons = next(csv.DictReader((tmp_path / "o.csv").open(encoding="utf-8")))["reasons"]
    assert "Marcus Okafor" in reasons and "Bluestem" in reasons


def test_check_reads_drafts_by_spreadsheet_rows(tmp_path, home):
    drafts = tmp_path / "d.csv"
    drafts.write_text("subject;body;first_name\n"
                      'Hello;"Hi Dana,\n\nA note.\n\nThe team";Dana\n'
                      "\n"
                      "Broken;Hi;Ann;extra;cells\n"
                      "Short;Hi there\n", encoding="utf-8")
    r = CliRunner().invoke(main, ["check", "--drafts", str(drafts), "--no-tone"])
    assert r.exit_code == 0, r.output
    assert "d.csv: 1 row(s) skipped (first: row 4: 5 fields but the header has 3" in r.output
    rows = list(csv.DictReader((tmp_path / "d.checked.csv").open(encoding="utf-8")))
    assert [row["subject"] for row in rows] == ["Hello", "Short"] and rows[1]["first_name"] == ""


def test_check_rejects_file_without_body(tmp_path, home):
    drafts = write(tmp_path / "d.csv", ["subject", "text"], [("Hello", "x")])
    r = CliRunner().invoke(main, ["check", "--drafts", str(drafts), "--no-tone"])
    assert r.exit_code != 0
    assert "d.csv" in r.output and "no body column" in r.output and "Traceback" not in r.output


def test_bad_policy_file_is_a_clean_error(tmp_path, home, monkeypatch):
    pol = tmp_path / "pol"
    pol.mkdir()
    (pol / "default.toml").write_text("[length]\nbody_max_words = 'many'\n", encoding="utf-8")
    monkeypatch.setenv("BRANDVOICE_GUARDRAILS", str(pol))
    drafts = write(tmp_path / "d.csv", ["subject", "body"], [("Hello", "Hi")])
    r = CliRunner().invoke(main, ["check", "--drafts", str(drafts), "--no-tone"])
    assert r.exit_code != 0 and "line 2" in r.output and "length.body_max_words" in r.output
