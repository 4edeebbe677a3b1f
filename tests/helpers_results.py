"""Campaigns for the results tests: demo contacts, drafts of chosen adapter versions, reviewed and
exported through the core, and activity files as the email tools write them."""

from __future__ import annotations

import csv
import random
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

from brandvoice.store import (
    Store,
    adapters,
    draft_versions,
    drafts,
    guardrail_results,
    jobs,
    utcnow,
)

REPO = Path(__file__).resolve().parent.parent
DEMO = {"Ledgerly": ("crm_hubspot_ledgerly.csv", "activities_ledgerly.csv"),
        "Bright Bean": ("crm_pipedrive_brightbean.csv", "activities_brightbean.csv")}


def demo_contacts(brand: str) -> list[dict]:
    """The demo CRM export of a brand, read by the CRM importer."""
    from brandvoice import crm

    crm_file, act_file = DEMO[brand]
    return crm.import_contacts(REPO / "data" / crm_file, activities=REPO / "data" / act_file).contacts


def adapter_id(store: Store, brand: str, version: int, base_model: str = "smollm2-135m-instruct") -> int:
    """The id of a brand's adapter version (a ready record, created if missing)."""
    from brandvoice.training import slugify

    name = slugify(brand)
    with store.tx() as conn:
        found = conn.execute(sa.select(adapters.c.id).where(adapters.c.name == name,
                                                            adapters.c.version == version)).scalar()
        if found is not None:
            return found
        return conn.execute(adapters.insert().values(
            name=name, version=version, base_model=base_model, quantization="nf4",
            data_hash=f"{version}" * 64, hyperparameters={}, selection={}, metrics={},
            status="ready", path=f"/tmp/adapters/{name}/v{version}",
            created_at=utcnow())).inserted_primary_key[0]


def write_drafts(store: Store, contacts: list[dict], *, brand: str, template: str,
                 version_of: Callable[[dict], int], settings_of: Callable[[dict], dict] | None = None,
                 created_by: str = "mark") -> tuple[int, dict[str, int]]:
    """A generate job over `contacts` (snapshotted as generation does) with one checked, passing
    draft each, written by the adapter version `version_of(contact)`; (job id, email -> draft id)."""
    from brandvoice import crm

    now = utcnow()
    with store.tx() as conn:
        job_id = conn.execute(jobs.insert().values(
            kind="generate", status="done", params={"template": template, "brand": brand},
            progress=1.0, done=len(contacts), total=len(contacts), metrics={}, history=[], log="",
            created_by=created_by, created_at=now)).inserted_primary_key[0]
    ids = crm.snapshot_contacts(store, job_id, contacts)
    out: dict[str, int] = {}
    versions = {c["key"]: version_of(c) for c in contacts}
    aids = {v: adapter_id(store, brand, v) for v in set(versions.values())}
    with store.tx() as conn:
        for c in contacts:
            version = versions[c["key"]]
            aid = aids[version]
            first = c.get("first_name") or "there"
            subject, body = f"{first}, a note from {brand}", f"Hi {first},\n\nA short note.\n\n{brand}"
            draft_id = conn.execute(drafts.insert().values(
                job_id=job_id, contact_id=ids[str(c["key"])], variant=0, attempt=0, brand=brand,
                subject=subject, body=body, generated_subject=subject, generated_body=body,
                template_name=template, template_hash="a" * 64, adapter_id=aid,
                adapter_label=f"{brand.lower().replace(' ', '-')} v{version}",
                settings=(settings_of or (lambda _c: {}))(c), seed=1, state="pending",
                verdict="pass", tone_score=0.8, flags=[], row_version=1, created_by=created_by,
                created_at=now, updated_at=now)).inserted_primary_key[0]
            conn.execute(draft_versions.insert().values(draft_id=draft_id, version=1,
                                                        subject=subject, body=body, author=None,
                                                        kind="generated", created_at=now))
            conn.execute(guardrail_results.insert().values(
                draft_id=draft_id, row_version=1, check="policy", rule="footer", status="pass",
                score=None, message="policy: pass", details={}, created_at=now))
            out[c["email"].lower()] = draft_id
    return job_id, out


def ship(store: Store, reviewer, marketer, job_id: int, out_dir: Path,
         profile: str = "mailchimp") -> dict:
    """Approve every draft of a job and export it (as the review queue and the Export page do);
    the jobs of a test are separate sends on purpose (a campaign's repeat allowed)."""
    from brandvoice import delivery, review

    review.bulk_approve_passed(store, reviewer, job_id=job_id)
    out_dir.mkdir(parents=True, exist_ok=True)
    return delivery.export(store, marketer, profile, out_dir, job_id=job_id, allow_repeat=True)


def after(hours: float) -> str:
    """A time `hours` from now, as Mailchimp's activity export writes it (UTC)."""
    return (datetime.now(timezone.utc) + timedelta(hours=hours)).strftime("%Y-%m-%d %H:%M:%S")


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    """A CSV as the tools write them (UTF-8, CRLF)."""
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\r\n")
        w.writerow(header)
        w.writerows(rows)
    return path


def mailchimp_activity(path: Path, events: list[tuple[str, str, str]]) -> Path:
    """Mailchimp's campaign email activity: Email Address, Action, Timestamp, URL."""
    return write_csv(path, ["Email Address", "Action", "Timestamp", "URL"],
                     [[e, a, t, "https://ledgerly.example/demo" if a == "click" else ""]
                      for e, a, t in events])


def who_replies(contacts: list[dict], chance: Callable[[dict], float], rng: random.Random,
                *, opens: float = 0.45) -> list[tuple[str, str, str]]:
    """A known model of the recipients: each replies with chance(contact), and opens (before a
    reply, or alone with probability `opens`); Mailchimp-style activity rows."""
    rows = []
    for i, c in enumerate(contacts):
        replied = rng.random() < chance(c)
        if replied or rng.random() < opens:
            rows.append((c["email"], "open", after(1 + i / 100)))
        if replied:
            rows.append((c["email"], "reply", after(2 + i / 100)))
    return rows
