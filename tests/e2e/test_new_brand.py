"""A brand the demo has never seen, in a real browser, from its first upload to its first approved
and exported slot drafts, with no file edited by hand: a past-emails file without a brand column or
metrics, a brand name with a "/", its rules proposed from its emails and saved, a slot template
made from its best past email, an adapter trained, sample drafts beside the base model's, a slot
job from its CRM export, a reviewer's bulk approval and the export for Excel.

The tiny test model (tests/helpers_models.py) stands in for the embedded base model, so the flow
takes a few minutes; the guardrails' embedder, the store, the jobs and the app are the real ones.
The workspace is its own (no demo data, no other brand): what a new customer starts from.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
from pathlib import Path

import pytest
from e2e_support import (
    PASSWORD,
    REPO,
    campaign,
    idle,
    open_page,
    serve_app,
    sign_in,
    sign_out,
    skip_reason,
)

pytestmark = pytest.mark.e2e

DATA = REPO / "tests" / "data" / "onboard"
BRAND = "Greenrow Co/op"
TEMPLATE = "greenrow_co_op_general"
JOB_S = 600  # a job's end, on a busy shared machine


@pytest.fixture(scope="module")
def fresh_server(tmp_path_factory):
    """`streamlit run app.py` on an empty workspace: three users, the shipped prompts and rules
    (copies: what the app saves stays in the test's folder), the tiny model."""
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("new-brand")
    home = root / "home"
    for name in ("prompts", "guardrails"):
        shutil.copytree(REPO / name, root / name)
    import sys

    sys.path.insert(0, str(REPO / "tests"))
    from helpers_models import build_tiny_model

    from brandvoice import users
    from brandvoice.config import Settings
    from brandvoice.store import Store

    store = Store(Settings(home=home))
    admin = users.add_user(store, "admin", PASSWORD, "admin")
    users.add_user(store, "rita", PASSWORD, "reviewer", actor=admin)
    users.add_user(store, "mark", PASSWORD, "marketer", actor=admin)
    Store.dispose_all()
    tiny = build_tiny_model(root / "tiny-model")
    env = dict(os.environ, BRANDVOICE_HOME=str(home), HF_HUB_OFFLINE="1",
               TRANSFORMERS_OFFLINE="1", PYTHONUNBUFFERED="1", BRANDVOICE_BASE_MODEL=str(tiny),
               BRANDVOICE_QUANTIZATION="none", BRANDVOICE_PROMPTS=str(root / "prompts"),
               BRANDVOICE_GUARDRAILS=str(root / "guardrails"),
               BRANDVOICE_MODELS_DIR=str(REPO / ".brandvoice" / "models"))
    env.pop("BRANDVOICE_DB_URL", None)
    with serve_app(home, env) as server:
        yield {**server, "root": root}


def _tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()
    idle(page)


def _upload(page, label: str, path: Path, nth: int = 0) -> None:
    """Choose "Upload a file" in a file picker (by its label) and give it a file."""
    picker = page.locator('[data-testid="stRadio"]').filter(has_text=label).first
    picker.get_by_text("Upload a file").click()
    idle(page)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').nth(nth).set_input_files(str(path))
    idle(page)


def _wait_job(page, timeout_s: float = JOB_S) -> str:
    done = page.get_by_text(re.compile(r"Job #\d+ (finished|failed|was cancelled)")).first
    done.wait_for(timeout=timeout_s * 1000)
    idle(page)
    return done.inner_text()


def test_a_new_brand_from_upload_to_exported_slot_drafts(fresh_server, page, shots, tmp_path):
    url, root = fresh_server["url"], fresh_server["root"]
    sign_in(page, url, "mark")
    open_page(page, "Brand voice")

    # 1. Past emails without a brand column or metrics; the brand named with a "/".
    _upload(page, "Past emails", DATA / "greenrow_emails.csv")
    brand_box = page.get_by_role("textbox", name="Brand")
    brand_box.fill(BRAND)
    brand_box.press("Enter")
    idle(page)
    page.get_by_text(f"No brand column: every row is read as {BRAND}'s.").wait_for()
    page.get_by_text("every email is used, unranked", exact=False).first.wait_for()
    selected = page.locator('[data-testid="stMetric"]').filter(has_text="Selected for training")
    assert "34" in selected.inner_text()
    shots(page, "new_brand_01_past_emails")

    # 2. Its rules, proposed from its emails, confirmed.
    _tab(page, "Brand rules")
    evidence = page.locator("li")
    evidence.filter(has_text="Sign-off “— Ines and the Greenrow crew”: 34 of 34 emails").wait_for()
    evidence.filter(has_text="Subject tag “[Greenrow Notes]”").first.wait_for()
    page.get_by_role("button", name="Save the brand rules").click()
    page.get_by_text("Saved greenrow-co-op.toml", exact=False).wait_for()
    idle(page)
    shots(page, "new_brand_02_rules")
    rules = (root / "guardrails" / "greenrow-co-op.toml").read_text(encoding="utf-8")
    assert 'signature = "— Ines and the Greenrow crew"' in rules

    # 3. A slot template from its best past email: the email picked, the slots' fallbacks are
    # the email's own sentences.
    _tab(page, "Slot templates")
    box = page.locator('[data-testid="stSelectbox"]').filter(
        has_text="Past email to start from").first
    box.click()
    page.get_by_role("option", name=re.compile("Good to see you at the open day")).first.click()
    idle(page)
    fallback = page.get_by_role("textbox", name=re.compile("Fallback")).nth(1)
    assert fallback.input_value() == "Thanks for walking the hoop houses with us on Saturday."
    name = page.get_by_role("textbox", name="Template name")
    assert name.input_value() == TEMPLATE
    page.get_by_role("button", name="Save the template").click()
    page.get_by_text(f"Saved {TEMPLATE}", exact=False).wait_for()
    idle(page)
    shots(page, "new_brand_03_slot_template")
    assert (root / "prompts" / f"{TEMPLATE}.j2").is_file()

    # 4. Train its adapter.
    _tab(page, "Train")
    page.get_by_role("button", name="Start training").click()
    page.get_by_text(re.compile(r"Job #\d+")).first.wait_for()
    outcome = _wait_job(page)
    assert "finished" in outcome, outcome
    shots(page, "new_brand_04_trained")

    # 5. Sample drafts beside the base model's, with progress on the page.
    _tab(page, "Adapters")
    # the brand's slot template comes first
    chosen = page.get_by_role("combobox", name="Template", exact=True)
    chosen.wait_for()
    assert chosen.input_value().endswith(f"slot template · {TEMPLATE}"), chosen.input_value()
    page.locator('[class*="st-key-a_write_"] button').first.click()
    page.get_by_text(re.compile(r"Base model alone")).first.wait_for(timeout=JOB_S * 1000)
    idle(page)
    shots(page, "new_brand_05_samples")

    # 6. A slot job from its CRM export.
    open_page(page, "Generate")
    _upload(page, "CRM export", DATA / "greenrow_contacts.csv")
    _upload(page, "Activity log", DATA / "greenrow_activities.csv", nth=1)
    page.get_by_text("Drafts", exact=True).first.wait_for()
    campaign(page, [TEMPLATE])  # the brand's one slot template is the campaign
    go = page.get_by_role("button", name=re.compile(r"Generate \d+ drafts"))
    total = int(re.search(r"\d+", go.inner_text()).group())
    assert total == 12
    go.click()
    page.get_by_text(re.compile(r"Job #\d+")).first.wait_for()
    outcome = _wait_job(page)
    assert "finished" in outcome, outcome
    shots(page, "new_brand_06_generated")

    # 7. The reviewer bulk-approves what passed, having seen each draft's first lines.
    sign_out(page)
    sign_in(page, url, "rita")
    page.get_by_role("heading", name="Review queue").wait_for()
    idle(page)
    page.locator('[data-testid="stExpander"]').filter(has_text="Bulk approve").locator(
        "summary").first.click()
    listing = page.get_by_role("button", name="List the drafts that passed every check")
    listing.wait_for()
    listing.click()
    approve = page.get_by_role("button", name=re.compile(r"Approve these \d+ drafts"))
    approve.wait_for()
    idle(page)
    # the list's columns (a grid drawn on a canvas: its headers are there for screen readers)
    # (the grid is drawn after the run that shows it: wait for its headers, do not count at once)
    for column in ("first lines", "why it passed"):
        page.locator("th", has_text=column).first.wait_for(state="attached")
    shots(page, "new_brand_07_bulk_approve")
    approved = int(re.search(r"\d+", approve.inner_text()).group())
    assert approved >= 1
    approve.click()
    page.get_by_text(re.compile(rf"Approved {approved} drafts")).first.wait_for()
    idle(page)

    # 8. The export, for Excel: every row is a Greenrow draft with its sign-off and footer.
    open_page(page, "Export")
    page.get_by_role("button", name="Create export").click()
    page.get_by_text(re.compile(r"Batch #\d+")).first.wait_for()
    idle(page)
    shots(page, "new_brand_08_exported")
    with page.expect_download() as info:
        page.get_by_role("button", name="Download CSV").click()
    target = tmp_path / info.value.suggested_filename
    info.value.save_as(target)
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the generic profile is for Excel
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert len(rows) == approved
    for row in rows:
        assert row["Email"].endswith(".example")
        assert row["Body"].startswith(f"Hi {row['First Name']},")
        assert "— Ines and the Greenrow crew" in row["Body"]
        assert "Unsubscribe: https://greenrow.example/unsubscribe" in row["Body"]
