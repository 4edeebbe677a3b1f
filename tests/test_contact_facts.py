"""The contact-fact check: what a draft says about the contact against the contact's record
(stage, activities and their dates), as one of the guard's checks."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from brandvoice.guardrails import contact_facts, load_policy

DAY = datetime(2026, 11, 22, 9, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def ledgerly():
    return contact_facts.ContactPolicy.of(load_policy("guardrails", "Ledgerly").raw["contact"])


@pytest.fixture(scope="module")
def bean():
    return contact_facts.ContactPolicy.of(load_policy("guardrails", "Bright Bean").raw["contact"])


def act(kind: str, day: str, detail: str) -> dict:
    return {"type": kind, "timestamp": f"{day}T12:00:00Z", "detail": detail}


def failing(results) -> dict[str, str]:
    return {r.rule: r.message for r in results if r.status != "pass"}


def test_a_customer_addressed_as_a_prospect_and_a_lead_as_a_customer(ledgerly, bean):
    customer = {"lifecycle_stage": "Customer", "activities": []}
    body = "Want to see it on your own chart of accounts? Reply for a 20-minute walkthrough."
    bad = failing(contact_facts.check("Hi", body, customer, ledgerly, now=DAY))
    assert "addresses a customer as a prospect" in bad["stage"] and "Customer" in bad["stage"]
    lead = {"lead_status": "Cold lead", "activities": []}
    assert "addresses a lead" in failing(contact_facts.check(
        "Hi", "Want a bag in your next box?", lead, bean, now=DAY))["stage"]
    assert not failing(contact_facts.check("Hi", body, {"lifecycle_stage": "Lead"}, ledgerly, now=DAY))


def test_a_visit_in_person_said_of_a_call_and_a_call_said_of_a_visit(bean):
    call = {"activities": [act("demo_attended", "2026-11-18", "tasting call with the office manager")]}
    body = "That was a fun tasting. Thanks for letting us take over your kitchen."
    assert "visit in person" in failing(contact_facts.check("Hi", body, call, bean, now=DAY))["activity"]
    office = {"activities": [act("demo_attended", "2026-11-18", "office tasting with the team")]}
    assert not failing(contact_facts.check("Hi", body, office, bean, now=DAY))
    missed = {"activities": [act("meeting_no_show", "2026-11-18",
                                 "missed the office tasting booked for the engineering floor")]}
    msg = failing(contact_facts.check("Hi", "Looks like our tasting call slipped through the "
                                            "cracks.", missed, bean, now=DAY))["activity"]
    assert "speaks of a call" in msg and "engineering floor" in msg


def test_a_demo_topic_the_demo_did_not_cover(ledgerly):
    flux = {"activities": [act("demo_attended", "2026-11-18", "demo of variance analysis and flux reports")]}
    recap = ("Here is a short recap of the demo. Bank lines match the ledger on their own, and the "
             "rest land in one queue.")
    msg = failing(contact_facts.check("Your demo", recap, flux, ledgerly, now=DAY))["activity"]
    assert "bank reconciliation" in msg and "flux reports" in msg
    right = "Here is a short recap of the demo. Flux analysis is built in."
    assert not failing(contact_facts.check("Your demo", right, flux, ledgerly, now=DAY))
    # product copy in an email that is not about the demo names no demo topic
    assert not failing(contact_facts.check("Hi", "Bank lines match the ledger.", flux, ledgerly,
                                           now=DAY))


def test_a_thanks_for_something_the_activity_does_not_name(ledgerly):
    guide = {"activities": [act("content_download", "2026-11-20", "downloaded the 2026 pricing guide")]}
    msg = failing(contact_facts.check("Hi", "Thanks for downloading the month-end close checklist.",
                                      guide, ledgerly, now=DAY))["activity"]
    assert "month-end close checklist" in msg and "pricing guide" in msg
    assert not failing(contact_facts.check("Hi", "Thanks for downloading the 2026 pricing guide.",
                                           guide, ledgerly, now=DAY))


def test_time_words_the_activity_date_contradicts_and_stale_thanks(ledgerly):
    old = {"activities": [act("content_download", "2026-11-04", "downloaded the pricing guide")]}
    bad = failing(contact_facts.check("Hi", "You just downloaded the pricing guide yesterday.",
                                      old, ledgerly, now=DAY))
    assert "“yesterday”" in bad["recency"] and "17 days" in bad["recency"]
    fresh = {"activities": [act("content_download", "2026-11-21", "downloaded the pricing guide")]}
    assert not failing(contact_facts.check("Hi", "You downloaded the pricing guide yesterday.",
                                           fresh, ledgerly, now=DAY))
    months = {"activities": [act("content_download", "2026-06-02", "downloaded the pricing guide")]}
    results = contact_facts.check("Hi", "Thanks for downloading the pricing guide.", months,
                                  ledgerly, now=DAY)
    stale = next(r for r in results if r.rule == "stale")
    assert stale.status == "warn" and "172 days old" in stale.message
    assert "Just hit reply" not in str(failing(contact_facts.check(
        "Hi", "Just hit reply with a question.", old, ledgerly, now=DAY)))


def test_a_trial_date_that_is_not_the_one_on_record(ledgerly):
    trial = {"activities": [act("trial_ending", "2026-11-25", "14-day trial ends")]}
    msg = failing(contact_facts.check("Your trial ends November 27", "Hi", trial, ledgerly,
                                      now=DAY))["trial_date"]
    assert "November 27" in msg and "November 25" in msg
    assert not failing(contact_facts.check("Your trial ends November 25", "Hi", trial, ledgerly,
                                           now=DAY))


def test_the_guard_runs_the_check_as_of_the_send_day(settings):
    from brandvoice.guardrails import Guard

    guard = Guard.for_brand(settings, "Ledgerly", tone=False)
    contact = {"first_name": "Ann", "lifecycle_stage": "Lead",
               "activities": [act("trial_ending", "2026-11-25", "14-day trial ends")]}
    body = "Hi Ann,\n\nYour Ledgerly trial ends on November 25. Nothing is lost.\n\n— The Ledgerly team"
    before = guard.at(DAY).rules_only([("Your trial ends November 25", body, contact)])[0]
    assert all(r.status == "pass" for r in before.results if r.check == "contact")
    assert next(r for r in before.results if r.rule == "dates").status == "pass"
    after = guard.at(datetime(2026, 12, 1, tzinfo=timezone.utc)).rules_only(
        [("Your trial ends November 25", body, contact)])[0]
    assert next(r for r in after.results if r.rule == "dates").status == "fail"
