"""The database: one schema for adapters, jobs, contacts, drafts, guardrails, reviews, exports, audit.

SQLite (WAL mode) under BRANDVOICE_HOME by default; any SQLAlchemy URL (PostgreSQL) by setting.
Schema changes are Alembic revisions applied when the store opens (`migrate`). Multi-row writes go
through `Store.tx()`, one transaction.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from brandvoice.config import Settings
from brandvoice.errors import ConfigError, StateError
from brandvoice.store import migrate
from brandvoice.store.tables import audit, utcnow

# How long a writer waits for another writer's lock on SQLite before it gives up and says so.
BUSY_TIMEOUT_S = 30.0


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's own handling defers it).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def busy_error(exc: BaseException, url: str) -> StateError | None:
    """A StateError for "the database is locked by another writer" (after waiting), else None."""
    text = str(getattr(exc, "orig", exc)).lower()
    if "database is locked" not in text and "database is busy" not in text:
        return None
    where = sa.engine.make_url(url).database if url.startswith("sqlite") else "the database"
    return StateError(f"The database {where} is locked by another writer: waited "
                      f"{BUSY_TIMEOUT_S:g} s for it, nothing was changed.",
                      hint="Another brandvoice process (a running job, an import) is writing; try "
                           "again when it has finished.")


def _json_dumps(value: Any) -> str:
    """JSON for the JSON columns; NaN and infinities become null, as PostgreSQL's json type refuses
    them (a diverged training loss must not fail the job), and SQLite stores the same."""
    try:
        return json.dumps(value, allow_nan=False)
    except ValueError:
        return json.dumps(_finite(value), allow_nan=False)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def audit_row(action: str, *, actor: str | None, draft_id: int | None, created_at: str | None = None,
              **details: Any) -> dict[str, Any]:
    """One audit event as a row of the audit table (details made JSON-able)."""
    return {"draft_id": draft_id, "actor": actor, "action": action,
            "details": json.loads(json.dumps(details, default=str)),
            "created_at": created_at or utcnow()}


def append_audit(conn: Connection, action: str, *, actor: str | None = None,
                 draft_id: int | None = None, **details: Any) -> None:
    """Append one audit event inside the caller's transaction."""
    conn.execute(audit.insert().values(**audit_row(action, actor=actor, draft_id=draft_id,
                                                   **details)))


def _sqlite_begin(conn: Connection) -> None:
    read_only = conn.get_execution_options().get("brandvoice_read", False)
    conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


class Store:
    """A handle on the database; cheap to create, brought to the newest schema on first open."""

    _engines: dict[str, Engine] = {}
    _lock = threading.Lock()

    def __init__(self, settings: Settings | None = None):
        self.settings = settings or Settings.from_env()
        self.url = self.settings.db_url or ""
        self.engine = self._engine(self.url)

    @classmethod
    def _engine(cls, url: str) -> Engine:
        with cls._lock:
            engine = cls._engines.get(url)
            if engine is None:
                engine = cls._make_engine(url)
                try:
                    migrate.upgrade(engine)
                except sa.exc.OperationalError as exc:
                    engine.dispose()
                    busy = busy_error(exc, url)
                    if busy is None:
                        raise
                    raise busy from exc
                except BaseException:
                    engine.dispose()
                    raise
                cls._engines[url] = engine
            return engine

    @staticmethod
    def _make_engine(url: str) -> Engine:
        try:
            parsed = sa.engine.make_url(url)
        except Exception as exc:  # noqa: BLE001 - any parse failure is a config error
            raise ConfigError(f"BRANDVOICE_DB_URL {url!r} is not a database URL: {exc}",
                              hint="Use sqlite:///path/to/file.db or postgresql+psycopg://...") from exc
        if parsed.get_backend_name() == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            engine = sa.create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S,
                                                         "check_same_thread": False},
                                      json_serializer=_json_dumps)
            sa.event.listen(engine, "connect", _sqlite_pragmas)
            # Writers take the write lock up front so that read-then-write transactions cannot
            # deadlock into "database is locked"; readers (Store.read) take none.
            sa.event.listen(engine, "begin", _sqlite_begin)
            return engine
        try:
            return sa.create_engine(url, pool_pre_ping=True, json_serializer=_json_dumps)
        except ImportError as exc:
            raise ConfigError(f"The database driver for {parsed.get_backend_name()} is missing: {exc}",
                              hint="pip install 'brandvoice[postgres]'") from exc

    def version(self) -> str | None:
        """The database's schema revision (the Alembic revision id, e.g. "0001")."""
        with self.read() as conn:
            return migrate.current(conn)

    @contextmanager
    def tx(self) -> Iterator[Connection]:
        """One transaction: committed on success, rolled back on any error."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except sa.exc.OperationalError as exc:
            busy = busy_error(exc, self.url)
            if busy is None:
                raise
            raise busy from exc

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for reads (no write lock taken on SQLite)."""
        try:
            with self.engine.connect() as conn:
                yield conn.execution_options(brandvoice_read=True)
        except sa.exc.OperationalError as exc:
            busy = busy_error(exc, self.url)
            if busy is None:
                raise
            raise busy from exc

    @staticmethod
    def lock(conn: Connection, name: str) -> None:
        """Serialise, until they end, the transactions that take the lock `name`.

        For a read-then-write that must see the last writer's rows (the first user, the next
        adapter version). SQLite's writers already run one at a time (BEGIN IMMEDIATE); PostgreSQL's
        READ COMMITTED would let two of them read the same state, so it takes an advisory lock.
        """
        if conn.dialect.name == "postgresql":
            key = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big",
                                 signed=True)
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})

    def audit(self, conn: Connection, action: str, *, actor: str | None = None,
              draft_id: int | None = None, **details: Any) -> None:
        """Append one audit event inside the caller's transaction."""
        append_audit(conn, action, actor=actor, draft_id=draft_id, **details)

    @classmethod
    def dispose_all(cls) -> None:
        """Close every pooled engine (tests and forked workers)."""
        with cls._lock:
            for engine in cls._engines.values():
                engine.dispose()
            cls._engines.clear()
