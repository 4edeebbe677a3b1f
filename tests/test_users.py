"""Users and roles: argon2 hashes, first admin, admin-only user management, role checks in the core."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from brandvoice import users as u
from brandvoice.errors import InputError, PermissionDenied
from brandvoice.store import users as users_table

pytestmark = pytest.mark.all_databases


def test_first_user_must_be_admin_then_admin_required(store):
    with pytest.raises(InputError, match="first user must be an admin"):
        u.add_user(store, "mia", "correct horse", "reviewer")
    admin = u.add_user(store, "root", "correct horse", "admin")
    assert admin.role == "admin" and u.count_users(store) == 1
    with pytest.raises(PermissionDenied, match="needs an admin"):
        u.add_user(store, "mia", "correct horse", "reviewer")
    mia = u.add_user(store, "mia", "correct horse", "reviewer", actor=admin)
    with pytest.raises(PermissionDenied, match="only admins can add users"):
        u.add_user(store, "max", "correct horse", "marketer", actor=mia)
    with pytest.raises(InputError, match="already exists"):
        u.add_user(store, "mia", "correct horse", "reviewer", actor=admin)
    assert [r["username"] for r in u.list_users(store)] == ["root", "mia"]
    assert "password_hash" not in u.list_users(store)[0]


def test_two_first_users_at_once_make_one_admin(store, monkeypatch):
    # The first user needs no admin: two of them at once must not both get in (PostgreSQL reads
    # under READ COMMITTED, so the count of users is taken under a lock).
    import threading
    import time

    slow_audit = store.audit

    def audit(conn, action, **kw):
        time.sleep(0.3)  # inside the transaction, after the insert: the other one counts now
        return slow_audit(conn, action, **kw)

    monkeypatch.setattr(store, "audit", audit)
    barrier, results = threading.Barrier(2), {}

    def add(name):
        barrier.wait()
        try:
            results[name] = u.add_user(store, name, "correct horse", "admin").role
        except PermissionDenied as exc:
            results[name] = exc.message

    threads = [threading.Thread(target=add, args=(n,)) for n in ("root", "eve")]
    [t.start() for t in threads]
    [t.join(60) for t in threads]
    assert sorted(results.values()) == ["Adding a user needs an admin.", "admin"]
    assert u.count_users(store) == 1


def test_bad_input_lists_every_problem(store):
    with pytest.raises(InputError) as err:
        u.add_user(store, "x", "short", "boss")
    text = str(err.value)
    assert "username 'x'" in text and "at least 8" in text and "role 'boss'" in text


def test_password_is_hashed_with_argon2_and_checked(store):
    u.add_user(store, "root", "correct horse", "admin")
    with store.read() as conn:
        stored = conn.execute(sa.select(users_table.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    assert u.authenticate(store, "root", "correct horse").username == "root"
    with pytest.raises(PermissionDenied, match="Wrong username or password"):
        u.authenticate(store, "root", "wrong horse!")
    with pytest.raises(PermissionDenied, match="Wrong username or password"):
        u.authenticate(store, "nobody", "correct horse")


def test_rehash_on_login_when_parameters_change(store):
    from argon2 import PasswordHasher

    u.add_user(store, "root", "correct horse", "admin")
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("correct horse")
    with store.tx() as conn:
        conn.execute(users_table.update().values(password_hash=weak))
    u.authenticate(store, "root", "correct horse")
    with store.read() as conn:
        now = conn.execute(sa.select(users_table.c.password_hash)).scalar_one()
    assert now != weak and not PasswordHasher().check_needs_rehash(now)


def test_deactivated_user_and_forged_role_are_refused(store):
    admin = u.add_user(store, "root", "correct horse", "admin")
    max_ = u.add_user(store, "max", "correct horse", "marketer", actor=admin)
    forged = u.User(max_.id, "max", "admin")  # a caller cannot raise its own role
    with pytest.raises(PermissionDenied, match="is a marketer"):
        u.add_user(store, "eve", "correct horse", "admin", actor=forged)
    u.set_active(store, admin, "max", False)
    with pytest.raises(PermissionDenied, match="deactivated"):
        u.authenticate(store, "max", "correct horse")
    with store.read() as conn, pytest.raises(PermissionDenied, match="deactivated"):
        u.require_role(conn, max_, "marketer", action="export")


def test_authenticate_env(store):
    u.add_user(store, "root", "correct horse", "admin")
    with pytest.raises(PermissionDenied, match="needs a signed-in user"):
        u.authenticate_env(store)
    store.settings.user, store.settings.password = "root", "correct horse"  # BRANDVOICE_USER, ...
    assert u.authenticate_env(store).role == "admin"
    from brandvoice.config import Settings

    env = Settings.from_env(user="root", password="correct horse")
    assert env.password.get_secret_value() == "correct horse" and "correct" not in repr(env)


def test_cli_users_add_and_list(store, monkeypatch):
    from click.testing import CliRunner

    from brandvoice.cli import main

    runner = CliRunner()
    r = runner.invoke(main, ["users", "add", "root"], input="correct horse\ncorrect horse\n")
    assert r.exit_code == 0, r.output
    assert "Added admin root (first admin)." in r.output
    r = runner.invoke(main, ["users", "add", "mia", "--role", "reviewer", "--user-password",
                             "another pass", "--as", "root"], input="wrong password\n")
    assert r.exit_code == 1 and "Wrong username or password for 'root'" in r.output
    r = runner.invoke(main, ["users", "add", "mia", "--role", "reviewer", "--user-password",
                             "another pass"], env={"BRANDVOICE_USER": "root",
                                                   "BRANDVOICE_PASSWORD": "correct horse"})
    assert r.exit_code == 0, r.output
    r = runner.invoke(main, ["users", "list"])
    assert "root" in r.output and "reviewer" in r.output and "argon2" not in r.output


def test_sign_in_is_throttled_per_username_in_the_store(store, fast_hashes):
    from brandvoice.store import login_throttle

    admin = u.add_user(store, "root", "correct horse", "admin")
    u.add_user(store, "mia", "correct horse", "reviewer", actor=admin)
    for _ in range(u.MAX_FAILURES):
        with pytest.raises(PermissionDenied, match="Wrong username or password"):
            u.authenticate(store, "mia", "wrong password")
    # the right password is refused too until the window has passed, with the wait to expect
    with pytest.raises(PermissionDenied, match=r"Too many failed sign-ins for 'mia' .*try again in "
                                               r"1[45] minutes"):
        u.authenticate(store, "mia", "correct horse")
    with pytest.raises(PermissionDenied, match="Too many"):  # another spelling of the name too
        u.authenticate(store, "MIA", "correct horse")
    assert u.authenticate(store, "root", "correct horse").username == "root"  # per username
    for _ in range(u.MAX_FAILURES):  # unknown usernames are throttled alike (no enumeration)
        with pytest.raises(PermissionDenied, match="Wrong username"):
            u.authenticate(store, "ghost", "x")
    with pytest.raises(PermissionDenied, match="Too many failed sign-ins for 'ghost'"):
        u.authenticate(store, "ghost", "x")
    with store.tx() as conn:  # the window passes
        conn.execute(login_throttle.update().where(login_throttle.c.username == "mia")
                     .values(window_start="2000-01-01T00:00:00.000000Z"))
    assert u.authenticate(store, "mia", "correct horse").role == "reviewer"
    with store.read() as conn:  # a success forgets the failures
        assert conn.execute(sa.select(sa.func.count()).select_from(login_throttle)
                            .where(login_throttle.c.username == "mia")).scalar() == 0


def test_admin_sets_roles_and_passwords_audited(store, fast_hashes):
    from brandvoice.store import audit

    admin = u.add_user(store, "root", "correct horse", "admin")
    mia = u.add_user(store, "mia", "correct horse", "reviewer", actor=admin)
    with pytest.raises(PermissionDenied, match="only admins can change roles"):
        u.set_role(store, mia, "mia", "admin")
    with pytest.raises(PermissionDenied, match="only admins can set passwords"):
        u.set_password(store, mia, "root", "new password 1")
    u.set_role(store, admin, "mia", "marketer")
    u.set_password(store, admin, "mia", "new password 1")
    assert u.authenticate(store, "mia", "new password 1").role == "marketer"
    with pytest.raises(InputError, match="own admin role"):
        u.set_role(store, admin, "root", "reviewer")
    with store.read() as conn:
        actions = [r[0] for r in conn.execute(sa.select(audit.c.action).order_by(audit.c.id))]
    assert actions[-2:] == ["user_role", "user_password"]


def test_cli_user_administration_and_review_policy(store, fast_hashes):
    from click.testing import CliRunner

    from brandvoice import review
    from brandvoice.cli import main

    admin = u.add_user(store, "root", "correct horse", "admin")
    u.add_user(store, "mia", "correct horse", "reviewer", actor=admin)
    root = {"BRANDVOICE_USER": "root", "BRANDVOICE_PASSWORD": "correct horse"}
    mia = {"BRANDVOICE_USER": "mia", "BRANDVOICE_PASSWORD": "correct horse"}
    runner = CliRunner()
    r = runner.invoke(main, ["settings", "show"])
    assert r.exit_code == 0 and "allow-self-approval:     no" in r.output and "defaults" in r.output
    r = runner.invoke(main, ["settings", "set", "--allow-own-edit-approval"], env=mia)
    assert r.exit_code == 1 and "only admins can set the review policy" in r.output
    r = runner.invoke(main, ["settings", "set", "--allow-own-edit-approval"], env=root)
    assert r.exit_code == 0 and "allow-own-edit-approval: yes" in r.output and "set by root" in r.output
    assert review.get_review_policy(store)["allow_own_edit_approval"] is True
    assert review.get_review_policy(store)["allow_self_approval"] is False  # kept as it was
    r = runner.invoke(main, ["users", "set-role", "mia", "marketer"], env=mia)
    assert r.exit_code == 1 and "only admins can change roles" in r.output
    r = runner.invoke(main, ["users", "set-role", "mia", "marketer"], env=root)
    assert r.exit_code == 0 and u.get_user(store, "mia").role == "marketer"
    r = runner.invoke(main, ["users", "set-password", "mia", "--user-password", "fresh password"],
                      env=root)
    assert r.exit_code == 0 and u.authenticate(store, "mia", "fresh password")
    r = runner.invoke(main, ["users", "deactivate", "mia"], env=root)
    assert r.exit_code == 0
    with pytest.raises(PermissionDenied, match="deactivated"):
        u.authenticate(store, "mia", "fresh password")
    r = runner.invoke(main, ["users", "activate", "mia"], env=root)
    assert r.exit_code == 0 and u.authenticate(store, "mia", "fresh password")
