"""Audiences and routing: lifecycle stages from any CRM's spelling, a template's audience header
(validated like every config), the plan of a campaign (every contact routed or given a reason),
the marketer's moves and excludes, `generate --plan`, and a campaign job whose drafts keep their
route."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from helpers_drafts import user

from brandvoice import crm, prompting, worker
from brandvoice.crm.stages import stage_of, stage_of_value
from brandvoice.errors import InputError, PermissionDenied, TemplateError
from brandvoice.generation import campaign, routing

REPO = Path(__file__).resolve().parent.parent
DAY = datetime(2026, 11, 22, 9, tzinfo=timezone.utc)  # the demo exports' send day
LEDGERLY = ["ledgerly_after_content_download", "ledgerly_after_demo", "ledgerly_after_event",
            "ledgerly_missed_meeting", "ledgerly_reengage_cold_lead", "ledgerly_trial_ending"]
CRM_FILE, ACTS_FILE = REPO / "data/crm_hubspot_ledgerly.csv", REPO / "data/activities_ledgerly.csv"


@pytest.mark.parametrize("value,stage", [
    ("Marketing Qualified Lead", "lead"), ("salesqualifiedlead", "lead"), ("Subscriber", "lead"),
    ("Cold lead", "lead"), ("Opportunity", "lead"), ("Trial", "trial"), ("Trial box", "trial"),
    ("Customer", "customer"), ("Customer, Wholesale", "customer"), ("Closed Won", "customer"),
    ("Won", "customer"), ("Lapsed", "churned"), ("Former customer", "churned"),
    ("Partner", "unknown"), ("", None)])
def test_every_crms_stage_spelling_folds_onto_four_stages(value, stage):
    assert stage_of_value(value) == stage


def test_the_stage_rule_explicit_field_first_unknown_never_guessed_blank_is_a_lead():
    both = stage_of({"lifecycle_stage": "Trial", "lead_status": "Hot lead"})
    assert both.stage == "trial" and both.source == "lifecycle_stage: Trial"
    assert stage_of({"lifecycle_stage": "", "lead_status": "Customer"}).stage == "customer"
    odd = stage_of({"lifecycle_stage": "Partner", "lead_status": ""})
    assert odd.stage == "unknown" and "Partner" in odd.source
    assert stage_of({"lifecycle_stage": "Partner"}, extra={"partner": "customer"}).stage == "customer"
    assert stage_of({}).stage == "lead"


def test_pipedrive_lifecycle_column_is_the_contacts_stage():
    result = crm.import_contacts(REPO / "data/crm_pipedrive_brightbean.csv")
    marcus = next(c for c in result.contacts if c["key"] == "1339")
    assert marcus["lifecycle_stage"] == "Lapsed" and stage_of(marcus).stage == "churned"


def test_shipped_templates_say_whom_they_are_for():
    demo = prompting.get_template("ledgerly_after_demo")
    assert [f.type for f in demo.audience.follows] == ["demo_attended"]
    assert "flux" in demo.audience.follows[0].subkinds and demo.audience.stages == ("lead", "trial")
    trial = prompting.get_template("brightbean_trial_ending")
    assert trial.audience.ahead and trial.audience.within_days == 7
    assert all(not t.audience.empty for t in prompting.list_templates())


@pytest.mark.parametrize("line,message", [
    ("follows: demo_atended", "unknown activity type 'demo_atended'"),
    ("follows: demo_attended()", "lists no sub-kind"),
    ("stages: lead, prospects", "stages has 'prospects'"),
    ("within: soon", "is not a window"),
])
def test_a_bad_audience_line_names_the_template_file_and_line(tmp_path, line, message):
    path = tmp_path / "t.j2"
    path.write_text("{#-\nname: t\nkind: slots\nfollows: demo_attended\n" + line
                    + "\n-#}\nSubject: Hi\n\nHello\n", encoding="utf-8")
    with pytest.raises(TemplateError) as err:
        prompting.get_template(str(path))
    assert "t.j2 line 5: " in err.value.message and message in err.value.message
    assert err.value.line == 5 and err.value.hint


def test_within_needs_the_activity_it_counts_from(tmp_path):
    with pytest.raises(TemplateError, match="within needs a follows line"):
        prompting.parse_template("{#-\nname: t\nwithin: 30 days\n-#}\n"
                                 "{{ brief_header(campaign=use_case) }}\n")


def _plan(**kw) -> routing.Plan:
    return campaign.preview_plan(None, crm=CRM_FILE, activities=ACTS_FILE, templates=LEDGERLY,
                                 as_of=DAY, **kw)


def test_every_contact_is_routed_or_given_a_reason():
    result = crm.import_contacts(CRM_FILE, activities=ACTS_FILE)
    plan = _plan()
    opted = routing.opted_out_rows(result.excluded)
    assert len(plan.routes) == len(result.contacts) + len(opted)
    assert all(r.template or r.reason in prompting.REASONS for r in plan.routes)
    by_key = {r.key: r for r in plan.routes}
    assert by_key["51230101"].template == "ledgerly_after_demo"  # her demo is her newest step
    assert by_key["51230129"].reason == "too_old" and "150 days ago" in by_key["51230129"].detail
    assert by_key["51230367"].reason == "missing_field"  # a trial ending, but no first name
    assert any(r.reason == "opted_out" for r in plan.routes)
    # a demo whose record names no topic the recap covers goes elsewhere, never to the recap
    assert by_key["51230234"].template == "ledgerly_after_content_download"
    d = plan.to_dict()
    assert d["routed"] == sum(d["per_template"].values())
    assert d["contacts"] - d["routed"] == sum(d["per_reason"].values())
    assert all(len(g["samples"]) <= routing.SAMPLES for g in d["groups"])


def test_customers_never_get_a_prospects_template():
    contact = {"key": "1", "first_name": "Ann", "company": "Acme", "lifecycle_stage": "Customer",
               "activities": [{"type": "demo_attended", "timestamp": "2026-11-20T10:00:00Z",
                               "detail": "demo of flux reports"}]}
    infos = [prompting.get_template("ledgerly_after_demo")]
    route = routing.route_contact(contact, infos, DAY)
    assert route.template is None and route.reason == "customer"
    contact["lifecycle_stage"] = "Partner"
    assert routing.route_contact(contact, infos, DAY).reason == "unknown_stage"


def test_a_trial_end_that_passed_is_too_old_and_one_far_ahead_not_due():
    infos = [prompting.get_template("ledgerly_trial_ending")]
    contact = {"key": "1", "first_name": "Ann", "activities": [
        {"type": "trial_ending", "timestamp": "2026-11-20T10:00:00Z", "detail": "trial ends"}]}
    assert routing.route_contact(contact, infos, DAY).reason == "too_old"
    contact["activities"][0]["timestamp"] = "2026-12-20T10:00:00Z"
    assert routing.route_contact(contact, infos, DAY).reason == "not_yet"
    contact["activities"][0]["timestamp"] = "2026-11-25T10:00:00Z"
    assert routing.route_contact(contact, infos, DAY).template == "ledgerly_trial_ending"


def test_the_marketer_moves_and_excludes_groups():
    plan = _plan(moves={"none:too_old": "ledgerly_reengage_cold_lead",
                        "none:missing_field": "ledgerly_after_event"},
                 excludes=["ledgerly_missed_meeting"])
    by_key = {r.key: r for r in plan.routes}
    moved = by_key["51230129"]
    assert moved.template == "ledgerly_reengage_cold_lead" and moved.by == "moved"
    assert moved.origin == "none:too_old"
    assert by_key["51230367"].reason == "missing_field"  # still no first name: not moved
    assert "moved to ledgerly_after_event" in by_key["51230367"].detail
    assert by_key["51230206"].reason == "excluded"
    assert plan.counts()["templates"]["ledgerly_missed_meeting"] == 0
    with pytest.raises(InputError, match="only to a template of the campaign"):
        _plan(moves={"none:too_old": "after_demo"})


def test_generate_plan_prints_the_plan_and_writes_nothing(store, settings):
    from click.testing import CliRunner

    from brandvoice.cli import main
    from brandvoice.store import contacts, jobs

    user(store)
    env = {"BRANDVOICE_USER": "tester", "BRANDVOICE_PASSWORD": "correct horse"}
    args = ["generate", "--crm", str(CRM_FILE), "--activities", str(ACTS_FILE), "--template",
            ",".join(LEDGERLY), "--plan", "--as-of", "2026-11-22T09:00:00Z"]
    res = CliRunner().invoke(main, args, env=env)
    assert res.exit_code == 0, res.output
    assert "Plan as of 2026-11-22: 40 contacts, 33 get a draft, 7 get none" in res.output
    assert "no template: too old" in res.output and "group none:too_old" in res.output
    res = CliRunner().invoke(main, [*args, "--json", "--exclude", "ledgerly_after_demo"], env=env)
    data = json.loads(res.output)
    assert data["per_template"]["ledgerly_after_demo"] == 0 and data["excludes"] == [
        "ledgerly_after_demo"]
    with store.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(jobs)).scalar() == 0
        assert conn.execute(sa.select(sa.func.count()).select_from(contacts)).scalar() == 0
    res = CliRunner().invoke(main, [*args[:-1], "next tuesday"], env=env)
    assert res.exit_code == 2 and "not a date" in res.output


def test_a_campaign_job_writes_each_contact_with_its_template_and_keeps_the_route(
        store, settings, plugged):
    from test_generate import FakeBackend, FakeGuard

    from brandvoice import review
    from brandvoice.generation import GenerationConfig
    from brandvoice.store import audit

    backend = FakeBackend()
    plugged("backend", "fake", lambda config, settings, **kw: backend)
    plugged("guard", "test", lambda settings, brand, *, store, adapter: FakeGuard())
    settings.guard = "test"
    with pytest.raises(PermissionDenied):
        campaign.submit(store, settings, actor=user(store, "rita", "reviewer"), crm=CRM_FILE,
                        templates=LEDGERLY, brand="Ledgerly")
    shared = ["after_content_download", "after_demo", "after_event", "missed_meeting",
              "reengage_cold_lead", "trial_ending"]
    kw = {"crm": CRM_FILE, "activities": ACTS_FILE, "templates": shared, "as_of": DAY,
          "excludes": ["missed_meeting"]}
    plan = campaign.preview_plan(settings, **kw)
    job_id = campaign.submit(store, settings, actor=user(store), base_model="smollm2-135m-instruct",
                             brand="Ledgerly", config=GenerationConfig(backend="fake", batch_size=4),
                             **kw)
    job = worker.run(store, job_id)
    assert job["status"] == "done", job["error"]
    routed = {r.key: r.template for r in plan.routed()}
    assert job["done"] == job["total"] == len(routed) > 20
    rows, total = review.list_queue(store, job_id=job_id, limit=100)
    assert total == len(routed)
    for r in rows:
        d = review.get_draft(store, r["id"])
        route = d["settings"]["route"]
        assert route["template"] == d["template_name"] == routed[d["contact"]["contact_key"]]
        assert route["by"] == "audience" and route["campaign"] == shared
        assert route["as_of"] == "2026-11-22T09:00:00Z"
        if d["template_name"] == "trial_ending":  # the brief is dated as of the send day
            assert route["activity"]["type"] == "trial_ending"
            assert "their trial ends " in d["prompt"] and "(November 2" in d["prompt"]
    assert "missed_meeting" not in {d for d in routed.values()}
    with store.read() as conn:
        event = conn.execute(sa.select(audit.c.details).where(audit.c.action == "campaign_plan")).scalar()
    assert event["excludes"] == ["missed_meeting"] and event["templates"] == shared
    with pytest.raises(InputError, match="No contact is routed"):
        campaign.submit(store, settings, actor=user(store), crm=CRM_FILE, activities=ACTS_FILE,
                        templates=["ledgerly_trial_ending"], brand="Ledgerly",
                        base_model="smollm2-135m-instruct",
                        as_of=datetime(2027, 3, 1, tzinfo=timezone.utc))
