"""Nothing reaches a customer twice: one draft per contact and job across exports and sends,
superseded variants, claims, crash-safe sends with recorded Message-IDs, and files that appear
only with their batch, never over protected or existing files."""

from __future__ import annotations

import csv
import email
import importlib
import io
import os
import socket
import time
from email import policy
from pathlib import Path

import pytest
import sqlalchemy as sa
from helpers_drafts import add_variant, make_drafts

from brandvoice import delivery, review
from brandvoice.delivery import files as delivery_files
from brandvoice.errors import ExportError
from brandvoice.store import audit, drafts, export_batches, export_items

pytestmark = [pytest.mark.usefixtures("fast_hashes"), pytest.mark.all_databases]
send_mod = importlib.import_module("brandvoice.delivery.send")  # the module, not the function


def state(store, draft_id):
    return review.get_draft(store, draft_id)["state"]


def approve_all(store, people, ids):
    assert review.bulk_approve_passed(store, people["rev"], list(ids)) == len(ids)


def actions(store, action):
    with store.read() as conn:
        return [dict(r) for r in conn.execute(sa.select(audit).where(audit.c.action == action)
                                              .order_by(audit.c.id)).mappings()]


class Inbox:
    """An aiosmtpd handler that keeps messages; `on_data` runs inside the DATA command."""

    def __init__(self):
        self.messages, self.on_data, self.drop_for = [], None, None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.drop_for and any(a.startswith(self.drop_for) for a in envelope.rcpt_tos):
            server.transport.close()  # the connection breaks: did the message arrive?
            return None
        if self.on_data is not None:
            self.on_data()
        self.messages.append((envelope.rcpt_tos, envelope.content))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp(store):
    from aiosmtpd.controller import Controller

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, delivery.SmtpConfig(from_addr="Ledgerly <team@ledgerly.example>", host="127.0.0.1",
                                     port=port, security="none", timeout=5)
    controller.stop()


def test_one_draft_per_contact_and_job_and_the_others_superseded(store, people, tmp_path):
    a, b = make_drafts(store, 2)
    a2 = add_variant(store, a)
    approve_all(store, people, [a, b, a2])
    with pytest.raises(ExportError, match="several approved drafts"):
        delivery.export(store, people["mkt"], "generic", tmp_path / "x.csv")
    res = delivery.export(store, people["mkt"], "generic", tmp_path / "x.csv", on_duplicate="oldest")
    assert res["draft_ids"] == [a, b] and res["superseded"] == [a2]
    assert [state(store, d) for d in (a, b, a2)] == ["exported", "exported", "superseded"]
    (event,) = actions(store, "supersede")
    assert event["draft_id"] == a2 and event["details"]["batch_id"] == res["batch_id"]
    assert review.get_draft(store, a2)["allowed_actions"] == []  # final for a reviewer
    # a variant approved later: the contact already received a draft of this job
    a3 = add_variant(store, a)
    approve_all(store, people, [a3])
    with pytest.raises(ExportError, match="(?s)no approved drafts.*already went to contact0"):
        delivery.export(store, people["mkt"], "generic", tmp_path / "y.csv")
    assert state(store, a3) == "superseded"
    a4 = add_variant(store, a)
    approve_all(store, people, [a4])
    with pytest.raises(ExportError, match=f"draft {a4} .*already went to this contact"):
        delivery.export(store, people["mkt"], "generic", tmp_path / "z.csv", draft_ids=[a4])
    res = delivery.export(store, people["mkt"], "generic", tmp_path / "z.csv", draft_ids=[a4],
                          allow_repeat=True)  # asked for on purpose
    assert res["draft_ids"] == [a4] and state(store, a4) == "exported"


def test_a_send_takes_one_variant_and_supersedes_the_others(store, people, smtp):
    inbox, cfg = smtp
    (a,) = make_drafts(store, 1)
    a2 = add_variant(store, a)
    approve_all(store, people, [a, a2])
    with pytest.raises(ExportError, match="several approved drafts"):
        delivery.send(store, people["mkt"], cfg)
    res = delivery.send(store, people["mkt"], cfg, on_duplicate="newest")
    assert res["sent"] == [a2] and len(inbox.messages) == 1
    assert (state(store, a), state(store, a2)) == ("superseded", "exported")
    a3 = add_variant(store, a)
    approve_all(store, people, [a3])
    with pytest.raises(ExportError, match="no approved drafts to send"):
        delivery.send(store, people["mkt"], cfg)
    assert state(store, a3) == "superseded" and len(inbox.messages) == 1


def test_an_export_and_a_send_never_deliver_the_same_draft(store, people, smtp, tmp_path):
    inbox, cfg = smtp
    ids = make_drafts(store, 2)
    approve_all(store, people, ids)
    seen = []

    def export_meanwhile():  # while the server takes the first message, an export runs
        if not seen:
            try:
                seen.append(delivery.export(store, people["mkt"], "generic", tmp_path / "e.csv"))
            except ExportError as exc:
                seen.append(exc)

    inbox.on_data = export_meanwhile
    res = delivery.send(store, people["mkt"], cfg)
    (exported,) = seen
    assert exported["draft_ids"] == [ids[1]]  # the claimed draft was not the export's to take
    assert res["sent"] == [ids[0]] and res["skipped"][0]["id"] == ids[1]
    assert len(inbox.messages) == 1
    with store.read() as conn:
        items = conn.execute(sa.select(export_items.c.batch_id, export_items.c.draft_id)).all()
    assert sorted(d for _, d in items) == ids and len({b for b, _ in items}) == 2


def test_a_crash_between_sending_and_recording_never_sends_twice(store, people, smtp, monkeypatch):
    inbox, cfg = smtp
    ids = make_drafts(store, 2)
    approve_all(store, people, ids)
    real_mark = send_mod._Run.mark

    def killed(self, row, message_id, pair):
        raise KeyboardInterrupt("killed after the server took the message")

    monkeypatch.setattr(send_mod._Run, "mark", killed)
    with pytest.raises(KeyboardInterrupt):
        delivery.send(store, people["mkt"], cfg)
    monkeypatch.setattr(send_mod._Run, "mark", real_mark)
    assert len(inbox.messages) == 1 and state(store, ids[0]) == "sending"
    sent_id = email.message_from_bytes(inbox.messages[0][1], policy=policy.default)["Message-ID"]
    (waiting,) = delivery.unconfirmed(store)
    assert (waiting["id"], waiting["message_id"]) == (ids[0], sent_id)
    res = delivery.send(store, people["mkt"], cfg)  # the next run sends the rest, reports the first
    assert res["sent"] == [ids[1]] and [w["id"] for w in res["unconfirmed"]] == [ids[0]]
    assert len(inbox.messages) == 2
    with pytest.raises(ExportError, match=f"draft {ids[0]} .*{sent_id}"):
        delivery.send(store, people["mkt"], cfg)
    assert len(inbox.messages) == 2
    with pytest.raises(Exception, match="only marketers or admins can settle sends"):
        delivery.settle(store, people["rev"], [ids[0]], sent=True)
    assert delivery.settle(store, people["mkt"], [ids[0]], sent=True) == [ids[0]]
    assert state(store, ids[0]) == "exported" and delivery.unconfirmed(store) == []
    assert actions(store, "send")[-1]["details"]["how"] == "settled"


def test_a_lost_connection_leaves_the_draft_unconfirmed_and_the_rest_approved(store, people, smtp):
    inbox, cfg = smtp
    ids = make_drafts(store, 3)
    approve_all(store, people, ids)
    inbox.drop_for = "contact1@"
    res = delivery.send(store, people["mkt"], cfg)
    assert res["sent"] == [ids[0]] and [w["id"] for w in res["unconfirmed"]] == [ids[1]]
    assert [state(store, d) for d in ids] == ["exported", "sending", "approved"]
    inbox.drop_for = None
    delivery.settle(store, people["mkt"], [ids[1]], sent=False)  # it did not arrive
    assert state(store, ids[1]) == "approved"
    res = delivery.send(store, people["mkt"], cfg)
    assert res["sent"] == [ids[1], ids[2]] and len(inbox.messages) == 3


def test_a_bad_header_stops_the_send_before_anything_leaves(store, people, smtp, tmp_path):
    inbox, cfg = smtp
    ids = make_drafts(store, 2)
    approve_all(store, people, ids)
    with store.tx() as conn:  # text from before subjects were checked
        conn.execute(drafts.update().where(drafts.c.id == ids[1])
                     .values(subject="Hi\r\nBcc: everyone@example.com"))
    for kwargs in ({}, {"dry_run_dir": tmp_path / "eml"}):
        with pytest.raises(ExportError, match=f"(?s)nothing was sent.*draft {ids[1]} "):
            delivery.send(store, people["mkt"], cfg, **kwargs)
    assert inbox.messages == [] and not (tmp_path / "eml").exists()
    assert {state(store, d) for d in ids} == {"approved"}


def test_a_dry_run_that_fails_writes_nothing(store, people, tmp_path, monkeypatch):
    from brandvoice import textio

    ids = make_drafts(store, 3)
    approve_all(store, people, ids)
    real, calls = textio.atomic_write, []

    def disk_full(path, data, **kw):
        calls.append(path)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return real(path, data, **kw)

    monkeypatch.setattr(textio, "atomic_write", disk_full)
    with pytest.raises(ExportError, match="none was kept"):
        delivery.send(store, people["mkt"], dry_run_dir=tmp_path / "eml")
    assert list((tmp_path / "eml").iterdir()) == []


@pytest.mark.parametrize("where", ["db", "wal", "policy", "template", "adapters", "models"])
def test_exports_never_write_onto_protected_files(store, people, settings, tmp_path, where):
    approve_all(store, people, make_drafts(store, 1))
    db = Path(settings.db_url.removeprefix("sqlite:///")) if settings.db_url.startswith("sqlite") \
        else settings.home / "brandvoice.db"
    target = {"db": db, "wal": db.with_name(db.name + "-wal"),
              "policy": settings.guardrails_dir / "ledgerly.toml",
              "template": settings.prompts_dir / "after_demo.j2",
              "adapters": settings.adapters_dir / "out.csv",
              "models": settings.models_dir / "out.csv"}[where]
    if where in ("db", "wal") and not settings.db_url.startswith("sqlite"):
        pytest.skip("the store is not a file")
    before = target.read_bytes() if target.exists() else None
    with pytest.raises(ExportError, match="Refusing to write"):
        delivery.export(store, people["mkt"], "generic", target)
    with pytest.raises(ExportError, match="Refusing to write"):
        delivery.send(store, people["mkt"], dry_run_dir=target.parent if where in (
            "adapters", "models") else settings.adapters_dir)
    assert (target.read_bytes() if target.exists() else None) == before
    assert review.list_queue(store, state="approved")[1] == 1


def test_export_files_never_collide(store, people, tmp_path):
    approve_all(store, people, make_drafts(store, 1))
    (tmp_path / "taken.csv").write_text("someone else's file")
    with pytest.raises(ExportError, match="exists already"):
        delivery.export(store, people["mkt"], "generic", tmp_path / "taken.csv")
    assert (tmp_path / "taken.csv").read_text() == "someone else's file"
    first = delivery.export(store, people["mkt"], "generic", tmp_path)
    approve_all(store, people, make_drafts(store, 1, email_domain="other.test"))
    second = delivery.export(store, people["mkt"], "generic", tmp_path)
    assert Path(first["path"]).name == f"generic-batch-{first['batch_id']}.csv"
    assert Path(second["path"]).name == f"generic-batch-{second['batch_id']}.csv"
    assert Path(first["path"]).read_bytes() != Path(second["path"]).read_bytes()
    approve_all(store, people, make_drafts(store, 1, email_domain="third.test"))
    third = delivery.export(store, people["mkt"], "generic", str(tmp_path / "new") + "/")
    assert Path(third["path"]) == tmp_path / "new" / f"generic-batch-{third['batch_id']}.csv"


def test_a_file_appears_only_with_its_batch_and_a_killed_run_is_finished(store, people, tmp_path,
                                                                         monkeypatch):
    approve_all(store, people, make_drafts(store, 2))
    out = tmp_path / "out.csv"
    real_place = delivery_files.place

    def killed(part, final, data=None, **_kw):
        raise KeyboardInterrupt("killed after the commit")

    monkeypatch.setattr(delivery_files, "place", killed)
    with pytest.raises(KeyboardInterrupt):
        delivery.export(store, people["mkt"], "generic", out)
    monkeypatch.setattr(delivery_files, "place", real_place)
    assert not out.exists() and delivery_files.part_path(out, 1).exists()
    (batch,) = delivery.list_batches(store)
    assert batch["file_status"] == "pending"
    (done,) = delivery.recover_exports(store)
    assert done["done"] and done["how"] == "moved into place"
    assert __import__("hashlib").sha256(out.read_bytes()).hexdigest() == batch["file_hash"]
    assert delivery.list_batches(store)[0]["file_status"] == "written"
    # the temporary file lost too: the batch is rendered again from the store
    with store.tx() as conn:
        conn.execute(export_batches.update().values(file_status="pending"))
    kept = out.read_bytes()
    out.unlink()
    (done,) = delivery.recover_exports(store)
    assert done["how"] == "rendered again from the store" and out.read_bytes() == kept
    # a run killed before its commit left a temporary file of a batch that never existed
    stray = tmp_path / ".gone.csv.batch-99.part"
    stray.write_text("half")
    old = time.time() - 2 * delivery_files.LEFTOVER_AGE_S
    os.utime(stray, (old, old))
    approve_all(store, people, make_drafts(store, 1, email_domain="more.test"))
    delivery.export(store, people["mkt"], "generic", tmp_path / "next.csv")
    assert not stray.exists()


def test_a_failed_export_leaves_no_file_and_no_batch(store, people, tmp_path, monkeypatch):
    export_mod = importlib.import_module("brandvoice.delivery.export")
    ids = make_drafts(store, 2)
    approve_all(store, people, ids)

    def boom(*a, **k):
        raise RuntimeError("crash inside the transaction")

    monkeypatch.setattr(export_mod.once, "supersede_siblings", boom)
    with pytest.raises(RuntimeError):
        delivery.export(store, people["mkt"], "generic", tmp_path / "x.csv")
    assert delivery.list_batches(store) == [] and not (tmp_path / "x.csv").exists()
    assert {state(store, d) for d in ids} == {"approved"}


@pytest.mark.parametrize("second", ["-2", "=HYPERLINK(\"x\")", "+1", "@SUM(A1)", "\n=1"])
def test_mailchimp_continuation_chunks_never_start_a_formula(store, people, tmp_path, second):
    first = "=SUM(A1) starts like a formula. " + "word " * 43 + "ab "  # 250 characters
    body = first + second + "y" * 20 + " starts the second chunk " + ("=x " * 200)
    approve_all(store, people, make_drafts(store, 1, body=lambda i, f, c: body))
    res = delivery.export(store, people["mkt"], "mailchimp", tmp_path / "m.csv", neutralize=True)
    rows = list(csv.reader(io.StringIO((tmp_path / "m.csv").read_text(encoding="utf-8"))))
    chunks = [c for c in rows[1][4:] if c]
    assert chunks[0].startswith("'=SUM") and len(chunks) > 2
    for chunk in chunks[1:]:  # reassembled into the body: no quote added, none live either
        assert not chunk.startswith(("=", "+", "-", "@", "\t", "\r", "\n")), chunk[:20]
        assert len(chunk.encode("utf-8")) <= 255
    assert "".join(chunks)[1:] == body and res["neutralized_cells"] == 1


def test_mailchimp_refuses_a_body_no_cut_can_make_safe(store, people, tmp_path):
    body = "Hello " + "=" * 600
    approve_all(store, people, make_drafts(store, 1, body=lambda i, f, c: body))
    with pytest.raises(ExportError, match="cannot be split into BODY fields"):
        delivery.export(store, people["mkt"], "mailchimp", tmp_path / "m.csv", neutralize=True)
    assert not (tmp_path / "m.csv").exists()


def test_a_killed_writers_temporary_files_are_removed_by_the_next_export(store, people, tmp_path):
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    inner = tmp_path / f"..out.csv.batch-7.part.{dead}.k2j3x9.tmp"  # textio.atomic_write's, killed
    inner.write_text("half a file")
    staging = tmp_path / f".dry-run-{dead}-abc"  # a killed dry run's staging folder
    staging.mkdir()
    (staging / "draft-1.eml").write_text("x")
    alive = tmp_path / "..other.csv.batch-8.part.1.q1w2e3.tmp"  # pid 1 is alive: still writing
    alive.write_text("in progress")
    approve_all(store, people, make_drafts(store, 1))
    delivery.export(store, people["mkt"], "generic", tmp_path / "next.csv")
    assert not inner.exists() and not staging.exists() and alive.exists()
