"""The app shell: sign-in, first admin, navigation by role, fast start (no model import)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from ui_harness import (
    REPO,
    app,
    demo_users,
    fast_passwords,  # noqa: F401 - autouse fixture
    no_exception,
    signed_in,
    texts,
)


def _sign_in(at, username, password):
    at.text_input(key="signin_username").input(username)
    at.text_input(key="signin_password").input(password)
    at.button[0].click()
    return at.run()


def test_sign_in_good_and_bad_password(store):
    demo_users(store)
    at = app().run()
    no_exception(at)
    assert at.text_input(key="signin_username")
    _sign_in(at, "rita", "wrong-password")
    no_exception(at)
    assert any("Wrong username or password" in e for e in texts(at, "error"))
    assert "user" not in at.session_state
    _sign_in(at, "rita", "correct-horse")
    no_exception(at)
    assert at.session_state["user"].role == "reviewer"
    # A reviewer lands on the review queue; the sidebar names the user.
    assert texts(at, "title")[0] == "Review queue"
    assert any("rita" in m for m in texts(at.sidebar, "markdown"))


def test_first_admin_is_offered_on_an_empty_store(store):
    at = app().run()
    no_exception(at)
    assert any("No user exists yet" in i for i in texts(at, "info"))
    at.text_input(key="first_admin_password").input("long-enough-pw")
    at.text_input(key="first_admin_again").input("different-pw!")
    at.button[0].click()
    at.run()
    assert any("differ" in e for e in texts(at, "error"))
    at.text_input(key="first_admin_again").input("long-enough-pw")
    at.button[0].click()
    at.run()
    no_exception(at)
    assert at.session_state["user"].role == "admin"
    from brandvoice import users

    assert users.authenticate(store, "admin", "long-enough-pw").role == "admin"


def test_short_password_for_first_admin_shows_the_core_message(store):
    at = app().run()
    at.text_input(key="first_admin_password").input("short")
    at.text_input(key="first_admin_again").input("short")
    at.button[0].click()
    at.run()
    no_exception(at)
    assert any("at least 8 characters" in e for e in texts(at, "error"))


def test_pages_by_role():
    from brandvoice.ui import nav

    def urls(role):
        return [p.url for p in nav.pages_for(role)]

    assert urls(None) == []
    assert "generate" not in urls("reviewer") and "users" not in urls("reviewer")
    assert urls("marketer")[0] == "generate" and "users" not in urls("marketer")
    assert set(urls("admin")) == {p.url for p in nav.PAGES}


def test_sign_out_forgets_the_user(store):
    _, reviewer, _ = demo_users(store)
    at = signed_in(app(), reviewer)
    at.run()
    at.sidebar.button(key="sign_out").click()
    at.run()
    no_exception(at)
    assert "user" not in at.session_state
    assert at.text_input(key="signin_username")


def test_start_up_imports_no_model_library(home):
    # The first page must paint fast: importing the app's modules may not pull torch & co.
    code = ("import sys; import brandvoice.ui.nav, brandvoice.ui.signin, brandvoice.users; "
            "heavy = [m for m in ('torch', 'transformers', 'peft', 'sentence_transformers', "
            "'bitsandbytes') if m in sys.modules]; print(heavy); sys.exit(1 if heavy else 0)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_demo_users_are_idempotent(store):
    from brandvoice import demo, users

    store.settings.demo_password = "demo-pass-123"  # BRANDVOICE_DEMO_PASSWORD
    first = list(demo.ensure_users(store))
    again = list(demo.ensure_users(store))
    assert sum("Created" in line for line in first) == 3
    assert not any("Created" in line for line in again)
    assert users.authenticate(store, "reviewer", "demo-pass-123").role == "reviewer"
    assert users.authenticate(store, "marketer", "demo-pass-123").role == "marketer"
    assert len(users.list_users(store)) == 3


def test_demo_queue_is_not_seeded_twice(store, settings):
    from helpers_drafts import make_drafts

    from brandvoice import demo

    make_drafts(store, 2, brand=demo.BRAND, created_by="marketer")
    lines = list(demo.seed_queue(store, settings))
    assert lines == ["Review queue: 2 demo drafts already there"]


def test_demo_seed_file_holds_only_contacts_the_template_can_use(settings):
    from brandvoice import crm, demo, prompting

    template = prompting.get_template(demo.SEED_TEMPLATE, settings)
    crm_file, act_file = demo._seed_crm(settings, template, 4)
    result = crm.import_contacts(crm_file, activities=act_file)
    assert len(result.contacts) == 4 and not result.problems
    assert len(prompting.completeness(template, result.contacts)["ok"]) == 4


def test_errors_become_messages_never_tracebacks(monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.delenv("BRANDVOICE_RAISE_ERRORS", raising=False)  # as in production

    def script():
        import streamlit as st

        from brandvoice.errors import InputError, TemplateError
        from brandvoice.ui import common

        with common.errors():
            raise InputError("crm.csv: bad rows", problems=["row 3: invalid email 'x@'"],
                             hint="Fix the rows.")
        with common.errors():
            raise TemplateError("Template t line 4: unexpected '}'", template="t", line=4)
        with common.errors():
            raise ValueError("internal detail")
        st.write("still running")

    at = AppTest.from_function(script, default_timeout=30).run()
    no_exception(at)
    errors = texts(at, "error")
    assert "row 3: invalid email 'x@'" in errors[0] and "How to fix: Fix the rows." in errors[0]
    assert errors[1].startswith("Template error (line 4)")
    assert errors[2].startswith("Something went wrong")
    assert at.expander[0].label == "Details"
    assert "ValueError: internal detail" in texts(at.expander[0], "text")[0]
    assert any("still running" in m for m in texts(at, "markdown"))


def test_empty_prompts_folder_says_what_to_do(store, tmp_path, monkeypatch):
    from ui_harness import page

    from brandvoice.users import User

    monkeypatch.setenv("BRANDVOICE_PROMPTS", str(tmp_path / "none"))
    at = page("templates", User(1, "mark", "marketer")).run()
    no_exception(at)
    assert any("No template in" in i for i in texts(at, "info"))


def test_the_demo_never_copies_past_emails_into_the_queue(store, settings, monkeypatch):
    """No path without the model: past emails as drafts named the wrong download. Seeding off
    (none) leaves the queue empty and says so; a quick-path job of an older version is refused."""
    from brandvoice import demo, jobs, review
    from brandvoice.errors import StateError

    assert not hasattr(demo, "run_quick_job") and not hasattr(demo, "QUICK_LABEL")
    settings.demo_seed = "none"
    lines = list(demo.seed_queue(store, settings, n=3))
    assert "not seeded" in lines[-1] and review.list_queue(store, brand=demo.BRAND)[1] == 0
    old = jobs.create(store, "demo", {"quick_path": True}, created_by="marketer")
    with pytest.raises(StateError, match="older version"):
        demo.run_seed_job(store, old, None)


def test_demo_seed_mode_from_the_environment(monkeypatch):
    from brandvoice.config import Settings
    from brandvoice.errors import ConfigError

    monkeypatch.setenv("BRANDVOICE_DEMO_SEED", "none")
    assert Settings.from_env().demo_seed == "none"
    for gone in ("quick", "fast"):
        monkeypatch.setenv("BRANDVOICE_DEMO_SEED", gone)
        with pytest.raises(ConfigError, match="BRANDVOICE_DEMO_SEED"):
            Settings.from_env()


def test_demo_job_trains_the_adapter_then_generates_with_it(store, settings, tiny_model_dir,
                                                             monkeypatch):

    import sqlalchemy as sa

    from brandvoice import demo, jobs, prompting
    from brandvoice.store import drafts
    from brandvoice.training import adapters
    from brandvoice.training import trainer as train

    # The tiny model stands in for the embedded one: the job logic is what is under test.
    class TinyTrainConfig(train.TrainConfig):
        base_model: str = str(tiny_model_dir)
        quantization: str = "none"
        max_steps: int = 2

    monkeypatch.setattr(train, "TrainConfig", TinyTrainConfig)
    # The tiny tokenizer spends a token per character or so: every slot brief is longer than the
    # tiny model's 1,024 positions, so it learns whole emails (the job's logic is the same).
    monkeypatch.setattr(demo, "DEMO_TRAINING", {**demo.DEMO_TRAINING, "max_steps": 2,
                                                "whole_emails": True})
    settings.demo_seed = "model"
    template = prompting.get_template(demo.SEED_TEMPLATE, settings)
    list(demo.ensure_users(store))  # the demo job generates as the demo marketer
    lines = list(demo.seed_queue(store, settings, n=3, wait=True))
    assert lines[-1].startswith("Review queue: 3 drafts pending"), lines
    (adapter,) = adapters.list_adapters(store, "ledgerly")
    (demo_job,) = jobs.list_jobs(store, "demo")
    gen_id = demo_job["result"]["generate_job"]
    with store.read() as conn:
        rows = conn.execute(sa.select(drafts.c.adapter_id, drafts.c.template_name)
                            .where(drafts.c.job_id == gen_id)).all()
    assert len(rows) == 3 and {r.adapter_id for r in rows} == {adapter.id}
    assert {r.template_name for r in rows} == {template.name}
    assert list(demo.seed_queue(store, settings, n=3)) == [
        f"Review queue: demo job {demo_job['id']} done (3 demo drafts)"]  # not seeded twice


def test_a_reload_keeps_the_session_and_sign_out_ends_it(store, monkeypatch):
    from brandvoice import users
    from brandvoice.ui import common

    demo_users(store)
    at = _sign_in(app().run(), "rita", "correct-horse")
    token = at.session_state["session_token"]
    # The page asked the browser to keep the token (a cookie written by a script on the page).
    script = " ".join(str(h.proto) for h in at.get("html"))
    assert f"brandvoice_session={token}" in script and "SameSite=Strict" in script
    # A reload: a new session whose browser sends the cookie signs in without a password.
    monkeypatch.setattr(common, "browser_token", lambda: token)
    again = app().run()
    no_exception(again)
    assert again.session_state["user"].username == "rita"
    assert texts(again, "title")[0] == "Review queue"
    again.sidebar.button(key="sign_out").click()
    again.run()
    no_exception(again)
    assert "user" not in again.session_state and again.text_input(key="signin_username")
    assert "Max-Age=0" in " ".join(str(h.proto) for h in again.get("html"))  # cookie cleared
    assert users.user_from_session(store, token) is None
    # The old cookie, sent again by another tab or a reload, no longer signs anyone in.
    third = app().run()
    no_exception(third)
    assert "user" not in third.session_state
    assert any("session has ended" in i for i in texts(third, "info"))


def test_deactivation_ends_an_open_session_at_once(store):
    from brandvoice import users

    admin, reviewer, _ = demo_users(store)
    at = signed_in(app(), reviewer).run()
    assert texts(at, "title")[0] == "Review queue"
    users.set_active(store, admin, "rita", False)
    at.run()
    no_exception(at)
    assert "user" not in at.session_state and at.text_input(key="signin_username")
    assert any("session ended" in i for i in texts(at, "info"))


def test_sign_in_page_names_the_demo_password_only_in_a_demo_workspace(store, monkeypatch):
    monkeypatch.setenv("BRANDVOICE_DEMO_PASSWORD", "demo-pass-123")
    demo_users(store)  # a real team: no password on the page
    at = app().run()
    captions = " ".join(texts(at, "caption"))
    assert "demo-pass-123" not in captions and "Ask your admin" in captions
    assert "brandvoice setup" not in captions


def test_demo_workspace_sign_in_hint_names_the_password_not_a_command(store, monkeypatch):
    from brandvoice import demo

    monkeypatch.setenv("BRANDVOICE_DEMO_PASSWORD", "demo-pass-123")  # the app's settings
    store.settings.demo_password = "demo-pass-123"  # the store's, already read
    list(demo.ensure_users(store))
    at = app().run()
    captions = " ".join(texts(at, "caption"))
    assert "demo-pass-123" in captions and "brandvoice setup" not in captions
