"""Sessions end on a password change, a reset and a deactivation; the sign-in throttle holds
against parallel guesses from several processes; user names are normalised and refuse control,
bidirectional and invisible characters."""

from __future__ import annotations

import multiprocessing as mp

import pytest
from click.testing import CliRunner

from brandvoice import users as u
from brandvoice.cli import main
from brandvoice.errors import InputError, PermissionDenied
from brandvoice.store import Store, audit

pytestmark = pytest.mark.all_databases
PW = "correct horse"


@pytest.fixture
def team(store, fast_hashes):
    admin = u.add_user(store, "root", PW, "admin")
    return admin, u.add_user(store, "rita", PW, "reviewer", actor=admin)


def test_a_password_reset_ends_every_session_of_that_user(store, team):
    admin, rita = team
    token, other = u.session_token(store, rita), u.session_token(store, admin)
    u.set_password(store, admin, "rita", "a new secret")
    assert u.user_from_session(store, token) is None
    assert u.user_from_session(store, other) == admin
    assert u.authenticate(store, "rita", "a new secret") == rita
    assert u.user_from_session(store, u.session_token(store, rita)) == rita


def test_a_password_change_ends_every_session_this_one_too(store, team):
    _, rita = team
    first, second = u.session_token(store, rita), u.session_token(store, rita)
    with pytest.raises(PermissionDenied, match="Wrong username or password"):
        u.change_password(store, rita, "not it", "another secret")
    assert u.user_from_session(store, first) == rita  # a failed change changes nothing
    u.change_password(store, rita, PW, "another secret")
    assert u.user_from_session(store, first) is None and u.user_from_session(store, second) is None
    with pytest.raises(PermissionDenied):
        u.authenticate(store, "rita", PW)
    assert u.authenticate(store, "rita", "another secret") == rita
    with store.read() as conn:
        events = [r.details for r in conn.execute(audit.select().where(
            audit.c.action == "user_password"))]
    assert events and all(e["sessions_ended"] for e in events)


def test_change_password_from_the_cli(store, team):
    _, rita = team
    token = u.session_token(store, rita)
    res = CliRunner().invoke(main, ["users", "change-password", "--as", "rita", "--password", PW,
                                    "--new-password", "cli secret 1"])
    assert res.exit_code == 0, res.output
    assert u.user_from_session(store, token) is None
    assert u.authenticate(store, "rita", "cli secret 1") == rita


def test_a_deactivation_ends_sessions_at_once(store, team):
    admin, rita = team
    token = u.session_token(store, rita)
    u.set_active(store, admin, "rita", False)
    assert u.user_from_session(store, token) is None
    u.set_active(store, admin, "rita", True)
    assert u.user_from_session(store, token) is None


@pytest.mark.parametrize("name", ["rita\n", "rita\r", "ri\u202eta", "ri\u200bta", "rita\u2066",
                                  "ri\tta", "\u200frita", "rit\u0000a", "ri\u2028ta", " rita"])
def test_user_names_refuse_control_bidi_and_invisible_characters(store, team, name):
    admin, _ = team
    with pytest.raises(InputError) as err:
        u.add_user(store, name, PW, "reviewer", actor=admin)
    assert "username" in str(err.value)
    assert [r["username"] for r in u.list_users(store)] == ["root", "rita"]


def test_user_names_are_normalised_and_unique_whatever_the_case(store, team):
    admin, rita = team
    with pytest.raises(InputError, match="already exists"):
        u.add_user(store, "\uff52\uff49\uff54\uff41", PW, "reviewer", actor=admin)  # full-width
    with pytest.raises(InputError, match="already exists .as 'rita'"):
        u.add_user(store, "Rita", PW, "reviewer", actor=admin)
    assert u.get_user(store, "\uff52\uff49\uff54\uff41") == rita
    assert u.authenticate(store, "\uff52\uff49\uff54\uff41", PW) == rita


def _guess(settings_json: str, password: str, start, out) -> None:
    from brandvoice import users
    from brandvoice.config import Settings

    store = Store(Settings.from_json(settings_json))
    start.wait(60)
    try:
        users.authenticate(store, "rita", password)
        out.put("in")
    except PermissionDenied as exc:
        out.put("throttled" if "Too many" in exc.message else "wrong")


def test_parallel_guesses_from_several_processes_get_past_the_throttle_at_most_five_times(
        store, settings, team, monkeypatch):
    """Eight wrong guesses at once: five are checked, the others refused unchecked."""
    Store.dispose_all()
    ctx = mp.get_context("spawn")
    n = 8
    start, out = ctx.Barrier(n), ctx.Queue()
    procs = [ctx.Process(target=_guess, args=(settings.to_json(), "wrong guess", start, out))
             for _ in range(n)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(300)
    answers = [out.get(timeout=10) for _ in procs]
    assert answers.count("wrong") == u.MAX_FAILURES and answers.count("throttled") == n - 5
    with pytest.raises(PermissionDenied, match="Too many"):
        u.authenticate(store, "rita", PW)
