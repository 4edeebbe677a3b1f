"""Results import: each tool's activity export and mailbox replies, matched to exported drafts by
batch, address and Message-ID; every row matched or named; the same file twice changes nothing."""

from __future__ import annotations

import email
import mailbox
import socket
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime

import pytest
import sqlalchemy as sa
from helpers_drafts import make_drafts
from helpers_results import after, mailchimp_activity, write_csv

from brandvoice import delivery, results, review
from brandvoice.errors import InputError, NotFoundError, PermissionDenied
from brandvoice.store import audit, result_events, result_rows

pytestmark = [pytest.mark.usefixtures("fast_hashes"), pytest.mark.all_databases]


def _exported(store, people, tmp_path, n=6, domain="example.com", profile="mailchimp"):
    ids = make_drafts(store, n, email_domain=domain)
    review.bulk_approve_passed(store, people["rev"], ids)
    batch = delivery.export(store, people["mkt"], profile, tmp_path / f"{domain}-{profile}.csv")
    return ids, batch


def _events(store) -> list[tuple]:
    with store.read() as conn:
        return conn.execute(sa.select(result_events.c.draft_id, result_events.c.kind,
                                      result_events.c.occurred_at, result_events.c.matched_by)
                            .order_by(result_events.c.id)).all()


def test_mailchimp_activity_every_row_matched_or_named(store, people, tmp_path):
    ids, batch = _exported(store, people, tmp_path)
    t = after(1)
    path = mailchimp_activity(tmp_path / "mc.csv", [
        ("contact0@example.com", "open", t), ("Contact1@Example.com", "click", t),
        ("contact1@example.com", "open", t), ("stranger@example.com", "open", t),
        ("contact2@example.com", "sent", t), ("contact3@example.com", "forward it", t),
        ("contact4@example.com", "open", "next tuesday"), ("contact5@example.com", "bounce", t)])
    res = results.import_results(store, people["mkt"], path)
    assert res["source"] == "mailchimp" and res["batch_ids"] == [batch["batch_id"]]
    assert (res["rows"], res["matched"], res["new_events"]) == (8, 4, 4)
    assert res["new_by_kind"] == {"bounce": 1, "click": 1, "open": 2}
    assert (res["unmatched"], res["ignored"], res["invalid"]) == (1, 1, 2)
    named = results.named_rows(store, res["import_id"])
    assert [(r["label"], r["status"]) for r in named] == [
        ("row 5", "unmatched"), ("row 6", "ignored"), ("row 7", "invalid"), ("row 8", "invalid")]
    assert "no exported or sent draft went to stranger@example.com" in named[0]["reason"]
    assert "unknown event 'forward it'" in named[2]["reason"]
    assert "'next tuesday' is not a date and time" in named[3]["reason"]
    stamp = t.replace(" ", "T") + "Z"
    assert _events(store)[0] == (ids[0], "open", stamp, "address")
    with store.read() as conn:
        (entry,) = conn.execute(sa.select(audit.c.actor, audit.c.details)
                                .where(audit.c.action == "results_import")).all()
    assert entry.actor == "marketer1" and entry.details["new_events"] == 4


def test_the_same_file_twice_changes_nothing_and_overlaps_add_only_new_events(store, people,
                                                                               tmp_path):
    _exported(store, people, tmp_path)
    t = after(1)
    first = [("contact0@example.com", "open", t), ("contact1@example.com", "open", t)]
    res = results.import_results(store, people["mkt"], mailchimp_activity(tmp_path / "a.csv", first))
    before = _events(store)
    with store.read() as conn:
        audits = conn.execute(sa.select(sa.func.count()).select_from(audit)).scalar()
    again = results.import_results(store, people["mkt"], tmp_path / "a.csv")
    assert again["already_imported"] and again["import_id"] == res["import_id"]
    with store.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(audit)).scalar() == audits
    assert _events(store) == before
    # a later export of the same campaign holds the earlier events and new ones
    later = first + [("contact2@example.com", "click", after(2)), first[0]]
    res2 = results.import_results(store, people["mkt"], mailchimp_activity(tmp_path / "b.csv", later))
    assert (res2["new_events"], res2["known_events"]) == (1, 3)
    assert len(_events(store)) == 3


def test_hubspot_brevo_and_klaviyo_exports(store, people, tmp_path):
    ids, _ = _exported(store, people, tmp_path, n=4, profile="hubspot")
    ms = int((datetime.now(timezone.utc) + timedelta(hours=1)).timestamp() * 1000)
    hub = write_csv(tmp_path / "hub.csv", ["Recipient", "Type", "Created", "Email campaign ID"], [
        ["contact0@example.com", "DELIVERED", ms, 77], ["contact0@example.com", "OPEN", ms, 77],
        ["contact1@example.com", "DROPPED", ms, 77], ["contact2@example.com", "STATUSCHANGE", ms, 77],
        ["contact3@example.com", "SPAMREPORT", ms, 77]])
    res = results.import_results(store, people["mkt"], hub)
    assert res["source"] == "hubspot" and res["new_by_kind"] == {"bounce": 1, "delivered": 1,
                                                                "open": 1, "spam": 1}
    assert res["ignored"] == 1
    brevo = write_csv(tmp_path / "brevo.csv", ["st_text", "ts", "sub", "frm", "email", "tag", "mid"], [
        ["Opened", after(3), "Hi", "team@x", "contact2@example.com", "", "<abc@smtp-relay>"],
        ["Clicked", after(3), "Hi", "team@x", "contact2@example.com", "", "<abc@smtp-relay>"],
        ["Sent", after(3), "Hi", "team@x", "contact3@example.com", "", "<abd@smtp-relay>"],
        ["Hard bounce", after(3), "Hi", "team@x", "contact1@example.com", "", "<abe@smtp>"]])
    res = results.import_results(store, people["mkt"], brevo)
    assert res["source"] == "brevo"
    assert res["new_by_kind"] == {"bounce": 1, "click": 1, "open": 1} and res["ignored"] == 1
    klav = write_csv(tmp_path / "klaviyo.csv", ["Event ID", "Email", "Metric", "Timestamp"], [
        ["e1", "contact3@example.com", "Opened Email", after(4)],
        ["e2", "contact3@example.com", "Unsubscribed from Email Marketing", after(4)],
        ["e3", "contact3@example.com", "Checkout Started", after(4)]])
    res = results.import_results(store, people["mkt"], klav)
    assert res["source"] == "klaviyo" and res["new_by_kind"] == {"open": 1, "unsubscribe": 1}
    assert results.named_rows(store, res["import_id"])[0]["reason"] == (
        "unknown event 'Checkout Started' for Klaviyo metric export")


def test_generic_layouts_one_column_per_outcome_and_one_event_lists(store, people, tmp_path):
    ids, _ = _exported(store, people, tmp_path, n=4, profile="generic")
    wide = write_csv(tmp_path / "wide.csv", ["Email", "Opened", "Clicks", "Replied", "Bounced"], [
        ["contact0@example.com", "yes", "2", "no", ""],
        ["contact1@example.com", after(5), "0", "TRUE", "no"],
        ["contact2@example.com", "no", "0", "no", "no"]])
    res = results.import_results(store, people["mkt"], wide)
    assert res["source"] == "generic" and res["new_by_kind"] == {"click": 1, "open": 2, "reply": 1}
    assert [r["reason"] for r in results.named_rows(store, res["import_id"])] == [
        "no outcome marked in the row"]
    # Mailchimp's "Opened" list: addresses and merge fields, no event column
    opened = write_csv(tmp_path / "opened.csv", ["Email Address", "First Name", "Last Name"],
                       [["contact3@example.com", "Ana", "Silva"]])
    with pytest.raises(InputError, match="no event column") as exc:
        results.import_results(store, people["mkt"], opened)
    assert "name it: event open" in str(exc.value)
    res = results.import_results(store, people["mkt"], opened, event="open")
    assert res["new_by_kind"] == {"open": 1}


def test_matching_by_batch_time_and_draft_id(store, people, tmp_path):
    ids_a, a = _exported(store, people, tmp_path, n=2)
    # the same addresses receive a second job's drafts in a later batch
    ids_b = make_drafts(store, 2)
    review.bulk_approve_passed(store, people["rev"], ids_b)
    b = delivery.export(store, people["mkt"], "generic", tmp_path / "second.csv",
                        allow_repeat=True)  # a second send on purpose
    rows = [["contact0@example.com", "open", ""]]
    path = write_csv(tmp_path / "no-time.csv", ["email", "event", "timestamp"], rows)
    res = results.import_results(store, people["mkt"], path)
    (named,) = results.named_rows(store, res["import_id"])
    assert f"received drafts in batches {a['batch_id']}, {b['batch_id']}" in named["reason"]
    res = results.import_results(store, people["mkt"], path, batches=[a["batch_id"]])
    assert res["matched"] == 1 and _events(store)[-1][0] == ids_a[0]
    # with a time: the batch sent last before the event; an event older than every batch is named
    timed = write_csv(tmp_path / "timed.csv", ["email", "event", "timestamp"],
                      [["contact1@example.com", "click", after(1)],
                       ["contact1@example.com", "open", "2001-01-01T00:00:00Z"]])
    res = results.import_results(store, people["mkt"], timed)
    assert _events(store)[-1][:2] == (ids_b[1], "click")
    assert "older than every batch sent to contact1@example.com" in results.named_rows(
        store, res["import_id"])[0]["reason"]
    # a draft id names the draft; it must have been exported, to that address
    by_id = write_csv(tmp_path / "ids.csv", ["draft_id", "email", "event"],
                      [[ids_a[1], "contact1@example.com", "reply"], [ids_a[1], "x@example.com", "reply"],
                       [999, "", "reply"], ["7b", "", "reply"]])
    res = results.import_results(store, people["mkt"], by_id)
    assert res["matched"] == 1 and _events(store)[-1][:2] == (ids_a[1], "reply")
    reasons = [r["reason"] for r in results.named_rows(store, res["import_id"])]
    assert reasons == [f"draft {ids_a[1]} went to contact1@example.com, not x@example.com",
                       "draft 999 was not exported or sent", "draft id '7b' is not a number"]
    with pytest.raises(NotFoundError, match="No export batch 42"):
        results.import_results(store, people["mkt"], path, batches=[42])


def test_permission_and_bad_files(store, people, tmp_path):
    from brandvoice import users

    _exported(store, people, tmp_path, n=1)
    path = write_csv(tmp_path / "r.csv", ["email", "event"], [["contact0@example.com", "open"]])
    users.set_active(store, people["admin"], "rob", False)
    with pytest.raises(PermissionDenied):
        results.import_results(store, people["rev2"], path)
    with pytest.raises(InputError, match="not found"):
        results.import_results(store, people["rev"], tmp_path / "missing.csv")
    other = write_csv(tmp_path / "o.csv", ["Address", "Type"], [["contact0@example.com", "OPEN"]])
    with pytest.raises(InputError, match="no address column for HubSpot email events"):
        results.import_results(store, people["rev"], other, source="hubspot")
    with pytest.raises(InputError, match="Unknown event 'opened'"):
        results.import_results(store, people["rev"], path, event="opened")
    (tmp_path / "bin.csv").write_bytes(b"\x00\x01\x02" * 100)
    with pytest.raises(InputError):
        results.import_results(store, people["rev"], tmp_path / "bin.csv")
    assert results.import_results(store, people["rev"], path)["matched"] == 1  # reviewers may


# --- mailbox: replies to SMTP sends by Message-ID -----------------------------------------------


class _Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def sent(store, people):
    """Three drafts sent through a local SMTP server; their messages as the recipients got them."""
    from aiosmtpd.controller import Controller

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        ids = make_drafts(store, 3)
        review.bulk_approve_passed(store, people["rev"], ids)
        cfg = delivery.SmtpConfig(from_addr="Ledgerly <team@ledgerly.example>", host="127.0.0.1",
                                  port=port, security="none")
        delivery.send(store, people["mkt"], cfg)
    finally:
        controller.stop()
    return ids, inbox.messages


def _reply(to: email.message.Message, text: str, **headers) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"] = to["To"], to["From"]
    msg["Subject"] = "Re: " + str(to["Subject"])
    msg["Date"] = format_datetime(datetime.now(timezone.utc) + timedelta(hours=2))
    msg["Message-ID"] = f"<reply-{abs(hash(text))}@mail.example>"
    msg["In-Reply-To"] = to["Message-ID"]
    msg["References"] = to["Message-ID"]
    for k, v in headers.items():
        msg[k.replace("_", "-")] = v
    msg.set_content(text)
    return msg


def _bounce(of: email.message.Message) -> EmailMessage:
    dsn = EmailMessage()
    dsn["From"], dsn["To"] = "MAILER-DAEMON@mx.example", of["From"]
    dsn["Subject"] = "Undelivered Mail Returned to Sender"
    dsn["Date"] = format_datetime(datetime.now(timezone.utc) + timedelta(hours=1))
    dsn.set_content("The mail system could not deliver your message.")
    dsn.make_mixed()
    headers = EmailMessage()
    headers.set_content(f"Message-ID: {of['Message-ID']}\nTo: {of['To']}\n", subtype="rfc822-headers")
    dsn.attach(headers)
    dsn.replace_header("Content-Type", 'multipart/report; report-type="delivery-status"; '
                       f'boundary="{dsn.get_boundary()}"')
    return dsn


def test_mbox_replies_bounces_and_automatic_answers(store, people, tmp_path, sent):
    ids, messages = sent
    by_draft = {int(m["X-Brandvoice-Draft"]): m for m in messages}
    box = mailbox.mbox(str(tmp_path / "replies.mbox"))
    box.add(_reply(by_draft[ids[0]], "Yes, Tuesday works."))
    box.add(_reply(by_draft[ids[2]], "I am out of office until Monday.", Auto_Submitted="auto-replied"))
    box.add(_bounce(by_draft[ids[1]]))
    stranger = EmailMessage()
    stranger["From"], stranger["Subject"] = "someone@else.example", "Hello"
    stranger["Date"] = format_datetime(datetime.now(timezone.utc))
    stranger.set_content("Unrelated.")
    box.add(stranger)
    box.flush()
    res = results.import_results(store, people["mkt"], tmp_path / "replies.mbox")
    assert res["source"] == "mailbox" and res["new_by_kind"] == {"bounce": 1, "reply": 1}
    got = {(d, k, how) for d, k, _, how in _events(store)}
    assert got == {(ids[0], "reply", "message_id"), (ids[1], "bounce", "message_id")}
    named = results.named_rows(store, res["import_id"])
    assert [(r["label"], r["status"]) for r in named] == [("message 2", "ignored"),
                                                           ("message 4", "unmatched")]
    assert "automatic answer" in named[0]["reason"]
    assert "no exported or sent draft went to someone@else.example" in named[1]["reason"]


def test_a_folder_of_eml_files(store, people, tmp_path, sent):
    ids, messages = sent
    folder = tmp_path / "replies"
    folder.mkdir()
    for i, m in enumerate(messages):
        (folder / f"{i}.eml").write_bytes(bytes(_reply(m, f"Reply {i}")))
    (folder / "notes.txt").write_text("not a message")
    res = results.import_results(store, people["mkt"], folder)
    assert res["source"] == "mailbox" and res["new_by_kind"] == {"reply": 3}
    assert results.import_results(store, people["mkt"], folder)["already_imported"]
    with pytest.raises(InputError, match="holds no .eml files"):
        (tmp_path / "empty").mkdir()
        results.import_results(store, people["mkt"], tmp_path / "empty")


def test_cli_import_list_and_rows(store, people, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from brandvoice.cli import main

    _exported(store, people, tmp_path, n=2)
    path = mailchimp_activity(tmp_path / "mc.csv", [("contact0@example.com", "open", after(1)),
                                                    ("nobody@example.com", "open", after(1))])
    monkeypatch.setenv("BRANDVOICE_USER", "marketer1")
    monkeypatch.setenv("BRANDVOICE_PASSWORD", "correct horse")
    res = CliRunner().invoke(main, ["results", "import", str(path)])
    assert res.exit_code == 0, res.output
    assert "Import #1 (mailchimp, mc.csv): 2 row(s), 1 matched" in res.output
    assert "row 3: unmatched: no exported or sent draft went to nobody@example.com" in res.output
    res = CliRunner().invoke(main, ["results", "import", str(path)])
    assert "Already imported as #1" in res.output and "nothing changed" in res.output
    res = CliRunner().invoke(main, ["results", "list"])
    assert res.exit_code == 0 and "mailchimp" in res.output and "mc.csv" in res.output
    res = CliRunner().invoke(main, ["results", "rows", "1", "--status", "unmatched"])
    assert "nobody@example.com" in res.output
    res = CliRunner().invoke(main, ["results", "rows", "9"])
    assert res.exit_code == 1 and "No results import 9" in res.output
    with store.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(result_rows)).scalar() == 1
