"""Generate page: live progress of a job, the adapter follows the brand, the column-mapping editor,
candidates per slot and fallbacks, and errors worded for the page."""

from __future__ import annotations

import os

import sqlalchemy as sa
from ui_harness import (
    fast_passwords,  # noqa: F401 - autouse fixture
    no_exception,
    page,
    texts,
)


def _adapter(store, name: str, brand: str, version: int, created: str) -> int:
    from brandvoice.store import adapters

    with store.tx() as conn:
        return conn.execute(adapters.insert().values(
            name=name, version=version, base_model="smollm2-135m-instruct", quantization="nf4",
            data_hash="0" * 64, hyperparameters={}, selection={}, metrics={}, status="ready",
            path=f"/nonexistent/{name}/v{version}", created_at=created)).inserted_primary_key[0]


def _running_job(store, *, total: int, metrics: dict, done: int = 0) -> int:
    from brandvoice import jobs
    from brandvoice.store import jobs as table
    from brandvoice.store import utcnow

    job_id = jobs.create(store, "generate", {"brand": "Ledgerly"}, created_by="mark", total=total)
    with store.tx() as conn:  # as a worker process would (this process stands in for it)
        conn.execute(table.update().where(table.c.id == job_id).values(
            status="running", pid=os.getpid(), started_at=utcnow(), done=done,
            progress=done / total, metrics=metrics))
    return job_id


def _metrics(at) -> dict[str, str]:
    return {m.label: str(m.value) for m in at.metric}


def test_the_adapter_follows_the_brand_and_warns_about_another_brands(store, demo_people):
    ledgerly = _adapter(store, "ledgerly", "Ledgerly", 1, "2026-11-01T00:00:00.000000Z")
    newer = _adapter(store, "ledgerly", "Ledgerly", 2, "2026-11-02T00:00:00.000000Z")
    bean = _adapter(store, "bright-bean", "Bright Bean", 1, "2026-11-03T00:00:00.000000Z")
    at = page("generate", demo_people[2]).run()
    no_exception(at)
    assert at.selectbox(key="g_brand_pick").value == "Ledgerly"  # the demo CRM's brand
    # The newest ready adapter of the chosen brand, though another brand's is newer still.
    assert at.selectbox(key="g_adapter_ledgerly").value == newer != ledgerly
    assert not texts(at, "warning") or "trained on" not in " ".join(texts(at, "warning"))
    at.selectbox(key="g_adapter_ledgerly").set_value(bean)
    at.run()
    assert any("trained on bright-bean's emails, not Ledgerly's" in w for w in texts(at, "warning"))
    # Choosing the other brand preselects its own adapter, with no warning.
    at.selectbox(key="g_brand_pick").set_value("bright-bean")
    at.run()
    no_exception(at)
    assert at.selectbox(key="g_adapter_brightbean").value == bean
    assert not any("trained on" in w for w in texts(at, "warning"))


def test_the_campaign_is_the_brands_templates_and_the_plan_shows_who_gets_what(store,
                                                                                demo_people):
    at = page("generate", demo_people[2]).run()
    no_exception(at)
    box = at.multiselect(key="g_campaign_ledgerly")
    assert "after_demo" in box.options and not any("brightbean" in n for n in box.options)
    assert sorted(box.value) == sorted(n for n in box.options if n.startswith("ledgerly_"))
    # A slot campaign asks for candidates per slot; the plan is shown before any model runs.
    assert at.number_input(key="g_candidates").label == "Candidates per slot"
    values = _metrics(at)
    assert int(values["Get a draft"]) + int(values["Get none"]) == int(values["In the plan"]) > 30
    assert at.date_input(key="g_as_of_True").value.isoformat() == "2026-11-22"  # the demo's day
    md = " ".join(texts(at, "markdown"))
    assert "no template: too old" in md and "no template: opted out" in md
    assert any(f"Generate {values['Get a draft']} drafts" == b.label for b in at.button)
    box.set_value(["ledgerly_after_demo"])
    at.run()
    no_exception(at)
    assert "no template: no matching activity" in " ".join(texts(at, "markdown"))


def test_generate_passes_candidates_and_is_disabled_while_the_job_runs(store, demo_people,
                                                                        plugged, monkeypatch):
    from brandvoice import jobs

    started = []
    plugged("runner", "recording", lambda settings, job_id: started.append(job_id))
    monkeypatch.setenv("BRANDVOICE_JOB_RUNNER", "recording")  # the page starts jobs with it
    at = page("generate", demo_people[2]).run()
    plan_key = "g_plan_" + "|".join(at.multiselect(key="g_campaign_ledgerly").value)
    # the marketer moves the contacts whose download is too old to the re-engagement email,
    # and leaves the missed meetings out
    at.selectbox(key=f"{plan_key}_none:too_old").set_value("ledgerly_reengage_cold_lead")
    at.selectbox(key=f"{plan_key}_ledgerly_missed_meeting").set_value("Leave out")
    at.run()
    k = at.number_input(key="g_candidates")
    from brandvoice.generation import GenerationConfig
    assert k.value == GenerationConfig().candidates and k.max == 8 and k.min == 1
    k.set_value(2)
    at.run()
    at.button(key="g_go").click()
    at.run()
    no_exception(at)
    (job_id,) = started
    job = jobs.get(store, job_id)
    assert job["params"]["config"]["candidates"] == 2
    camp = job["params"]["campaign"]
    assert camp["moves"] == {"none:too_old": "ledgerly_reengage_cold_lead"}
    assert camp["excludes"] == ["ledgerly_missed_meeting"] and camp["as_of"].startswith("2026-11-22")
    assert job["total"] == 31  # 33 routed, 6 missed meetings out, 4 too-old contacts moved in
    # While the job is queued or runs, Generate is disabled and Cancel stands beside it.
    assert at.button(key="g_go").disabled
    at.button(key="g_cancel").click()
    at.run()
    no_exception(at)
    assert jobs.get(store, job_id)["status"] in ("cancelled", "cancelling")  # queued: at once


def test_live_progress_shows_the_phase_then_counts_speed_and_time_left(store, demo_people):
    from brandvoice import jobs

    job_id = _running_job(store, total=7, metrics={"phase": "loading the model", "eta_s": None,
                                                   "new_drafts": 0})
    at = page("generate", demo_people[2]).run()
    no_exception(at)
    bar = at.get("progress")[0].proto.text
    assert "Loading the model" in bar and "0 of 7 drafts" in bar
    assert _metrics(at)["Time left"] == "–"
    assert at.button(key="g_go").disabled
    reporter = jobs.Reporter(store, job_id)
    reporter.update(done=2, force=True, metrics={
        "phase": "writing", "new_drafts": 2, "tokens_per_s": 41.5, "drafts_per_min": 4.0,
        "eta_s": 75.0, "slots_model": 5, "slots_fallback": 1})
    at.run()
    no_exception(at)
    values = _metrics(at)
    assert values["Drafts"] == "2/7" and values["Tokens/s"] == "42"
    assert values["Time left"] == "1m 15s" and values["Drafts/min"] == "4.0"
    assert "Writing drafts · 2 of 7 drafts" in at.get("progress")[0].proto.text
    assert any("fell back to your template's text: **1**" in c for c in texts(at, "caption"))


def test_the_drafts_of_the_job_show_which_slots_fell_back(store, demo_people):
    from helpers_drafts import make_drafts

    from brandvoice.store import drafts

    ids = make_drafts(store, 2, brand="Ledgerly", created_by="mark")
    with store.tx() as conn:
        job_id = conn.execute(sa.select(drafts.c.job_id).where(drafts.c.id == ids[0])).scalar()
        conn.execute(drafts.update().where(drafts.c.id == ids[1]).values(
            flags=["fallback:opening", "fallback:ask"]))
    at = page("generate", demo_people[2])
    at.session_state["g_job"] = job_id
    at.run()
    no_exception(at)
    table = at.dataframe[-1].value
    assert list(table["fell back to your text"]) == ["opening, ask", "–"]


def test_a_new_error_never_stands_above_an_old_finished_job(store, demo_people, monkeypatch):
    from helpers_drafts import make_drafts

    from brandvoice import generation
    from brandvoice.errors import ConfigError

    make_drafts(store, 1, brand="Ledgerly", created_by="mark")  # a finished generate job
    at = page("generate", demo_people[2]).run()
    assert any("finished" in c for c in texts(at, "caption"))

    def refuse(*a, **kw):
        raise ConfigError("Generating with a base model needs a brand name.",
                          hint="Pass --brand NAME.")

    monkeypatch.setattr(generation.campaign, "submit", refuse)
    at.button(key="g_go").click()
    at.run()
    no_exception(at)
    errors = " ".join(texts(at, "error"))
    assert "needs a brand name" in errors and "Choose the brand on this page." in errors
    assert "--brand" not in errors
    assert not any("finished" in c for c in texts(at, "caption")) and not at.get("progress")


def _upload(at, name: str, data: bytes):
    at.radio(key="g_crm_source").set_value("Upload a file")
    at.run()
    at.file_uploader(key="g_crm_upload").set_value((name, data, "text/csv"))
    return at.run()


CSV = (b"Kontakt-ID;E-Post;Vorname;Firma\n1;dana@acme.example;Dana;Acme\n"
       b"2;lee@globex.example;Lee;Globex\n")


def test_columns_are_mapped_in_the_page_and_the_mapping_is_saved(store, demo_people, settings):
    from brandvoice import crm

    at = page("generate", demo_people[2]).run()
    _upload(at, "kontakte.csv", CSV)
    no_exception(at)
    errors = " ".join(texts(at, "error"))
    assert "no email column" in errors and "Column mapping" in errors and "--mapping" not in errors
    editor = at.data_editor[0]
    table = editor.value
    assert list(table.columns) == ["CRM column", "Example", "brandvoice field"]
    assert list(table["CRM column"]) == ["Kontakt-ID", "E-Post", "Vorname", "Firma"]
    assert table["Example"][1] == "dana@acme.example"
    at.session_state[editor.key] = {"edited_rows": {1: {"brandvoice field": "email"},
                                                    2: {"brandvoice field": "first_name"}},
                                    "added_rows": [], "deleted_rows": []}
    at.run()
    no_exception(at)
    assert not texts(at, "error")
    assert _metrics(at)["Contacts"] == "2" and _metrics(at)["Profile"] == "Your mapping"
    preview = at.dataframe[1].value  # the first rows as brandvoice reads them
    assert list(preview["Email address"]) == ["dana@acme.example", "lee@globex.example"]
    next(b for b in at.button if b.label == "Save mapping").click()
    at.run()
    no_exception(at)
    assert any("Column mapping saved" in s for s in texts(at, "success"))
    header, _ = crm.preview(settings.home / "uploads" / "crm" / next(
        p.name for p in (settings.home / "uploads" / "crm").iterdir()) / "kontakte.csv")
    assert crm.saved_mapping(settings, header) == {"email": "E-Post", "first_name": "Vorname"}
    # The next export with the same columns is read with it at once.
    again = page("generate", demo_people[2]).run()
    _upload(again, "kontakte-december.csv", CSV + b"3;mei@hooli.example;Mei;Hooli\n")
    no_exception(again)
    assert not texts(again, "error") and _metrics(again)["Contacts"] == "3"


OPT_CSV = (b"Record ID,First Name,Email,Company Name,Notes,Unsubscribed from all email\n"
           b"1,Dana,dana@acme.example,Acme,,\n2,Lee,lee@globex.example,Globex,,true\n")


def test_a_saved_mapping_that_unmaps_opt_outs_needs_a_confirmation_on_the_page(
        store, demo_people, settings):
    import json

    from brandvoice import crm

    header = ["Record ID", "First Name", "Email", "Company Name", "Notes",
              "Unsubscribed from all email"]
    saved = settings.home / "mappings" / f"{crm.header_key(header)}.json"
    saved.parent.mkdir(parents=True, exist_ok=True)
    saved.write_text("[not a mapping", encoding="utf-8")  # damaged: named, not a crash
    at = page("generate", demo_people[2]).run()
    _upload(at, "hubspot.csv", OPT_CSV)
    no_exception(at)
    assert any("is damaged" in w for w in texts(at, "warning"))
    assert _metrics(at)["Contacts"] == "1"  # detected: Lee unsubscribed
    crm.save_mapping(settings, header, {"email": "Email", "notes": "Unsubscribed from all email"},
                     actor=demo_people[0], unmap_optout=["Unsubscribed from all email"])
    assert json.loads(saved.read_text())["saved_by"] == demo_people[0].username
    at = page("generate", demo_people[2]).run()
    _upload(at, "hubspot-2.csv", OPT_CSV)
    no_exception(at)
    assert any("stops reading opt-out columns" in w for w in texts(at, "warning"))
    assert "Contacts" not in _metrics(at)  # nothing read until someone says yes
    box = next(c for c in at.checkbox if c.key.startswith("g_unmap_"))
    box.check()
    at.run()
    no_exception(at)
    assert _metrics(at)["Contacts"] == "2" and at.session_state["g_unmap"] == [
        "Unsubscribed from all email"]
