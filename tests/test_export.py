"""Export profiles against their format rules, formula injection, one row per contact, re-export."""

from __future__ import annotations

import csv
import io

import pytest
from helpers_drafts import make_drafts

from brandvoice import delivery as ex
from brandvoice import review
from brandvoice import users as u
from brandvoice.delivery.profiles import MAILCHIMP_TAG_CHARS, body_html, split_utf8
from brandvoice.errors import ExportError, PermissionDenied

PW = "correct horse"  # conftest.PASSWORD, the `people` fixture's password
PAYLOADS = ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(1+1)", "\tstart", "\rstart"]
MULTI = ("Grüße aus Zürich — ça va? 你好，世界！ 😀☕️ naïve café " * 12).strip()


pytestmark = [pytest.mark.usefixtures("fast_hashes"), pytest.mark.all_databases]



def approved(store, people, n, **kw):
    ids = make_drafts(store, n, **kw)
    assert review.bulk_approve_passed(store, people["rev"], ids) == n
    return ids


def read_csv(path):
    raw = path.read_bytes()
    text = raw.decode("utf-8-sig")
    return raw, list(csv.reader(io.StringIO(text, newline="")))


def test_generic_profile_rfc4180_and_state(store, people, tmp_path):
    ids = approved(store, people, 3)
    pending = make_drafts(store, 1)
    out = tmp_path / "merge.csv"
    res = ex.export(store, people["mkt"], "generic", out)
    raw, rows = read_csv(out)
    assert rows[0] == ["Email", "First Name", "Last Name", "Company", "Subject", "Body"]
    assert len(rows) == 4 and res["rows"] == 3 and res["draft_ids"] == ids
    assert raw.count(b"\r\n") >= 4 and raw.startswith(b"\xef\xbb\xbf")  # for Excel
    assert rows[1][5] == review.get_draft(store, ids[0])["body"]  # multi-line body round-trips
    assert {review.get_draft(store, i)["state"] for i in ids} == {"exported"}
    assert review.get_draft(store, pending[0])["state"] == "pending"
    trail = review.audit_trail(store, ids[0])
    assert trail["exports"][0]["id"] == res["batch_id"] and trail["events"][-1]["action"] == "export"
    with pytest.raises(ExportError, match="no approved drafts"):
        ex.export(store, people["mkt"], "generic", tmp_path / "again.csv")


def test_reviewer_exports_what_they_approved(store, people, tmp_path):
    approved(store, people, 1)
    res = ex.export(store, people["rev"], "generic", tmp_path / "x.csv")
    assert res["rows"] == 1 and (tmp_path / "x.csv").exists()


def test_export_refuses_deactivated_user(store, people, tmp_path):
    approved(store, people, 1)
    u.set_active(store, people["admin"], "rita", False)
    with pytest.raises(PermissionDenied, match="deactivated"):
        ex.export(store, people["rev"], "generic", tmp_path / "y.csv")
    assert not (tmp_path / "y.csv").exists()


@pytest.mark.parametrize("payload", PAYLOADS)
def test_formula_payloads_neutralized_in_spreadsheet_profile(store, people, tmp_path, payload):
    approved(store, people, 1, subject=lambda i, f: payload, body=lambda i, f, c: payload + " body")
    out = tmp_path / "m.csv"
    res = ex.export(store, people["mkt"], "generic", out, bom=True)
    raw, rows = read_csv(out)
    assert raw.startswith(b"\xef\xbb\xbf")
    assert rows[1][4] == "'" + payload and rows[1][5] == "'" + payload + " body"
    assert res["neutralized_cells"] == 2
    # a tool import keeps the value as written (documented), unless forced
    ids = approved(store, people, 1, subject=lambda i, f: payload, email_domain="x.test")
    ex.export(store, people["mkt"], "klaviyo", tmp_path / "k.csv", draft_ids=ids)
    assert read_csv(tmp_path / "k.csv")[1][1][4] == payload


def test_mailchimp_split_reassembles_exactly(store, people, tmp_path):
    long_word = "x" * 300 + "é" * 50
    bodies = [MULTI, "Short body.", MULTI + "\n\n" + long_word]
    ids = approved(store, people, 3, body=lambda i, f, c: bodies[i])
    out = tmp_path / "mc.csv"
    res = ex.export(store, people["mkt"], "mailchimp", out)
    _, rows = read_csv(out)
    header = rows[0]
    assert header[:4] == ["Email Address", "First Name", "Last Name", "SUBJECT"]
    tags = header[4:]
    assert tags == [f"BODY{i}" for i in range(1, len(tags) + 1)] and len(tags) > 3
    assert all(len(t) <= MAILCHIMP_TAG_CHARS for t in header[3:])
    for row, body, d in zip(rows[1:], bodies, ids, strict=True):
        parts = row[4:]
        assert all(len(p.encode("utf-8")) <= 255 for p in parts)
        assert "".join(parts) == body == review.get_draft(store, d)["body"]
    # chunks end at a word boundary unless a word is longer than a field
    used = [p for p in rows[1][4:] if p]
    assert len(used) > 1 and all(p.endswith((" ", "\n")) for p in used[:-1])
    assert res["snippet"] == "".join(f"*|{t}|*" for t in tags)
    assert (tmp_path / "mc.snippet.txt").read_text(encoding="utf-8").strip() == res["snippet"]


def test_mailchimp_limits_refused_not_truncated(store, people, tmp_path):
    ids = approved(store, people, 1, subject=lambda i, f: "ü" * 200)
    with pytest.raises(ExportError, match=f"draft {ids[0]} .*SUBJECT is 400 bytes"):
        ex.export(store, people["mkt"], "mailchimp", tmp_path / "mc.csv")
    ids2 = approved(store, people, 1, body=lambda i, f, c: "word " * 2000, email_domain="y.test")
    with pytest.raises(ExportError, match=f"draft {ids2[0]} .*needs 40 BODY fields"):
        ex.export(store, people["mkt"], "mailchimp", tmp_path / "mc.csv", draft_ids=ids2)
    assert not (tmp_path / "mc.csv").exists()
    assert review.get_draft(store, ids[0])["state"] == "approved"


def test_split_utf8_edges():
    assert split_utf8("") == [] and split_utf8("abc") == ["abc"]
    text = "😀" * 100  # 400 bytes, no spaces: cut between characters
    parts = split_utf8(text)
    assert "".join(parts) == text and [len(p.encode()) for p in parts] == [252, 148]
    html = body_html("a & b\n" + "y" * 250 + "<z>")
    parts = split_utf8(html.replace(" ", ""))
    assert "".join(parts) == html.replace(" ", "") and not parts[0].endswith(("&", "&amp"))


def test_hubspot_html_body_by_default(store, people, tmp_path):
    approved(store, people, 1, body=lambda i, f, c: "Hi <Dana> & co,\nline two\n\nPara two")
    ex.export(store, people["mkt"], "hubspot", tmp_path / "h.csv")
    _, rows = read_csv(tmp_path / "h.csv")
    assert rows[0] == ["Email", "First Name", "Last Name", "Follow Up Subject", "Follow Up Body"]
    assert rows[1][4] == "<p>Hi &lt;Dana&gt; &amp; co,<br>line two</p><p>Para two</p>"
    ids = approved(store, people, 1, email_domain="z.test")
    ex.export(store, people["mkt"], "hubspot", tmp_path / "p.csv", html_body=False, draft_ids=ids)
    assert read_csv(tmp_path / "p.csv")[1][1][4] == review.get_draft(store, ids[0])["body"]


def test_klaviyo_email_first(store, people, tmp_path):
    approved(store, people, 2)
    ex.export(store, people["mkt"], "klaviyo", tmp_path / "k.csv")
    _, rows = read_csv(tmp_path / "k.csv")
    assert rows[0][0] == "Email" and "Follow Up Body" in rows[0] and len(rows) == 3


def test_sfmc_refuses_over_4000_chars(store, people, tmp_path):
    ok = approved(store, people, 1)
    bad = approved(store, people, 1, body=lambda i, f, c: "a" * 4001, email_domain="big.test")
    with pytest.raises(ExportError) as err:
        ex.export(store, people["mkt"], "sfmc", tmp_path / "s.csv")
    assert f"draft {bad[0]}" in str(err.value) and "Body is 4001 characters, the limit is 4000" in str(err.value)
    assert not (tmp_path / "s.csv").exists()
    res = ex.export(store, people["mkt"], "sfmc", tmp_path / "s.csv", draft_ids=ok)
    _, rows = read_csv(tmp_path / "s.csv")
    assert rows[0] == ["SubscriberKey", "EmailAddress", "FirstName", "LastName", "Subject", "Body"]
    assert res["rows"] == 1


def test_one_row_per_contact(store, people, tmp_path):
    first = approved(store, people, 2)
    second = approved(store, people, 1)  # a second job: contact0@example.com again
    with pytest.raises(ExportError, match=f"contact0@example.com: drafts {first[0]}, {second[0]}"):
        ex.export(store, people["mkt"], "generic", tmp_path / "g.csv")
    res = ex.export(store, people["mkt"], "generic", tmp_path / "g.csv", on_duplicate="newest")
    assert res["draft_ids"] == [first[1], second[0]]
    assert res["skipped"][0]["id"] == first[0] and "newest" in res["skipped"][0]["reason"]
    assert review.get_draft(store, first[0])["state"] == "approved"


def test_reexport_is_byte_identical(store, people, tmp_path):
    approved(store, people, 5, body=lambda i, f, c: MULTI)
    first = ex.export(store, people["mkt"], "mailchimp", tmp_path / "a.csv", bom=True)
    again = ex.export(store, people["admin"], None, tmp_path / "b.csv", batch_id=first["batch_id"])
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert again["file_hash"] == first["file_hash"] and again["reexported"]
    assert (tmp_path / "b.snippet.txt").read_text() == (tmp_path / "a.snippet.txt").read_text()
    with pytest.raises(ExportError, match="was exported with profile 'mailchimp'"):
        ex.export(store, people["mkt"], "generic", tmp_path / "c.csv", batch_id=first["batch_id"])
    assert ex.list_batches(store)[0]["n_rows"] == 5


def test_cli_export_and_reexport(store, people, tmp_path):
    from click.testing import CliRunner

    from brandvoice.cli import main

    approved(store, people, 2, body=lambda i, f, c: MULTI)
    env = {"BRANDVOICE_USER": "marketer1", "BRANDVOICE_PASSWORD": PW}
    runner = CliRunner()
    r = runner.invoke(main, ["export", "--profile", "mailchimp", "--out", str(tmp_path / "a.csv"),
                             "--bom"], env=env)
    assert r.exit_code == 0, r.output
    assert "Wrote batch 1 (mailchimp): 2 row(s)" in r.output and "*|BODY1|**|BODY2|*" in r.output
    r = runner.invoke(main, ["export", "--batch", "1", "--out", str(tmp_path / "b.csv")], env=env)
    assert r.exit_code == 0 and (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    r = runner.invoke(main, ["export", "--profile", "generic", "--out", str(tmp_path / "c.csv")], env=env)
    assert r.exit_code == 1 and "no approved drafts" in r.output
