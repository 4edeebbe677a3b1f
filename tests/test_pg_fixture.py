"""The PostgreSQL fixture owns what it drops and its cleanup cannot fail a test."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.pool import NullPool


def _exists(server, name: str) -> bool:
    with server.admin.connect() as conn:
        return conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"),
                            {"n": name}).first() is not None


def test_a_database_with_open_connections_and_locks_is_dropped(pg_server):
    url = pg_server.create()
    name = sa.engine.make_url(url).database
    engine = sa.create_engine(url, poolclass=NullPool)
    held = engine.connect()
    held.begin()
    held.exec_driver_sql("LOCK TABLE drafts IN ACCESS EXCLUSIVE MODE")  # a test left this open
    idle = engine.connect()
    try:
        pg_server.drop(url)
        assert not _exists(pg_server, name)
    finally:
        for conn in (held, idle):
            try:
                conn.close()
            except sa.exc.DBAPIError:
                pass  # its backend was ended by the drop
        engine.dispose()


def test_the_fixture_owns_every_database_it_creates(pg_server):
    url = pg_server.create(migrated=False)
    name = sa.engine.make_url(url).database
    try:
        with pg_server.admin.connect() as conn:
            owner = conn.execute(sa.text("SELECT pg_get_userbyid(datdba) = current_user FROM "
                                         "pg_database WHERE datname = :n"), {"n": name}).scalar()
        assert owner is True
    finally:
        pg_server.drop(url)
    assert not _exists(pg_server, name)
