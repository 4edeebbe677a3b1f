"""The browser tests' fixtures: a seeded workspace, `streamlit run app.py`, headless Chromium."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from e2e_support import (  # noqa: E402
    CHROMIUM,
    PASSWORD,
    REPO,
    SCREENSHOTS,
    serve_app,
    skip_reason,
)

sys.path.insert(0, str(REPO / "tests"))


def _history(store, admin, reviewer, marketer) -> None:
    """Three adapter versions' worth of reviewed, exported drafts over past days (dashboard data).

    Reviews go through the core (edit, approve, reject, export); only the dates, adapter versions
    and tone scores are set directly, to spread them like a few weeks of real use.
    """
    import random

    import sqlalchemy as sa
    from helpers_drafts import make_drafts, mark_checked

    from brandvoice import delivery as export
    from brandvoice import review
    from brandvoice.store import adapters, drafts, reviews

    rng = random.Random(7)
    for version, edit_words, reject_every in ((1, 14, 3), (2, 7, 4), (3, 2, 6)):
        ids = make_drafts(store, 16, verdicts=("pass", "warn", "pass"), brand="Ledgerly",
                          template="after_content_download", created_by=marketer.username,
                          email_domain=f"v{version}.example.com")
        with store.tx() as conn:
            aid = conn.execute(sa.select(adapters.c.id).where(
                adapters.c.name == "Ledgerly", adapters.c.version == version)).scalar()
            if aid is None:
                aid = conn.execute(adapters.insert().values(
                    name="Ledgerly", version=version, base_model="smollm2-135m-instruct",
                    quantization="nf4", data_hash=f"{version}" * 64, hyperparameters={},
                    selection={}, metrics={}, status="ready", path=f"/tmp/Ledgerly/v{version}",
                    created_at="2026-11-01T00:00:00.000000Z")).inserted_primary_key[0]
            for i, did in enumerate(ids):
                day = f"2026-11-{3 * version + i % 3 + 1:02d}T1{i % 10}:00:00.000000Z"
                conn.execute(drafts.update().where(drafts.c.id == did).values(
                    adapter_id=aid, adapter_label=f"Ledgerly v{version}", created_at=day,
                    tone_score=round(min(0.95, max(0.3, rng.gauss(0.55 + 0.1 * version, 0.08))), 3)))
        reasons = list(review.REASON_CODES)
        for i, did in enumerate(ids):
            d = review.get_draft(store, did)
            if i % reject_every == 0:
                review.reject(store, reviewer, did, expected_version=d["row_version"],
                              reason_code=reasons[i % len(reasons)],
                              reason_text="The offer does not fit this contact.")
                continue
            words = d["body"].split(" ")
            for k in range(min(edit_words + i % 3, len(words) - 1)):
                words[k * 2 % len(words)] = words[k * 2 % len(words)].upper()
            # The admin edits, the edit is checked, the reviewer approves (nobody approves their
            # own edit under the default review policy).
            r = review.edit(store, admin, did, subject=d["subject"], body=" ".join(words),
                            expected_version=d["row_version"])
            mark_checked(store, [did])
            review.approve(store, reviewer, did, expected_version=r["row_version"])
        with store.tx() as conn:  # each version reviewed in its own week (Nov 5-7, 12-14, 19-21)
            for i, did in enumerate(ids):
                conn.execute(reviews.update().where(reviews.c.draft_id == did).values(
                    created_at=f"2026-11-{7 * version + i % 3 - 2:02d}T17:00:00.000000Z"))
    out = store.settings.exports_dir / "history-generic.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    export.export(store, marketer, "generic", out)


def _seed(home: Path) -> dict:
    """Users, a reviewed history and pending drafts, written through the core (no model needed)."""
    from helpers_drafts import make_drafts

    from brandvoice import users
    from brandvoice.config import Settings
    from brandvoice.store import Store

    store = Store(Settings(home=home))
    admin = users.add_user(store, "admin", PASSWORD, "admin")
    reviewer = users.add_user(store, "rita", PASSWORD, "reviewer", actor=admin)
    marketer = users.add_user(store, "mark", PASSWORD, "marketer", actor=admin)
    _history(store, admin, reviewer, marketer)
    ids = make_drafts(store, 12, verdicts=("pass", "warn", "pass", "fail"), brand="Ledgerly",
                      template="after_content_download", created_by="mark")
    # The history's adapters are records from elsewhere: their folders are not on this machine,
    # and a ready adapter without its folder cannot build the brand's tone check.
    import sqlalchemy as sa

    from brandvoice.store import adapters

    with store.tx() as conn:
        conn.execute(sa.update(adapters).values(status="archived"))
    Store.dispose_all()
    return {"draft_ids": ids}


@pytest.fixture(scope="session")
def app_server(tmp_path_factory):
    """`streamlit run app.py` on a free port with a seeded temporary BRANDVOICE_HOME."""
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    home = tmp_path_factory.mktemp("e2e") / "home"
    seeded = _seed(home)
    # The tiny model (built in code, two layers) stands in for the embedded base model, so that
    # training and generating in the browser take seconds; the guardrails' embedder is the real one.
    from helpers_models import build_tiny_model

    tiny = build_tiny_model(tmp_path_factory.mktemp("e2e-tiny-model"))
    env = dict(os.environ, BRANDVOICE_HOME=str(home), HF_HUB_OFFLINE="1",
               TRANSFORMERS_OFFLINE="1", PYTHONUNBUFFERED="1", BRANDVOICE_BASE_MODEL=str(tiny),
               BRANDVOICE_QUANTIZATION="none",
               # the real embedder's converted copy, shared with the other runs
               BRANDVOICE_MODELS_DIR=str(REPO / ".brandvoice" / "models"))
    env.pop("BRANDVOICE_DB_URL", None)
    with serve_app(home, env) as server:
        yield {**server, "home": home, **seeded}


@pytest.fixture(scope="session")
def browser(app_server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        yield b
        b.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    if call.when == "call":
        item.failed_call = outcome.get_result().failed


@pytest.fixture
def page(browser, app_server, request):
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, accept_downloads=True)
    context.set_default_timeout(30_000)
    pg = context.new_page()
    yield pg
    if getattr(request.node, "failed_call", False):  # what the browser showed when it failed
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        pg.screenshot(path=str(SCREENSHOTS / f"failed_{request.node.name}.png"), full_page=True)
    context.close()


@pytest.fixture(scope="session")
def shots():
    """Save a full-page screenshot under tests/e2e/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def save(page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.wait_for_timeout(600)  # let charts finish drawing
        # Streamlit scrolls inside its main container, so grow the window to the content instead.
        height = page.evaluate("() => { const m = document.querySelector('[data-testid=stMain]');"
                               " return m ? m.scrollHeight : document.body.scrollHeight; }")
        size = page.viewport_size
        page.set_viewport_size({"width": size["width"], "height": max(size["height"],
                                                                      min(int(height), 4000))})
        page.wait_for_timeout(400)
        page.screenshot(path=str(path), full_page=True)
        page.set_viewport_size(size)
        return path
    return save
