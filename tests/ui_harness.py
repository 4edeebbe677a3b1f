"""Helpers for the Streamlit AppTest tests: run the app or one page as a signed-in user."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parent.parent
APP = str(REPO / "app.py")
TIMEOUT = 60  # the machine is shared; a first run imports pandas/altair


def app() -> AppTest:
    """The whole app (sign-in first)."""
    return AppTest.from_file(APP, default_timeout=TIMEOUT)


def page(module: str, user=None) -> AppTest:
    """One page of brandvoice/ui, with `user` signed in."""
    # Through nav, as app.py runs it (with the page-level safety net).
    at = AppTest.from_string("from brandvoice.ui import nav\n"
                             f"next(p for p in nav.PAGES if p.module == {module!r}).run()\n",
                             default_timeout=TIMEOUT)
    if user is not None:  # a page on its own: nav (which checks the session token) is not run
        at.session_state["user"] = user
    return at


def signed_in(at: AppTest, user) -> AppTest:
    """`user` signed in, as the sign-in page leaves a session (the user and their session token)."""
    from brandvoice import users, workspace
    from brandvoice.config import Settings

    at.session_state["user"] = user
    at.session_state["session_token"] = users.session_token(
        workspace.open_store(Settings.from_env()), user)
    return at


_ESCAPED = re.compile(r"\\([\\`*_\[\]<>$~|#:@.\-+&!(){}])")


def texts(at: AppTest, kind: str) -> list[str]:
    """The values of every element of one kind (error, warning, info, success, markdown...), with
    the pages' markdown escapes of untrusted text removed (the text as the user reads it)."""
    return [_ESCAPED.sub(r"\1", str(e.value)) for e in getattr(at, kind)]


def no_exception(at: AppTest) -> None:
    """Fail if a page raised (AppTest shows it as an exception element)."""
    assert not at.exception, [e.value for e in at.exception]


def demo_users(store):
    """An admin, a reviewer and a marketer (password 'correct-horse')."""
    from brandvoice import users

    admin = users.add_user(store, "admin", "correct-horse", "admin")
    reviewer = users.add_user(store, "rita", "correct-horse", "reviewer", actor=admin)
    marketer = users.add_user(store, "mark", "correct-horse", "marketer", actor=admin)
    return admin, reviewer, marketer


@pytest.fixture(autouse=True)
def fast_passwords(monkeypatch):
    """Cheap argon2 parameters: the UI tests sign in often; the real cost is tested in users."""
    from argon2 import PasswordHasher

    from brandvoice import users

    monkeypatch.setattr(users, "_hasher",
                        lambda: PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
