"""The docs' screenshots, from a real demo run: `brandvoice setup --demo` in a temporary home
starts the real background demo job (the embedded base model trains the demo brand's adapter, then
writes the first drafts with it), `streamlit run app.py` serves that workspace, and a marketer and
a reviewer walk through it in Chromium. Nothing here is a fixture: every draft, score and chart on
the screenshots comes from the embedded models on this machine.

It takes ten minutes or more on two CPU cores, so it runs only when asked:

    BRANDVOICE_DOCS_SCREENSHOTS=1 .venv/bin/python -m pytest -m e2e tests/e2e/test_docs_screenshots.py

and then copies the chosen screenshots to docs/screenshots/ (look at them before committing).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from e2e_support import REPO, campaign, copy_to_docs, idle, open_page, serve_app, skip_reason

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(
    os.environ.get("BRANDVOICE_DOCS_SCREENSHOTS") != "1",
    reason="refreshes the docs' screenshots from a real demo run (~10 min): "
           "set BRANDVOICE_DOCS_SCREENSHOTS=1")]

DOCS = ["docs_training", "docs_generate_progress", "docs_adapters", "docs_templates_slots",
        "docs_review_slot_draft", "docs_review_approve_reason", "docs_dashboard"]
SLOT_TEMPLATE = "ledgerly_after_demo"


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    """A demo workspace as `make run` makes it, served by `streamlit run app.py`."""
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    home = tmp_path_factory.mktemp("docs") / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRANDVOICE_")}
    env.update(BRANDVOICE_HOME=str(home), BRANDVOICE_DEMO_SEED="model", HF_HUB_OFFLINE="1",
               BRANDVOICE_MODELS_DIR=str(REPO / ".brandvoice" / "models"),
               TRANSFORMERS_OFFLINE="1", PYTHONUNBUFFERED="1")
    setup = subprocess.run([sys.executable, "-c", "import sys; from brandvoice.cli import main; "
                            "sys.exit(main())", "setup", "--demo"], cwd=REPO, env=env,
                           capture_output=True, text=True, timeout=600)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    print(setup.stdout)
    with serve_app(home, env) as server:
        yield {"url": server["url"], "home": home}


def _sign_in(page, url: str, username: str) -> None:
    page.goto(url)
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_role("textbox", name="Password").fill("brandvoice-demo")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text(username, exact=False).first.wait_for()
    idle(page)


def _select(page, label: str, option: str) -> None:
    box = page.get_by_role("combobox", name=label, exact=True)
    box.click()
    box.fill(option)
    page.get_by_role("option", name=re.compile(re.escape(option))).first.click()
    idle(page)


def _open_draft_id(page) -> int:
    heading = page.get_by_role("heading", name=re.compile(r"Draft #\d+")).first
    heading.wait_for()
    return int(re.search(r"\d+", heading.inner_text()).group())


def _wait_text(page, pattern: str, timeout_s: float) -> None:
    page.get_by_text(re.compile(pattern)).first.wait_for(timeout=timeout_s * 1000)


def test_marketer_screenshots(demo_server, page, shots):
    page.set_default_timeout(60_000)
    _sign_in(page, demo_server["url"], "marketer")
    # The demo job's training, live: the loss curve grows as the steps go.
    open_page(page, "Brand voice")
    page.get_by_role("tab", name="Train").click()
    _wait_text(page, r"Job #\d+: Training · [3-9]\d* of \d+ steps|Job #\d+ finished", 900)
    page.wait_for_timeout(2500)
    shots(page, "docs_training")
    _wait_text(page, r"Job #\d+ finished", 900)
    # The demo job's drafts, written by the new adapter, arriving with live progress.
    open_page(page, "Generate")
    _wait_text(page, r"Writing drafts · [1-9]\d* of \d+ drafts|Job #\d+ finished", 900)
    page.wait_for_timeout(2500)
    shots(page, "docs_generate_progress")
    _wait_text(page, r"Job #\d+ finished", 900)
    # Slot drafts: the model writes the subject, the opening and the ask of the brand's skeleton.
    campaign(page, [SLOT_TEMPLATE])
    page.get_by_role("button", name=re.compile(r"Generate \d+ drafts")).click()
    idle(page)
    _wait_text(page, r"Job #\d+: (waiting|Starting|Loading|Writing)", 120)
    _wait_text(page, r"Job #\d+ finished", 1500)
    # The adapter in words, and its drafts beside the base model's for the same brief.
    open_page(page, "Brand voice")
    page.get_by_role("tab", name="Adapters").click()
    # A whole-email template: the model writes all of it, which shows the voice best.
    _select(page, "Template", "after_content_download")
    page.get_by_role("button", name="Write sample drafts").click()
    _wait_text(page, r"Sample drafts beside|With ledgerly v\d", 900)
    page.get_by_text(re.compile(r"^With ledgerly v\d")).first.wait_for(timeout=900_000)
    idle(page)
    shots(page, "docs_adapters")
    open_page(page, "Templates")
    _select(page, "Template", SLOT_TEMPLATE)
    page.get_by_text("fallback text").first.wait_for()
    idle(page)
    shots(page, "docs_templates_slots")


def test_reviewer_screenshots(demo_server, page, shots):
    page.set_default_timeout(60_000)
    _sign_in(page, demo_server["url"], "reviewer")
    _select(page, "Template", SLOT_TEMPLATE)
    page.get_by_role("heading", name=re.compile(r"Draft #\d+")).first.wait_for()
    idle(page)
    shots(page, "docs_review_slot_draft")
    # Decide as a reviewer would: approve slot drafts that passed and read well ...
    _select(page, "Checks", "Passed every check")
    for _ in range(3):
        did = _open_draft_id(page)
        page.get_by_role("button", name="Approve", exact=True).click()
        page.get_by_text(f"Draft #{did} approved.").first.wait_for()
        idle(page)
    # ... fix a sentence of one, check it again, approve it ...
    _select(page, "Checks", "any")
    did = _open_draft_id(page)
    body = page.get_by_role("textbox", name="Body")
    text = body.input_value()
    first = text.split("\n\n")[1].split(". ")[0]
    body.fill(text.replace(first, "Thanks for making time for the demo on Tuesday", 1))
    body.press("Control+Enter")
    idle(page)
    page.get_by_role("button", name="Save and check").click()
    page.get_by_text("Edit saved and checked.").first.wait_for(timeout=300_000)
    idle(page)
    page.get_by_role("button", name="Approve", exact=True).click()
    idle(page)
    if page.get_by_role("button", name="Approve anyway").count():
        page.get_by_role("button", name="Back").click()
        idle(page)
    else:
        page.get_by_text(f"Draft #{did} approved.").first.wait_for()
        idle(page)
    # ... and a whole-email draft that failed a check: approving it would need a reason, so
    # the reviewer rejects it, with the reason.
    _select(page, "Template", "after_content_download")
    _select(page, "Checks", "Failed a check")
    did = _open_draft_id(page)
    page.get_by_role("button", name="Approve", exact=True).click()
    page.get_by_role("button", name="Approve anyway").wait_for()
    idle(page)
    shots(page, "docs_review_approve_reason")
    page.get_by_role("button", name="Back").click()
    idle(page)
    page.get_by_role("button", name="Reject").click()
    _select(page, "Reason", "Does not make sense")
    page.get_by_role("button", name="Reject draft").click()
    page.get_by_text(f"Draft #{did} rejected.").first.wait_for()
    idle(page)
    open_page(page, "Dashboard")
    idle(page)
    shots(page, "docs_dashboard")
    copy_to_docs(DOCS)
