"""The job engine's own tables on PostgreSQL (Procrastinate), applied where the store opens.

Procrastinate keeps its queue in its own tables, functions and triggers (`procrastinate_*`) and
ships them as one schema script plus numbered migration scripts
(`{xx.yy.zz}_{nn}_{pre|post}_what.sql`); tracking which scripts a database has is left to the
application. Here it is one row of `engine_schemas`: the name of the newest script the database
has. When a store opens on PostgreSQL (`migrate.upgrade`, in the transaction that holds the
migration lock, after the Alembic revisions):

- no `procrastinate_jobs` table: the schema script of the installed Procrastinate is applied and
  its newest migration script's name recorded;
- a recorded level older than the installed package's: the migration scripts after it are applied
  in order (pre before post of each version, as their names sort), then the new level recorded;
- the same level: nothing (a database at both heads opens with two SELECTs);
- a newer level than the installed package knows: refused (install the newer brandvoice);
- the tables without a record (applied by hand, `procrastinate schema --apply`): taken to be at
  the installed level and recorded.

So applying is idempotent, and two processes opening a new database at once apply it once. SQLite
has no job engine (its jobs run in background processes): nothing happens there.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from brandvoice.errors import ConfigError
from brandvoice.store.tables import engine_schemas, utcnow

ENGINE = "procrastinate"
MARKER_TABLE = "procrastinate_jobs"
log = logging.getLogger(__name__)


def package_dir() -> Path | None:
    """The installed Procrastinate's folder (found without importing it), or None."""
    spec = importlib.util.find_spec("procrastinate")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _sql_dir() -> Path:
    where = package_dir()
    if where is None:
        raise ConfigError("The job queue on PostgreSQL needs Procrastinate, which is not installed.",
                          hint="pip install 'brandvoice[postgres]'")
    return where / "sql"


def _scripts() -> list[Path]:
    return sorted((_sql_dir() / "migrations").glob("*.sql"), key=lambda p: p.name)


def installed_level() -> str:
    """The newest migration script the installed Procrastinate ships (its schema's level)."""
    scripts = _scripts()
    return scripts[-1].stem if scripts else "0"


def recorded_level(conn: Connection) -> str | None:
    """The level this database records, or None."""
    if not sa.inspect(conn).has_table(engine_schemas.name):
        return None
    return conn.execute(sa.select(engine_schemas.c.level)
                        .where(engine_schemas.c.engine == ENGINE)).scalar()


def is_current(conn: Connection) -> bool:
    """Whether the database's queue schema is the installed Procrastinate's (always on SQLite)."""
    if conn.dialect.name != "postgresql":
        return True
    return recorded_level(conn) == installed_level()


def _has_tables(conn: Connection) -> bool:
    return conn.exec_driver_sql(f"SELECT to_regclass('{MARKER_TABLE}')").scalar() is not None


def _run_script(conn: Connection, text: str) -> None:
    # Several statements and dollar-quoted function bodies: sent as one simple query by the driver
    # itself (no parameters, so no placeholder is parsed), inside the caller's transaction.
    conn.connection.driver_connection.execute(text)


def apply(conn: Connection) -> str | None:
    """Bring the queue schema to the installed level inside the caller's transaction (which holds
    the migration lock); returns what was done, or None when nothing was to do."""
    if conn.dialect.name != "postgresql":
        return None
    target = installed_level()
    recorded = recorded_level(conn)
    if recorded == target:
        return None
    if recorded is not None and recorded > target:
        raise ConfigError(f"The database's job queue schema is at Procrastinate level {recorded}, "
                          f"newer than the installed Procrastinate knows ({target}).",
                          hint="Install the brandvoice (and Procrastinate) that upgraded it.")
    if not _has_tables(conn):
        _run_script(conn, (_sql_dir() / "schema.sql").read_text(encoding="utf-8"))
        done = f"applied the Procrastinate schema (level {target})"
    elif recorded is None:
        done = f"found Procrastinate tables without a recorded level; taken as {target}"
        log.warning("The database has Procrastinate tables brandvoice did not apply; assuming "
                    "they are at level %s.", target)
    else:
        newer = [p for p in _scripts() if p.stem > recorded]
        for script in newer:
            _run_script(conn, script.read_text(encoding="utf-8"))
        done = f"applied {len(newer)} Procrastinate migration(s) from {recorded} to {target}"
    values = {"level": target, "applied_at": utcnow()}
    if recorded is None:
        conn.execute(engine_schemas.insert().values(engine=ENGINE, **values))
    else:
        conn.execute(engine_schemas.update().where(engine_schemas.c.engine == ENGINE).values(**values))
    return done
