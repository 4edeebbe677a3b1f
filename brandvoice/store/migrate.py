"""Bring a database to the newest Alembic revision when the store opens; no alembic.ini needed.

- A database at the newest revision costs one SELECT (alembic is not even imported).
- Otherwise the upgrade runs in one transaction that holds the migration lock, so two processes
  opening a new store at the same moment never both create the tables: SQLite takes the write
  lock (BEGIN IMMEDIATE), PostgreSQL an advisory lock. SQLite runs it with `PRAGMA foreign_keys`
  off (set before BEGIN: the pragma does nothing inside a transaction), as batch migrations copy
  and swap whole tables, and checks the foreign keys before committing.
- A database of the numbered migrations (`schema_version` 4, no `alembic_version`) is stamped at
  revision 0001, which reproduces that schema, then upgraded: its rows are never copied.
- On PostgreSQL the job engine's own tables (Procrastinate) are brought to the installed level in
  the same locked transaction, after the revisions (`queue_schema`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from brandvoice.errors import ConfigError
from brandvoice.store import queue_schema

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# The newest revision in migrations/versions; a test keeps it equal to Alembic's head. It lets an
# up-to-date database open without importing alembic (~0.15 s of every CLI command).
HEAD = "0008"
BASELINE = "0001"  # the revision equal to the last numbered migration
LEGACY_VERSION = 4  # that last numbered migration
# pg_advisory_xact_lock key: any constant that other applications sharing the database do not use.
PG_LOCK_KEY = 0x6272_616E_6476_6F69  # "brandvoi"
# Objects in the database that are not the store's own: the job engine's (store.queue_schema).
FOREIGN_PREFIXES = ("procrastinate_",)


def alembic_config(script_location: Path | str | None = None, url: str | None = None) -> Config:
    """An Alembic Config for the store's revisions (or another script directory, for tests)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(script_location or MIGRATIONS_DIR))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def current(conn: Connection) -> str | None:
    """The database's revision, or None if Alembic never ran on it."""
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


def upgrade(engine: Engine, script_location: Path | str | None = None) -> None:
    """Bring the database to the newest revision (takes over databases of numbered migrations)."""
    if script_location is None:
        with engine.connect() as conn:
            conn = conn.execution_options(brandvoice_read=True)
            if current(conn) == HEAD and queue_schema.is_current(conn):
                return
    from alembic import command
    from alembic.util import CommandError

    cfg = alembic_config(script_location)
    with _locked(engine) as conn:
        cfg.attributes["connection"] = conn
        if _needs_stamp(conn):
            command.stamp(cfg, BASELINE)
        try:
            command.upgrade(cfg, "head")
        except CommandError as exc:
            raise ConfigError(
                f"The database {engine.url.render_as_string(hide_password=True)} is at schema "
                f"revision {current(conn)!r}, which this brandvoice does not know: {exc}",
                hint="It was upgraded by a newer brandvoice: install that version.") from exc
        if script_location is None:
            queue_schema.apply(conn)


@contextmanager
def _locked(engine: Engine) -> Iterator[Connection]:
    """One transaction holding the migration lock (see the module docstring)."""
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            conn.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        try:
            with conn.begin():  # SQLite: BEGIN IMMEDIATE (the store's begin event)
                if conn.dialect.name == "postgresql":
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_LOCK_KEY})
                yield conn
                if sqlite:
                    _check_foreign_keys(conn)
        finally:
            if sqlite:
                conn.connection.driver_connection.execute("PRAGMA foreign_keys=ON")


def _check_foreign_keys(conn: Connection) -> None:
    bad = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
    if bad:
        shown = ", ".join(f"{r[0]} rowid {r[1]} -> {r[2]}" for r in bad[:5])
        raise ConfigError(f"A migration left {len(bad)} broken foreign key(s): {shown}.",
                          hint="Nothing was changed; report this with the revision that ran.")


def _needs_stamp(conn: Connection) -> bool:
    """Whether this is a database of the numbered migrations, to be stamped rather than built."""
    tables = set(sa.inspect(conn).get_table_names())
    if "alembic_version" in tables:
        return False
    if "schema_version" not in tables:
        if tables & {"drafts", "jobs", "audit"}:
            raise ConfigError("The database has brandvoice tables but no record of its schema "
                              "revision (no alembic_version or schema_version table).",
                              hint="Point BRANDVOICE_DB_URL at a brandvoice database or an empty one.")
        return False
    version = conn.exec_driver_sql("SELECT max(version) FROM schema_version").scalar()
    if version != LEGACY_VERSION:
        raise ConfigError(f"The database is at numbered schema version {version}; this brandvoice "
                          f"takes over databases at version {LEGACY_VERSION}.",
                          hint="Open it once with the brandvoice that created it, then again "
                               "with this one.")
    return True
