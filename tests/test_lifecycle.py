"""A draft's lifecycle: one owner writes every draft, the table covers every state, and random
sequences of real actions (a generate job, one killed and resumed, another variant, edit, check,
approve, a stale approval, bulk approve, reject, reopen, regenerate, export, send, a send whose
connection breaks, settling it) leave no illegal state and no audit gap, on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
import re
import socket
from pathlib import Path

import pytest
import sqlalchemy as sa
from helpers_drafts import add_variant, make_drafts, mark_checked
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brandvoice import delivery, generation, jobs, review, worker
from brandvoice.errors import BrandvoiceError
from brandvoice.generation.backends import GenOutput
from brandvoice.guardrails import CheckResult, Verdict
from brandvoice.store import audit, drafts, export_items, lifecycle

BRANDVOICE = Path(__file__).resolve().parent.parent / "brandvoice"


# --- the one owner ------------------------------------------------------------------------------

def test_only_the_lifecycle_writes_drafts():
    writes = re.compile(r"drafts\.(update|insert|delete)\(\)|(update|insert|delete)\(drafts\b")
    writers = sorted(str(p.relative_to(BRANDVOICE)) for p in BRANDVOICE.rglob("*.py")
                     if "migrations" not in p.parts and writes.search(p.read_text(encoding="utf-8")))
    assert writers == ["store/lifecycle.py"]


def test_the_table_covers_every_state():
    assert set(lifecycle.TRANSITIONS) == set(lifecycle.STATES)
    targets = {to for moves in lifecycle.TRANSITIONS.values() for to in moves.values()}
    assert targets <= set(lifecycle.STATES) and set(lifecycle.DELIVERED) <= set(lifecycle.STATES)
    # every state but the final ones can be left, and each is reached from pending
    reached, frontier = {"pending"}, ["pending"]
    while frontier:
        for to in lifecycle.TRANSITIONS[frontier.pop()].values():
            if to not in reached:
                reached.add(to)
                frontier.append(to)
    assert reached == set(lifecycle.STATES)
    assert [s for s, moves in lifecycle.TRANSITIONS.items() if not moves] == ["exported", "superseded"]
    assert lifecycle.TRANSITIONS["sending"] == {"send": "exported", "send_not_sent": "approved"}


@pytest.mark.all_databases
def test_a_refused_move_writes_nothing(store):
    (d,) = make_drafts(store, 1)
    with store.tx() as conn:
        draft = lifecycle.load(conn, d)
        with pytest.raises(BrandvoiceError, match="is pending: cannot export"):
            lifecycle.transition(conn, draft, "export", "rita")
        assert lifecycle.move(conn, d, "send", "rita") is None
        with pytest.raises(BrandvoiceError, match="you had version 7"):
            lifecycle.transition(conn, draft, "approve", "rita", expected_version=7)
    assert audit_gaps(store) == []
    assert review.get_draft(store, d)["row_version"] == 1


# --- invariants ----------------------------------------------------------------------------------

def audit_gaps(store) -> list[str]:
    """Every draft's state-changing audit events form one chain from "create" to its state, each
    a move of the table naming its actor, one per row_version; the problems found."""
    with store.read() as conn:
        rows = {r.id: r for r in conn.execute(sa.select(drafts.c.id, drafts.c.state,
                                                        drafts.c.row_version))}
        events = conn.execute(sa.select(audit.c.draft_id, audit.c.action, audit.c.actor,
                                        audit.c.details).order_by(audit.c.id)).all()
    chains: dict[int, list] = {}
    for e in events:
        if e.draft_id is not None and "to_state" in (e.details or {}):
            chains.setdefault(e.draft_id, []).append(e)
    problems = []
    for draft_id, row in rows.items():
        if row.state not in lifecycle.STATES:
            problems.append(f"draft {draft_id}: illegal state {row.state}")
        chain = chains.get(draft_id, [])
        if not chain or chain[0].action != lifecycle.CREATE or chain[0].details["from_state"]:
            problems.append(f"draft {draft_id}: no create event")
            continue
        state = "pending"
        for n, e in enumerate(chain[1:], start=2):
            d = e.details
            if d["from_state"] != state or lifecycle.TRANSITIONS[state].get(e.action) != d["to_state"]:
                problems.append(f"draft {draft_id}: {e.action} {d['from_state']}->{d['to_state']} "
                                f"after {state}")
            if not e.actor or d["row_version"] != n:
                problems.append(f"draft {draft_id}: event {e.action} v{d['row_version']} by {e.actor}")
            state = d["to_state"]
        if state != row.state or len(chain) != row.row_version:
            problems.append(f"draft {draft_id}: {row.state} v{row.row_version}, audited {state} "
                            f"in {len(chain)} events")
    return problems


def delivered_twice(store) -> list[tuple]:
    """(job, contact) pairs with more than one delivered draft (allow_repeat is never used here)."""
    with store.read() as conn:
        return conn.execute(sa.select(drafts.c.job_id, drafts.c.contact_id)
                            .where(drafts.c.state.in_(lifecycle.DELIVERED))
                            .group_by(drafts.c.job_id, drafts.c.contact_id)
                            .having(sa.func.count() > 1)).all()


def unexported(store) -> list[int]:
    """Exported or sending drafts without an export item (a delivery not recorded)."""
    with store.read() as conn:
        return [d for (d,) in conn.execute(
            sa.select(drafts.c.id).where(drafts.c.state.in_(lifecycle.DELIVERED),
                                         ~drafts.c.id.in_(sa.select(export_items.c.draft_id))))]


# --- the actions ---------------------------------------------------------------------------------

class Inbox:
    """An aiosmtpd handler that keeps messages; for `drop` addresses the connection breaks once
    the message arrived (the sender cannot know whether it went out)."""

    def __init__(self):
        self.messages, self.drop = [], set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope.rcpt_tos)
        if set(envelope.rcpt_tos) & self.drop:
            self.drop.clear()
            server.transport.close()  # the answer below never reaches the sender
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp():
    from aiosmtpd.controller import Controller

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, delivery.SmtpConfig(from_addr="team@ledgerly.example", host="127.0.0.1",
                                     port=port, security="none", timeout=30)
    controller.stop()


class Backend:
    """A generation backend that writes a well-formed email per request; dies when told to."""

    info = {"backend": "lifecycle-test"}
    label = "lifecycle-test"

    def __init__(self):
        self.die = False

    def generate(self, requests):
        if self.die:
            self.die = False
            raise RuntimeError("killed mid-job")
        return [GenOutput(text=f"Subject: Note {r.seed}\n\nHi, a short note on your close.",
                          prompt=r.user, new_tokens=9) for r in requests]

    def close(self):
        pass


class Guard:
    """A guard whose verdict follows the draft's seed: pass, warn or fail."""

    policy = None

    def check_many(self, items, batch_contacts=None):
        return [Verdict.of([CheckResult("policy", "footer", ("pass", "warn", "fail")[
            int(subject.split()[-1]) % 3], "policy")]) for subject, *_ in items]


class World:
    """The real core calls a team makes, by name; each refusal is a BrandvoiceError."""

    def __init__(self, store, people, smtp, folder: Path, plugged):
        self.store, self.people, self.folder = store, people, folder
        self.inbox, self.smtp = smtp
        self.ids: list[int] = []
        self.files = itertools.count()
        self.backend = Backend()
        plugged("backend", "lifecycle-test", lambda config, settings, **kw: self.backend)
        plugged("guard", "lifecycle-test", lambda settings, brand, **kw: Guard())
        store.settings.guard = "lifecycle-test"

    def draft(self, i: int, *states: str) -> dict:
        """Draft number i, among those in `states` when there are any (every fourth pick ignores
        them, so that illegal moves are tried too)."""
        ids = self.ids
        if states and i % 4:
            with self.store.read() as conn:
                ids = [d for (d,) in conn.execute(sa.select(drafts.c.id).where(
                    drafts.c.id.in_(self.ids), drafts.c.state.in_(states)).order_by(drafts.c.id))] \
                    or self.ids
        return review.get_draft(self.store, ids[i % len(ids)])

    def generate(self, i: int, *, killed: bool = False) -> None:
        """A real generate job (submit, then the worker's handler here) for one or two contacts."""
        n = next(self.files)
        crm = self.folder / f"crm-{n}.csv"
        crm.write_text("Record ID,First Name,Email\n" + "".join(
            f"{n}{k},Dana{k},dana{k}.{n}@acme.example\n" for k in range(1 + i % 2)), encoding="utf-8")
        job_id = generation.submit(
            self.store, self.store.settings, actor=self.people["mkt"], crm=crm,
            template="reengage_cold_lead", base_model="smollm2-135m-instruct", brand="Acme",
            config=generation.GenerationConfig(backend="lifecycle-test", batch_size=1, seed=n))
        self.backend.die = killed
        worker.run(self.store, job_id)
        self._collect(job_id)

    def crash_mid_generate(self, i: int) -> None:
        self.generate(i + 1, killed=True)  # two contacts: the first chunk is stored, then the kill

    def resume_generate(self, i: int) -> None:
        failed = [j for j in jobs.list_jobs(self.store, "generate") if j["status"] == "failed"]
        if failed:
            job_id = failed[i % len(failed)]["id"]
            jobs.resume(self.store, self.people["mkt"], job_id)
            worker.run(self.store, job_id)
            self._collect(job_id)

    def _collect(self, job_id: int) -> None:
        with self.store.read() as conn:
            new = [d for (d,) in conn.execute(sa.select(drafts.c.id).where(drafts.c.job_id == job_id)
                                              .order_by(drafts.c.id)) if d not in self.ids]
        self.ids += new

    def variant(self, i: int) -> None:
        self.ids.append(add_variant(self.store, self.draft(i)["id"]))

    def edit(self, i: int) -> None:
        d = self.draft(i, "pending", "approved")
        review.edit(self.store, self.people["rev"], d["id"], subject=f"{d['subject']} +",
                    body=d["body"], expected_version=d["row_version"])

    def check(self, i: int) -> None:
        mark_checked(self.store, [self.draft(i, "pending")["id"]], status=("pass", "warn", "fail")[i % 3])

    def approve(self, i: int) -> None:
        d = self.draft(i, "pending")
        review.approve(self.store, self.people["rev2"], d["id"], expected_version=d["row_version"],
                       reason="read it: fine" if i % 2 else None)

    def approve_stale(self, i: int) -> None:
        d = self.draft(i, "pending")
        with pytest.raises(BrandvoiceError):  # never written, whatever else is wrong with it
            review.approve(self.store, self.people["rev2"], d["id"],
                           expected_version=d["row_version"] - 1, reason="stale")

    def bulk_approve(self, i: int) -> None:
        review.bulk_approve_passed(self.store, self.people["rev2"],
                                   None if i % 3 == 0 else self.ids[i % len(self.ids):])

    def reject(self, i: int) -> None:
        d = self.draft(i, "pending", "approved")
        review.reject(self.store, self.people["rev"], d["id"], expected_version=d["row_version"],
                      reason_code="tone")

    def reopen(self, i: int) -> None:
        d = self.draft(i, "approved", "rejected")
        review.reopen(self.store, self.people["rev"], d["id"], expected_version=d["row_version"])

    def regenerate(self, i: int) -> None:
        d = self.draft(i, "rejected")
        review.request_regeneration(self.store, self.people["mkt"], d["id"])
        verdict = Verdict.of([CheckResult("policy", "footer", "pass", "policy: pass")])
        self.ids.append(review.add_regenerated(self.store, d["id"], subject=f"{d['subject']} (again)",
                                               body=d["body"], verdict=verdict,
                                               created_by=self.people["mkt"].username))

    def export(self, i: int) -> None:
        out = self.folder / f"export-{next(self.files)}.csv"
        ids = None if i % 2 else [self.draft(i, "approved")["id"]]
        delivery.export(self.store, self.people["mkt"], "generic", out, draft_ids=ids,
                        on_duplicate="newest")

    def send(self, i: int) -> None:
        ids = None if i % 2 else [self.draft(i, "approved")["id"]]
        delivery.send(self.store, self.people["mkt"], self.smtp, draft_ids=ids,
                      on_duplicate="newest")

    def crash_mid_send(self, i: int) -> None:
        d = self.draft(i, "approved")
        self.inbox.drop.add(d["contact"]["email"])
        try:
            delivery.send(self.store, self.people["mkt"], self.smtp, draft_ids=[d["id"]])
        finally:
            self.inbox.drop.clear()

    def settle(self, i: int) -> None:
        waiting = delivery.unconfirmed(self.store)
        if waiting:
            delivery.settle(self.store, self.people["mkt"], [waiting[i % len(waiting)]["id"]],
                            sent=bool(i % 2))


ACTIONS = [name for name in vars(World) if not name.startswith("_") and name != "draft"]
assert "generate" in ACTIONS and "crash_mid_generate" in ACTIONS
STEPS = st.lists(st.tuples(st.sampled_from(ACTIONS), st.integers(0, 30)), min_size=1, max_size=20)


@pytest.mark.all_databases
@pytest.mark.usefixtures("fast_hashes")
def test_random_sequences_of_actions_keep_the_lifecycle(store, people, smtp, tmp_path, plugged):
    world = World(store, people, smtp, tmp_path, plugged)
    world.generate(0)
    done: dict[str, int] = {}

    @settings(max_examples=60, derandomize=True, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(STEPS)
    def run(steps):
        for action, i in steps:
            try:
                getattr(world, action)(i)
                done[action] = done.get(action, 0) + 1
            except BrandvoiceError:
                pass  # a refusal is a legal outcome; what it left behind is checked below
            assert audit_gaps(store) == [], (action, i)
            assert delivered_twice(store) == [] and unexported(store) == [], (action, i)

    run()
    # the sequences reached every action and every state
    assert set(done) == set(ACTIONS), sorted(set(ACTIONS) - set(done))
    with store.read() as conn:
        states = {e["to_state"] for (e,) in conn.execute(sa.select(audit.c.details))
                  if "to_state" in e}
    assert states == set(lifecycle.STATES), states
    with store.read() as conn:  # a killed generate job was resumed and finished its drafts
        resumed = conn.execute(sa.select(sa.func.count()).select_from(audit)
                               .where(audit.c.action == "job_resume")).scalar()
    assert resumed > 0
