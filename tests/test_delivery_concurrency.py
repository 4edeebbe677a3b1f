"""Exactly once under real concurrency: sends with different picks and exports beside them, each
in its own process, never give a contact two drafts of one job (the database holds it: PostgreSQL
row locks and the unique first-delivery index; SQLite's single writer)."""

from __future__ import annotations

import multiprocessing as mp
import socket
from collections import Counter

import pytest
import sqlalchemy as sa
from helpers_drafts import add_variant, make_drafts

from brandvoice import review
from brandvoice.errors import ExportError
from brandvoice.store import Store, drafts, lifecycle

pytestmark = [pytest.mark.usefixtures("fast_hashes"), pytest.mark.all_databases]
CONTACTS = 30


class Inbox:
    def __init__(self):
        self.to: list[str] = []

    async def handle_DATA(self, server, session, envelope):
        self.to += envelope.rcpt_tos
        return "250 Message accepted for delivery"


def deliver(settings_json: str, actor, how: str, pick: str, where: str, start, out) -> None:
    """One delivery in its own process, started with the others at the barrier."""
    from brandvoice import delivery
    from brandvoice.config import Settings

    store = Store(Settings.from_json(settings_json))
    start.wait(60)
    try:
        if how == "send":
            cfg = delivery.SmtpConfig(from_addr="Ledgerly <team@ledgerly.example>",
                                      host="127.0.0.1", port=int(where), security="none")
            res = delivery.send(store, actor, cfg, on_duplicate=pick)
            out.put((how, pick, "ok", len(res["sent"])))
        else:
            res = delivery.export(store, actor, "generic", where, on_duplicate=pick)
            out.put((how, pick, "ok", res["rows"]))
    except ExportError as exc:  # "nothing left", "taken meanwhile": a refusal, never a repeat
        out.put((how, pick, "refused", exc.message[:200]))
    except BaseException as exc:  # noqa: BLE001 - any other outcome fails the test, with its text
        out.put((how, pick, "crashed", f"{type(exc).__name__}: {exc}"[:300]))


def delivered_per_contact(store) -> Counter:
    with store.read() as conn:
        rows = conn.execute(sa.select(drafts.c.job_id, drafts.c.contact_id)
                            .where(drafts.c.state.in_(lifecycle.DELIVERED))).all()
    return Counter((r.job_id, r.contact_id) for r in rows)


@pytest.fixture
def smtp():
    from aiosmtpd.controller import Controller

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


@pytest.mark.parametrize("scenario", ["sends", "sends and exports"])
def test_concurrent_sends_and_exports_deliver_each_contact_once(store, people, settings, smtp,
                                                                tmp_path, scenario):
    inbox, port = smtp
    first = make_drafts(store, CONTACTS)
    ids = first + [add_variant(store, d) for d in first] + [add_variant(store, d) for d in first]
    assert review.bulk_approve_passed(store, people["rev"], ids) == 3 * CONTACTS
    Store.dispose_all()  # no pooled connection crosses into the children
    ctx = mp.get_context("spawn")
    runs = [("send", "newest", str(port)), ("send", "oldest", str(port)),
            ("send", "newest", str(port)), ("send", "oldest", str(port))]
    if scenario == "sends and exports":
        runs[2:] = [("export", "oldest", str(tmp_path / "a")),
                    ("export", "newest", str(tmp_path / "b"))]
    for _, _, where in runs:
        if not where.isdigit():
            (tmp_path / where).mkdir()
    start, out = ctx.Barrier(len(runs)), ctx.Queue()
    procs = [ctx.Process(target=deliver, args=(settings.to_json(), people["mkt"], how, pick,
                                               where, start, out)) for how, pick, where in runs]
    for p in procs:
        p.start()
    for p in procs:
        p.join(300)
    outcomes = [out.get(timeout=10) for _ in procs]
    assert all(p.exitcode == 0 for p in procs) and not [o for o in outcomes if o[2] == "crashed"], \
        outcomes
    per_contact = delivered_per_contact(store)
    assert max(per_contact.values()) == 1, (per_contact.most_common(3), outcomes)
    assert max(Counter(inbox.to).values(), default=0) <= 1
    # whatever the race left over goes out now, still once each
    try:
        from brandvoice import delivery

        delivery.export(store, people["mkt"], "generic", tmp_path / "rest.csv", on_duplicate="newest")
    except ExportError as exc:
        assert "no approved drafts" in exc.message
    per_contact = delivered_per_contact(store)
    assert len(per_contact) == CONTACTS and set(per_contact.values()) == {1}, outcomes


def test_the_database_refuses_a_second_first_delivery(store, people):
    """Past every application check: two first deliveries to one contact of a job cannot both be
    written, on either database."""
    (a,) = make_drafts(store, 1)
    b = add_variant(store, a)
    assert review.bulk_approve_passed(store, people["rev"], [a, b]) == 2
    with store.tx() as conn:
        lifecycle.move(conn, a, "export", "mkt")
    with pytest.raises(lifecycle.DeliveryConflict, match="same generation job first"), \
            store.tx() as conn:
        lifecycle.move(conn, b, "send_claim", "mkt")
    assert review.get_draft(store, b)["state"] == "approved"
    with store.tx() as conn:  # a repeat asked for on purpose is written, not marked first
        assert lifecycle.move(conn, b, "send_claim", "mkt", repeat=True) is not None
    with store.tx() as conn:  # the claim undone (not sent): it may be sent again later
        lifecycle.move(conn, b, "send_not_sent", "mkt")
    with store.read() as conn:
        marks = dict(conn.execute(sa.select(drafts.c.id, drafts.c.first_delivery)
                                  .where(drafts.c.id.in_([a, b]))).all())
    assert marks[a] and not marks[b]
