"""Shared fixtures: a temporary workspace for every test, the store on SQLite or PostgreSQL, a tiny
model built in code, a fake embedder, and `plugged` to plug test doubles in as a user plugs in a
backend, a guard, an embedder or a job runner.

Every test runs in its own temporary BRANDVOICE_HOME with no other BRANDVOICE_* setting of the shell
that started pytest (`workspace`, autouse): no test reads a developer's workspace. Tests marked
`integration` or `e2e` use the real embedded models and get the shared converted models folder
(<repo>/.brandvoice/models, filled by `brandvoice setup`): marking a test is how it asks for them.

A module (or test) marked `all_databases` runs each test that uses the store once on SQLite and
once on PostgreSQL (ids `[sqlite]` and `[postgresql]`); the PostgreSQL runs need a server
(BRANDVOICE_TEST_PG_URL, see tests/helpers_pg.py) and are skipped, with the reason, without one.
BRANDVOICE_TEST_DB=postgresql puts every other test that uses the store on PostgreSQL as well:
the whole suite on the server, a slower check before a release.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers_env import TEST_VARIABLES
from helpers_models import FakeEmbedder, build_tiny_model
from helpers_pg import PG_ENV, PgServer, Unavailable, server_label

REPO = Path(__file__).resolve().parent.parent
# Converted embedded models, shared between test runs (converted once by `brandvoice setup`).
SHARED_MODELS = REPO / ".brandvoice" / "models"
# The shell's settings are gone for the whole run (session fixtures included), not only per test.
for _name in [n for n in os.environ if n.startswith("BRANDVOICE_") and n not in TEST_VARIABLES]:
    del os.environ[_name]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# An unexpected exception in a CLI command fails the test with its traceback, rather than
# becoming the short message a user sees (cli.base.BrandvoiceGroup; the e2e servers inherit it).
os.environ.setdefault("BRANDVOICE_RAISE_ERRORS", "1")


@pytest.fixture(autouse=True)
def workspace(request, tmp_path, monkeypatch) -> Path:
    """Every test's own BRANDVOICE_HOME (and database), with no other setting from the shell."""
    for name in list(os.environ):
        if name.startswith("BRANDVOICE_") and name not in TEST_VARIABLES:
            monkeypatch.delenv(name)
    h = tmp_path / "bvhome"
    monkeypatch.setenv("BRANDVOICE_HOME", str(h))
    monkeypatch.setenv("BRANDVOICE_RAISE_ERRORS", "1")
    if request.node.get_closest_marker("integration") or request.node.get_closest_marker("e2e"):
        monkeypatch.setenv("BRANDVOICE_MODELS_DIR", str(SHARED_MODELS))
    return h


@pytest.fixture
def home(workspace) -> Path:
    """The test's BRANDVOICE_HOME."""
    return workspace


@pytest.fixture
def plugged():
    """plug(kind, name, factory): register a test double under `name` the way a user plugs in
    their own (kind: backend, guard, embedder or runner); unregistered after the test."""
    from brandvoice import jobs
    from brandvoice.generation import backends, guards
    from brandvoice.guardrails import embedder

    registries = {"backend": (backends.register, backends.unregister),
                  "guard": (guards.register, guards.unregister),
                  "embedder": (embedder.register, embedder.unregister),
                  "runner": (jobs.register_runner, jobs.unregister_runner)}
    undo = []

    def plug(kind: str, name: str, factory):
        register, unregister = registries[kind]
        register(name, factory)
        undo.append(lambda: unregister(name))
        return factory

    yield plug
    for step in reversed(undo):
        step()


DATABASES = ("sqlite", "postgresql")


def pytest_generate_tests(metafunc):
    if "database" in metafunc.fixturenames and metafunc.definition.get_closest_marker("all_databases"):
        metafunc.parametrize("database", DATABASES, indirect=True)


def pytest_terminal_summary(terminalreporter):
    """One line on the PostgreSQL runs, which `-q` does not list: how many ran, and how."""
    outcome: dict[str, str] = {}
    reasons = []
    for key in ("passed", "skipped", "failed", "error"):  # a later key wins: error over passed
        for report in terminalreporter.stats.get(key, []):
            if "[postgresql" in getattr(report, "nodeid", ""):
                outcome[report.nodeid] = key
                if key == "skipped" and isinstance(report.longrepr, tuple):
                    reasons.append(report.longrepr[2].removeprefix("Skipped: "))
    if outcome:
        counts = {k: list(outcome.values()).count(k) for k in ("passed", "failed", "error", "skipped")}
        url = os.environ.get(PG_ENV)
        line = (f"PostgreSQL runs of the store tests{f' on {server_label(url)}' if url else ''}: "
                + ", ".join(f"{n} {k}" for k, n in counts.items() if n))
        if reasons and not counts["passed"]:
            line += f" ({reasons[0]})"
        terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def pg_server():
    """The PostgreSQL server of BRANDVOICE_TEST_PG_URL; skips the test when there is none."""
    try:
        server = PgServer.from_env()
    except Unavailable as exc:
        pytest.skip(f"PostgreSQL not available: {exc}")
    yield server
    server.close()


@pytest.fixture
def database(request, home, monkeypatch) -> str:
    """The store's database for one test: "sqlite" (a file in the temp home; the default unless
    BRANDVOICE_TEST_DB says otherwise) or "postgresql" (a fresh database, named in
    BRANDVOICE_DB_URL, at the newest schema; empty for tests marked `blank_database`)."""
    from brandvoice.store import Store

    kind = getattr(request, "param", os.environ.get("BRANDVOICE_TEST_DB", "sqlite"))
    url = None
    if kind == "postgresql":
        server = request.getfixturevalue("pg_server")
        url = server.create(migrated=request.node.get_closest_marker("blank_database") is None)
        monkeypatch.setenv("BRANDVOICE_DB_URL", url)
    yield kind
    Store.dispose_all()
    if url:
        server.drop(url)


@pytest.fixture
def settings(home, database):
    from brandvoice.config import Settings

    return Settings.from_env()


@pytest.fixture
def store(settings):
    from brandvoice.store import Store

    s = Store(settings)
    yield s
    Store.dispose_all()


PASSWORD = "correct horse"  # the password of the `people` fixture's users


@pytest.fixture
def fast_hashes(monkeypatch):
    """Cheap argon2 parameters, for tests that are about review or export, not hashing cost."""
    from argon2 import PasswordHasher

    from brandvoice import users

    monkeypatch.setattr(users, "_hasher", lambda: PasswordHasher(time_cost=1, memory_cost=1024))


@pytest.fixture
def demo_people(store):
    """The app's demo users, as the pages' tests sign in: (admin, reviewer "rita", marketer
    "mark"), password "correct-horse"."""
    from ui_harness import demo_users

    return demo_users(store)


@pytest.fixture
def people(store, fast_hashes):
    """An admin, two reviewers and a marketer (password PASSWORD)."""
    from brandvoice import users as u

    admin = u.add_user(store, "root", PASSWORD, "admin")
    return {"admin": admin,
            "rev": u.add_user(store, "rita", PASSWORD, "reviewer", actor=admin),
            "rev2": u.add_user(store, "rob", PASSWORD, "reviewer", actor=admin),
            "mkt": u.add_user(store, "marketer1", PASSWORD, "marketer", actor=admin)}


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """Path of a tiny local model folder (usable anywhere a base model name is accepted)."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny-model"))


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()
