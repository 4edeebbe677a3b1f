"""The PostgreSQL server of the store tests (BRANDVOICE_TEST_PG_URL): one fresh database per test.

Each test gets its own database, copied from a template that is migrated once per session
(CREATE DATABASE ... TEMPLATE: ~0.09 s a test on the throwaway server of tests/pg_cluster.sh,
against ~0.13 s for an empty database plus the migrations), so tests share nothing, not even
advisory locks or trigger functions. Every database this session creates carries its prefix and is
dropped at the end, also after a test that left connections open (DROP DATABASE ... WITH (FORCE)).
"""

from __future__ import annotations

import itertools
import os

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
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        """Drop every database this session left behind, then the template."""
        with self.admin.connect() as conn:
            names = conn.execute(sa.text("SELECT datname FROM pg_database WHERE datname LIKE :p"),
                                 {"p": self.prefix.replace("_", r"\_") + "%"}).scalars().all()
            for name in names:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.admin.dispose()

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
