"""Generate, templates, export, dashboard, brand voice and users pages under AppTest."""

from __future__ import annotations

from helpers_drafts import make_drafts
from ui_harness import (
    REPO,
    fast_passwords,  # noqa: F401 - autouse fixture
    no_exception,
    page,
    texts,
)

CRM = REPO / "data" / "crm_hubspot_ledgerly.csv"
EMAILS = REPO / "data" / "emails_ledgerly.csv"



def _upload(at, key: str, name: str, data: bytes):
    at.radio(key=f"{key}_source").set_value("Upload a file")
    at.run()
    at.file_uploader(key=f"{key}_upload").set_value((name, data, "text/csv"))
    return at.run()


def test_bad_crm_upload_shows_the_problem(store, demo_people):
    at = page("generate", demo_people[2]).run()
    no_exception(at)
    _upload(at, "g_crm", "contacts.csv", b"name;phone\nDana;123\n")
    no_exception(at)
    errors = " ".join(texts(at, "error"))
    assert "contacts.csv" in errors and "email" in errors


def test_crm_with_a_bad_row_is_imported_with_a_warning(store, demo_people):
    text = CRM.read_text(encoding="utf-8").splitlines()
    header = text[0].split(",")
    bad = [""] * len(header)
    bad[header.index("Email")] = "bob@"
    bad[header.index("First Name")] = "Bob"
    data = "\n".join([text[0], *text[1:6], ",".join(bad)]) + "\n"
    at = page("generate", demo_people[2]).run()
    _upload(at, "g_crm", "crm_bad_row.csv", data.encode())
    no_exception(at)
    warnings = " ".join(texts(at, "warning"))
    assert "crm_bad_row.csv row 6: invalid email 'bob@'" in warnings
    assert "activities" not in warnings  # the demo activity log is not joined to an upload
    assert "HubSpot" in " ".join(str(m.value) for m in at.metric)


def test_demo_crm_shows_profile_and_completeness(store, demo_people):
    at = page("generate", demo_people[2]).run()
    no_exception(at)
    values = {m.label: str(m.value) for m in at.metric}
    assert values["Profile"].startswith("HubSpot") and int(values["Contacts"]) > 10
    assert at.multiselect(key="g_campaign_ledgerly").value
    assert any("Generate" in b.label for b in at.button)


def test_reviewer_cannot_generate(store, demo_people):
    at = page("generate", demo_people[1]).run()
    no_exception(at)
    assert any("Only marketers" in i for i in texts(at, "info"))


def test_templates_preview_and_error_at_line(store, demo_people):
    at = page("templates", demo_people[2]).run()
    no_exception(at)
    assert any("Campaign:" in c for c in texts(at, "code"))  # the rendered brief
    area = at.text_area[0]
    lines = area.value.splitlines()
    lines[7] = lines[7] + " {% if %}"
    area.input("\n".join(lines))
    at.run()
    no_exception(at)
    errors = " ".join(texts(at, "error"))
    assert "line 8" in errors
    assert any(">>   8 |" in c for c in texts(at, "code"))


def test_reviewer_cannot_edit_templates(store, demo_people):
    at = page("templates", demo_people[1]).run()
    no_exception(at)
    assert at.text_area[0].disabled and not [b for b in at.button if b.label == "Save"]


def test_export_empty_then_download(store, demo_people):
    from brandvoice import review

    admin, reviewer, marketer = demo_people
    at = page("export", marketer).run()
    no_exception(at)
    assert at.button(key="x_go").disabled
    ids = make_drafts(store, 3, created_by="mark")
    review.approve(store, reviewer, ids[0], expected_version=1)
    at.run()
    at.button(key="x_go").click()
    at.run()
    no_exception(at)
    assert any("Batch #1" in s for s in texts(at, "success"))
    assert at.get("download_button")
    assert review.get_draft(store, ids[0])["state"] == "exported"


def test_reviewer_exports_what_they_approved(store, demo_people):
    from brandvoice import review

    ids = make_drafts(store, 2, created_by="mark")
    review.approve(store, demo_people[1], ids[1], expected_version=1)
    at = page("export", demo_people[1]).run()
    no_exception(at)
    at.selectbox(key="x_profile").select("mailchimp")
    at.button(key="x_go").click()
    at.run()
    no_exception(at)
    assert any("(mailchimp): 1 drafts" in s for s in texts(at, "success"))


def test_dashboard_empty_and_filled(store, demo_people):
    from brandvoice import review

    at = page("dashboard", demo_people[1]).run()
    no_exception(at)
    assert any("No draft yet" in i for i in texts(at, "info"))
    ids = make_drafts(store, 4, created_by="mark")
    review.approve(store, demo_people[1], ids[0], expected_version=1)
    review.reject(store, demo_people[1], ids[1], expected_version=1, reason_code="tone")
    page_ = page("dashboard", demo_people[1]).run()
    no_exception(page_)
    values = {m.label: str(m.value) for m in page_.metric}
    assert values["Approval rate"] == "50%" and values["Drafts"] == "4"


def test_brand_voice_selection_on_demo_emails(store, demo_people):
    at = page("brand", demo_people[2]).run(timeout=120)
    no_exception(at)
    values = {m.label: str(m.value) for m in at.metric}
    assert int(values["Emails loaded"]) > 50 and int(values["Selected for training"]) > 5
    assert any("Threshold" in c for c in texts(at, "caption"))
    at.radio(key="b_emails_source").set_value("emails_brightbean.csv")
    at.run()
    no_exception(at)
    assert not texts(at, "error")  # the brand follows the file
    assert at.text_input(key="b_brand_emails_brightbean.csv").value == "Bright Bean"


def test_bad_email_file_shows_the_problem(store, demo_people):
    at = page("brand", demo_people[2]).run(timeout=120)
    _upload(at, "b_emails", "emails.csv", b"title_of_thing,text\n1,2\n")
    no_exception(at)
    assert any("emails.csv" in e for e in texts(at, "error"))


def test_admin_adds_a_user(store, demo_people):
    from brandvoice import users

    at = page("users", demo_people[0]).run()
    no_exception(at)
    at.text_input[0].input("newbie")
    at.text_input[1].input("long-password")
    at.selectbox[0].select("reviewer")
    at.button[0].click()
    at.run()
    no_exception(at)
    assert users.authenticate(store, "newbie", "long-password").role == "reviewer"


def test_template_save_validates_then_writes(store, demo_people, tmp_path, monkeypatch):
    import shutil

    prompts = tmp_path / "prompts"
    shutil.copytree(REPO / "prompts", prompts)
    monkeypatch.setenv("BRANDVOICE_PROMPTS", str(prompts))
    at = page("templates", demo_people[2]).run()
    name = at.selectbox(key="t_name").value
    path = prompts / f"{name}.j2"
    before = path.read_text(encoding="utf-8")
    at.text_area[0].input(before.replace("{% set", "{% sett", 1))
    at.button(key="t_save").click()
    at.run()
    no_exception(at)
    assert any("line" in e for e in texts(at, "error"))
    assert path.read_text(encoding="utf-8") == before  # a broken template is never written
    at.text_area[0].input(before + "\n- Mention the weather.")
    at.button(key="t_save").click()
    at.run()
    no_exception(at)
    assert path.read_text(encoding="utf-8").endswith("- Mention the weather.")
    assert not list(prompts.glob(".*.tmp"))


def test_training_progress_is_read_from_the_store(store, demo_people):
    import os

    from brandvoice import jobs
    from brandvoice.store import jobs as jobs_table
    from brandvoice.store import utcnow

    job_id = jobs.create(store, "train", {"brand": "Ledgerly"}, created_by="mark")
    with store.tx() as conn:  # as a worker process would (this process stands in for it)
        conn.execute(jobs_table.update().where(jobs_table.c.id == job_id).values(
            status="running", pid=os.getpid(), started_at=utcnow()))
    reporter = jobs.Reporter(store, job_id)
    for step in range(1, 6):
        reporter.update(done=step, total=20, force=True,
                        metrics={"step": step, "max_steps": 20, "loss": 3.0 - 0.2 * step,
                                 "tokens_per_s": 850.0, "eta_s": 95.0},
                        point={"step": step, "loss": 3.0 - 0.2 * step})
    at = page("brand", demo_people[2]).run(timeout=120)
    no_exception(at)
    values = {m.label: str(m.value) for m in at.metric}
    assert values["Loss"] == "2.000" and values["Step"] == "5/20"
    assert values["Tokens/s"] == "850" and values["ETA"] == "1m 35s"
    assert at.get("progress") and at.get("vega_lite_chart")  # the loss curve
    assert any(b.label == "Cancel job" for b in at.button)
