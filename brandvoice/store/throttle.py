"""Counted attempts per key (sign-ins per username), taken atomically across processes.

    with store.tx() as conn:
        left = throttle.take(conn, "rita", limit=5, window_min=15)   # None: none left
    ...
        throttle.give_back(conn, "rita")                                # a success

An attempt is taken with one conditional UPDATE (`failures = failures + 1 WHERE failures < limit`)
before the work it guards: the UPDATE locks the row and checks the count it finds, so parallel
attempts can never take more than `limit` (a count read first, then written, let all through).
A window starts with the first attempt after the last one ended.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from brandvoice.store.tables import login_throttle

_FMT = "%Y-%m-%dT%H:%M:%S.%fZ"


def _insert_missing(conn: Connection, key: str, now: str):
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(login_throttle).values(username=key, failures=0, window_start=now) \
        .on_conflict_do_nothing(index_elements=["username"])


def take(conn: Connection, key: str, *, limit: int, window_min: float) -> datetime | None:
    """Take one attempt of `key`'s window: None when taken, else when the full window ends."""
    now = datetime.now(timezone.utc)
    cutoff = (now - timedelta(minutes=window_min)).strftime(_FMT)
    # this key's window ended: it starts again (only its own row: concurrent sign-ins of other
    # names never wait for each other here)
    conn.execute(login_throttle.delete().where(login_throttle.c.username == key,
                                               login_throttle.c.window_start <= cutoff))
    conn.execute(_insert_missing(conn, key, now.strftime(_FMT)))
    taken = conn.execute(login_throttle.update().where(
        login_throttle.c.username == key, login_throttle.c.failures < limit)
        .values(failures=login_throttle.c.failures + 1)).rowcount
    if taken:
        return None
    start = conn.execute(login_throttle.select().with_only_columns(login_throttle.c.window_start)
                         .where(login_throttle.c.username == key)).scalar()
    began = datetime.strptime(start, _FMT).replace(tzinfo=timezone.utc)
    return began + timedelta(minutes=window_min)


def give_back(conn: Connection, key: str, *, window_min: float) -> None:
    """Forget `key`'s attempts (the guarded work succeeded), and every window that has ended."""
    cutoff = (datetime.now(timezone.utc) - timedelta(minutes=window_min)).strftime(_FMT)
    conn.execute(login_throttle.delete().where(sa.or_(login_throttle.c.username == key,
                                                      login_throttle.c.window_start <= cutoff)))
