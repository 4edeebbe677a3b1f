"""Browser sessions: signed, expiring tokens checked against the store on every load."""

from __future__ import annotations

import stat

import pytest

from brandvoice import users as u

pytestmark = pytest.mark.all_databases


@pytest.fixture
def team(store, fast_hashes):
    admin = u.add_user(store, "root", "correct horse", "admin")
    return admin, u.add_user(store, "rita", "correct horse", "reviewer", actor=admin)


def test_a_token_signs_its_user_in_again(store, team):
    _, rita = team
    token = u.session_token(store, rita)
    assert u.user_from_session(store, token) == rita
    secret = store.settings.home / "session.key"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert u.user_from_session(store, token + "x") is None  # tampered
    assert u.user_from_session(store, "") is None and u.user_from_session(store, None) is None


def test_a_token_expires(store, team, monkeypatch):
    import time

    _, rita = team
    token = u.session_token(store, rita)
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + u.SESSION_MAX_AGE + 60)
    assert u.user_from_session(store, token) is None


def test_sign_out_revokes_every_token_of_the_user(store, team):
    admin, rita = team
    first, second = u.session_token(store, rita), u.session_token(store, rita)
    other = u.session_token(store, admin)
    u.end_sessions(store, rita)
    assert u.user_from_session(store, first) is None and u.user_from_session(store, second) is None
    assert u.user_from_session(store, other) == admin  # other users stay signed in
    assert u.user_from_session(store, u.session_token(store, rita)) == rita  # a new sign-in works


def test_deactivation_ends_sessions_even_after_reactivation(store, team):
    admin, rita = team
    token = u.session_token(store, rita)
    u.set_active(store, admin, "rita", False)
    assert u.user_from_session(store, token) is None
    with pytest.raises(Exception, match="deactivated"):
        u.session_token(store, rita)
    u.set_active(store, admin, "rita", True)
    assert u.user_from_session(store, token) is None


def test_the_role_is_read_from_the_store(store, team):
    import sqlalchemy as sa

    from brandvoice.store import users as table

    _, rita = team
    token = u.session_token(store, rita)
    with store.tx() as conn:
        conn.execute(table.update().where(table.c.id == rita.id).values(role="marketer"))
    assert u.user_from_session(store, token).role == "marketer"
    with store.tx() as conn:
        conn.execute(sa.delete(table).where(table.c.id == rita.id))
    assert u.user_from_session(store, token) is None


def test_another_workspace_does_not_accept_the_token(store, team, tmp_path, monkeypatch):
    from brandvoice.config import Settings
    from brandvoice.store import Store

    _, rita = team
    token = u.session_token(store, rita)
    monkeypatch.setenv("BRANDVOICE_HOME", str(tmp_path / "elsewhere"))
    monkeypatch.delenv("BRANDVOICE_DB_URL", raising=False)
    other = Store(Settings.from_env())
    u.add_user(other, "root", "correct horse", "admin")
    u.add_user(other, "rita", "correct horse", "reviewer", actor=u.get_user(other, "root"))
    assert u.user_from_session(other, token) is None  # another secret
