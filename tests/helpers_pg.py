"""The PostgreSQL server of the store tests (BRANDVOICE_TEST_PG_URL): one fresh database per test.

Each test gets its own database, copied from a template that is migrated once per session
(CREATE DATABASE ... TEMPLATE: ~0.09 s a test on the throwaway server of tests/pg_cluster.sh,
against ~0.13 s for an empty database plus the migrations), so tests share nothing, not even
advisory locks or trigger functions. Every database this session creates carries its prefix, is
owned by the test role, and is dropped at the end, also after a test that left connections open.

Dropping never needs a privilege the test role lacks: `DROP DATABASE ... WITH (FORCE)` refuses
when a backend of another role is connected (an autovacuum worker: "must be a member of the role
whose process is being terminated"). So the fixture ends only its own role's backends
(pg_terminate_backend), then drops without FORCE (PostgreSQL itself stops autovacuum workers in a
database being dropped), retrying while a backend is still on its way out. A database that still
cannot be dropped is reported as a warning and dropped again when the session ends: the fixture's
cleanup never fails a test.
"""

from __future__ import annotations

import itertools
import os
import time
import warnings

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

PG_ENV = "BRANDVOICE_TEST_PG_URL"
HOW = (f"set {PG_ENV}=postgresql+psycopg://user:password@host:port/database (a role allowed to "
       "CREATE DATABASE), or run the tests through `tests/pg_cluster.sh run`")


class Unavailable(Exception):
    """No usable PostgreSQL server; the message says why."""


class PgServer:
    """Creates and drops the per-test databases on the server of BRANDVOICE_TEST_PG_URL."""

    def __init__(self, url: str):
        self.url = sa.engine.make_url(url)
        self.admin = sa.create_engine(self.url, isolation_level="AUTOCOMMIT", poolclass=NullPool,
                                      connect_args={"connect_timeout": 5})
        self.prefix = f"bvtest_{os.getpid()}_"
        self._numbers = itertools.count(1)
        self.template: str | None = None

    @classmethod
    def from_env(cls) -> PgServer:
        """The server named by BRANDVOICE_TEST_PG_URL, checked; raises Unavailable."""
        url = os.environ.get(PG_ENV, "").strip()
        if not url:
            raise Unavailable(HOW)
        try:
            server = cls(url)
            with server.admin.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        except Exception as exc:  # noqa: BLE001 - any failure means: no PostgreSQL for this run
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise Unavailable(f"cannot connect to {server_label(url)} ({first}); {HOW}") from exc
        return server

    def url_of(self, name: str) -> str:
        return self.url.set(database=name).render_as_string(hide_password=False)

    def create(self, *, migrated: bool = True) -> str:
        """A new database (at the newest schema, or empty); returns its URL."""
        if migrated and self.template is None:
            self.template = self._new("template0")
            self._migrate(self.template)
            # CREATE DATABASE refuses a template that anyone is connected to, autovacuum included;
            # it leaves alone a database that allows no connections (as it does template0).
            with self.admin.connect() as conn:
                conn.exec_driver_sql(f'ALTER DATABASE "{self.template}" WITH ALLOW_CONNECTIONS false')
        return self.url_of(self._new(self.template if migrated else "template0"))

    def drop(self, url: str) -> None:
        """Drop one database of this session (even with connections still open)."""
        name = sa.engine.make_url(url).database
        assert name and name.startswith(self.prefix), name
        self._drop(name)

    def close(self) -> None:
        """Drop every database this session left behind, then the template."""
        with self.admin.connect() as conn:
            names = conn.execute(sa.text(  # only the databases this role owns
                "SELECT datname FROM pg_database WHERE datname LIKE :p "
                "AND datdba = (SELECT oid FROM pg_roles WHERE rolname = current_user)"),
                {"p": self.prefix.replace("_", r"\_") + "%"}).scalars().all()
        for name in names:
            self._drop(name)
        self.admin.dispose()

    def _drop(self, name: str, tries: int = 20) -> bool:
        """End this role's backends on `name`, then DROP DATABASE (no FORCE), retrying while
        backends are leaving; False (and a warning) if it is still there."""
        error: Exception | None = None
        for attempt in range(tries):
            try:
                with self.admin.connect() as conn:
                    conn.execute(sa.text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n "
                        "AND usename = current_user AND pid <> pg_backend_pid()"), {"n": name})
                    conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
                return True
            except sa.exc.DBAPIError as exc:  # still in use: a backend on its way out
                error = exc
                time.sleep(min(0.05 * 2 ** attempt, 1.0))
        warnings.warn(f"could not drop the test database {name}: {error}", stacklevel=2)
        return False

    def _new(self, template: str) -> str:
        name = f"{self.prefix}{next(self._numbers)}"
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return name

    def _migrate(self, name: str) -> None:
        from brandvoice.store import migrate

        engine = sa.create_engine(self.url_of(name), poolclass=NullPool)
        try:
            migrate.upgrade(engine)
        finally:
            engine.dispose()


def server_label(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001
        return "the URL in " + PG_ENV
