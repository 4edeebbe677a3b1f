"""SMTP sending against a local aiosmtpd server on 127.0.0.1, and the .eml dry run."""

from __future__ import annotations

import email
import socket
from email import policy

import pytest
from helpers_drafts import make_drafts

from brandvoice import delivery as send
from brandvoice import review
from brandvoice.errors import ConfigError, ExportError, PermissionDenied

PW = "correct horse"  # conftest.PASSWORD, the `people` fixture's password


pytestmark = [pytest.mark.usefixtures("fast_hashes"), pytest.mark.all_databases]



class Inbox:
    """An aiosmtpd handler that keeps messages and refuses one address."""

    def __init__(self):
        self.messages = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("contact1@"):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, envelope.content))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


def test_send_to_local_smtp_server(store, people, smtp_server):
    inbox, port = smtp_server
    ids = make_drafts(store, 3, body=lambda i, f, c: f"Hallo {f}, Grüße ☕\n\nZweiter Absatz.")
    review.bulk_approve_passed(store, people["rev"], ids)
    cfg = send.SmtpConfig(from_addr="Ledgerly <team@ledgerly.example>", host="127.0.0.1",
                          port=port, security="none")
    res = send.send(store, people["mkt"], cfg)
    assert res["sent"] == [ids[0], ids[2]] and [f["id"] for f in res["failed"]] == [ids[1]]
    assert len(inbox.messages) == 2
    rcpts, raw = inbox.messages[0]
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert rcpts == ["contact0@example.com"] and msg["X-Brandvoice-Draft"] == str(ids[0])
    assert msg.get_content().startswith("Hallo Dana, Grüße ☕") and "ledgerly.example" in msg["Message-ID"]
    states = [review.get_draft(store, i)["state"] for i in ids]
    assert states == ["exported", "approved", "exported"]
    assert review.audit_trail(store, ids[0])["exports"][0]["profile"] == "smtp"
    # sent drafts are never sent twice
    with pytest.raises(ExportError, match=f"draft {ids[0]} is exported"):
        send.send(store, people["mkt"], cfg, draft_ids=[ids[0]])


def test_starttls_refused_cleanly_when_server_lacks_it(store, people, smtp_server):
    _, port = smtp_server
    review.bulk_approve_passed(store, people["rev"], make_drafts(store, 1))
    cfg = send.SmtpConfig(from_addr="team@ledgerly.example", host="127.0.0.1", port=port)
    with pytest.raises(send.SendError, match="does not offer STARTTLS"):
        send.send(store, people["mkt"], cfg)


def test_dry_run_writes_eml_and_changes_nothing(store, people, tmp_path):
    ids = make_drafts(store, 2)
    review.bulk_approve_passed(store, people["rev"], ids)
    with pytest.raises(PermissionDenied):
        send.send(store, people["rev"], dry_run_dir=tmp_path)
    res = send.send(store, people["mkt"], dry_run_dir=tmp_path / "out")
    assert res["dry_run"] and len(res["files"]) == 2
    msg = email.message_from_bytes((tmp_path / "out" / f"draft-{ids[0]}.eml").read_bytes(),
                                   policy=policy.default)
    assert msg["Subject"] == review.get_draft(store, ids[0])["subject"]
    assert {review.get_draft(store, i)["state"] for i in ids} == {"approved"}


def test_config_validation():
    with pytest.raises(ConfigError, match="not an email address"):
        send.SmtpConfig(from_addr="nobody")
    with pytest.raises(ConfigError, match="starttls, ssl or none"):
        send.SmtpConfig(from_addr="a@b.c", security="tls")  # type: ignore[arg-type]
    assert send.SmtpConfig(from_addr="a@b.c", security="ssl").port == 465


def test_cli_send_dry_run(store, people, tmp_path):
    from click.testing import CliRunner

    from brandvoice.cli import main

    review.bulk_approve_passed(store, people["rev"], make_drafts(store, 2))
    r = CliRunner().invoke(main, ["send", "--dry-run", str(tmp_path / "eml")],
                           env={"BRANDVOICE_USER": "marketer1", "BRANDVOICE_PASSWORD": PW})
    assert r.exit_code == 0, r.output
    assert "wrote 2 .eml file(s)" in r.output and len(list((tmp_path / "eml").glob("*.eml"))) == 2
