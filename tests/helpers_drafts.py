"""Insert a generation job, contacts and drafts straight through the store (tests and benchmarks).

`make_drafts(store, n)` needs no model, template or guardrail code: it creates drafts through the
lifecycle as generation does (drafts, draft_versions v1 "generated", the "create" audit event) with
the rows the guardrail step writes (guardrail_results, drafts.verdict), so that review, export and
UI code can be exercised on any number of drafts.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import sqlalchemy as sa

from brandvoice.store import (
    Store,
    adapters,
    contacts,
    drafts,
    guardrail_results,
    jobs,
    lifecycle,
    utcnow,
)

FIRST = ["Dana", "Lee", "Ana", "Chloé", "Jürgen", "Mei", "Omar", "Priya", "Sam", "Zoë"]
LAST = ["Reyes", "Park", "Silva", "Dubois", "Müller", "Chen", "Haddad", "Nair", "Kim", "Ødegaard"]
COMPANIES = ["Acme Corp", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay Industries"]


def default_body(i: int, first_name: str, company: str) -> str:
    """A plausible follow-up body, different for every draft."""
    return (f"Hi {first_name},\n\nThanks for downloading the close checklist for {company}. "
            f"Teams like yours cut month-end close by {2 + i % 5} days with Ledgerly.\n\n"
            "Want a 20-minute walkthrough next week?\n\n— The Ledgerly team\n"
            "Ledgerly Inc., 410 Market Street, Suite 300, Denver, CO 80202 · "
            "Unsubscribe: https://ledgerly.example/unsubscribe")


def make_drafts(store: Store, n: int, *, verdicts: Sequence[str | None] = ("pass",),
                brand: str = "ledgerly", template: str = "follow_up",
                created_by: str | None = "marketer1", adapter: bool = True,
                job_id: int | None = None,
                body: Callable[[int, str, str], str] | None = None,
                subject: Callable[[int, str], str] | None = None,
                email_domain: str = "example.com") -> list[int]:
    """Insert n drafts (one contact each) in one transaction; returns the draft ids in order.

    verdicts cycle over the drafts ("pass", "warn", "fail" or None = not checked); each checked draft
    gets one guardrail_results row per check. adapter=True links an adapters row (<brand> v1).
    job_id reuses an existing generate job (new contacts are added to it).
    """
    now = utcnow()
    body = body or default_body
    subject = subject or (lambda i, first: f"{first}, your month-end close in {3 + i % 4} steps")
    with store.tx() as conn:
        adapter_id = None
        if adapter:
            adapter_id = conn.execute(sa.select(adapters.c.id).where(
                adapters.c.name == brand, adapters.c.version == 1)).scalar()
            if adapter_id is None:
                adapter_id = conn.execute(adapters.insert().values(
                    name=brand, version=1, base_model="smollm2-135m-instruct", quantization="nf4",
                    data_hash="0" * 64, hyperparameters={"r": 8}, selection={}, metrics={},
                    status="ready", path=f"/tmp/adapters/{brand}/v1", created_at=now,
                )).inserted_primary_key[0]
        if job_id is None:
            job_id = conn.execute(jobs.insert().values(
                kind="generate", status="done", params={"template": template, "brand": brand},
                progress=1.0, done=n, total=n, metrics={}, history=[], log="",
                created_by=created_by, created_at=now)).inserted_primary_key[0]
        start = conn.execute(sa.select(sa.func.count()).select_from(contacts)
                             .where(contacts.c.job_id == job_id)).scalar_one()
        contact_rows = []
        for k in range(n):
            i = start + k
            first, last = FIRST[i % len(FIRST)], LAST[(i // len(FIRST)) % len(LAST)]
            company = COMPANIES[i % len(COMPANIES)]
            email = f"contact{i}@{email_domain}"
            snapshot = {"key": str(1000 + i), "email": email, "first_name": first, "last_name": last,
                        "company": company, "job_title": "Controller", "lifecycle_stage": "lead",
                        "notes": "", "custom": {}, "activities": [
                            {"type": "content_download", "timestamp": "2026-11-02T10:00:00Z",
                             "detail": "downloaded the close checklist"}],
                        "source": {"file": "crm.csv", "row": i + 2, "profile": "hubspot"}}
            contact_rows.append(dict(job_id=job_id, contact_key=snapshot["key"], email=email,
                                     first_name=first, last_name=last, company=company,
                                     data=snapshot, source_file="crm.csv", row_number=i + 2,
                                     created_at=now))
        conn.execute(contacts.insert(), contact_rows)
        ids = dict(conn.execute(sa.select(contacts.c.contact_key, contacts.c.id)
                                .where(contacts.c.job_id == job_id)).all())
        verdict_cycle = itertools.cycle(verdicts)
        draft_rows = []
        for k, c in enumerate(contact_rows):
            i = start + k
            s, b = subject(i, c["first_name"]), body(i, c["first_name"], c["company"])
            draft_rows.append(dict(
                job_id=job_id, contact_id=ids[c["contact_key"]], variant=0, attempt=0, brand=brand,
                subject=s, body=b, raw_output=f"Subject: {s}\n\n{b}", prompt="(test brief)",
                template_name=template, template_hash="a" * 64, adapter_id=adapter_id,
                adapter_label=f"{brand} v1" if adapter else "base:smollm2-135m-instruct",
                settings={"temperature": 0.7}, seed=1234 + i, verdict=next(verdict_cycle),
                tone_score=0.8, flags=[], parent_id=None, created_at=now))
        new_ids = lifecycle.create_many(conn, draft_rows, created_by, job_id=job_id)
        checked = [(d, row["verdict"]) for d, row in zip(new_ids, draft_rows, strict=True)
                   if row["verdict"]]
        if checked:
            conn.execute(guardrail_results.insert(), [dict(
                draft_id=d, row_version=1, check=check, rule=rule, status=v, score=0.8,
                message=f"{check}: {v}", details={}, created_at=now)
                for d, v in checked for check, rule in (("tone", "similarity"), ("policy", "footer"))])
    return new_ids


def mark_checked(store: Store, ids: Sequence[int], status: str = "pass",
                 rule: str = "footer") -> None:
    """Store a guardrail verdict for the drafts' current text, as a recheck would."""
    from brandvoice.guardrails import CheckResult, Verdict, store_results

    with store.tx() as conn:
        for draft_id in ids:
            version = conn.execute(sa.select(drafts.c.row_version)
                                   .where(drafts.c.id == draft_id)).scalar_one()
            verdict = Verdict.of([CheckResult("tone", "similarity", "pass", "on brand", 0.8),
                                  CheckResult("policy", rule, status, f"policy: {status}")], 0.8)
            store_results(store, conn, draft_id, version, verdict)


class PassingGuard:
    """A guard whose every check passes (for rechecks in tests that are not about guardrails)."""

    def __init__(self, status: str = "pass"):
        self.status = status
        self.checked: list[tuple] = []

    def check(self, subject, body, contact, *, batch_contacts=None):
        from brandvoice.guardrails import CheckResult, Verdict

        self.checked.append((subject, body, len(batch_contacts or [])))
        return Verdict.of([CheckResult("policy", "footer", self.status, f"policy: {self.status}")])


def user(store: Store, name: str = "tester", role: str = "marketer"):
    """A user of the store (created, with an admin "boss" first if the store has no users)."""
    from brandvoice import users as u
    from brandvoice.errors import NotFoundError

    try:
        return u.get_user(store, name)
    except NotFoundError:
        pass
    if u.count_users(store) == 0:
        boss = u.add_user(store, "boss", "correct horse", "admin")
        if name == "boss":
            return boss
    admin = next(u.get_user(store, r["username"]) for r in u.list_users(store) if r["role"] == "admin")
    return u.add_user(store, name, "correct horse", role, actor=admin)


def add_variant(store: Store, draft_id: int, *, subject: str | None = None) -> int:
    """Another variant (same job and contact) of a draft, with its own generated version and a
    passing check of it; returns its id."""
    with store.tx() as conn:
        src = dict(conn.execute(sa.select(drafts).where(drafts.c.id == draft_id)).mappings().one())
        top = conn.execute(sa.select(sa.func.max(drafts.c.variant)).where(
            drafts.c.job_id == src["job_id"], drafts.c.contact_id == src["contact_id"])).scalar()
        row = {k: v for k, v in src.items() if k not in ("id", "created_by", "updated_by",
                                                          "generated_subject", "generated_body")}
        row.update(variant=top + 1, subject=subject or f"{src['subject']} (variant {top + 1})")
        new_id = lifecycle.create(conn, row, src["created_by"], job_id=src["job_id"])
        conn.execute(guardrail_results.insert().values(
            draft_id=new_id, row_version=1, check="policy", rule="footer", status="pass",
            score=None, message="policy: pass", details={}, created_at=row["created_at"]))
    return new_id
