"""The store's schema revisions (Alembic): blank to head, the takeover of databases of the numbered
migrations, a new revision, and processes opening one new store at the same moment."""

from __future__ import annotations

import multiprocessing as mp
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from helpers_drafts import make_drafts

from brandvoice import review
from brandvoice.config import Settings
from brandvoice.errors import ConfigError
from brandvoice.store import Store, audit, drafts, metadata, migrate

pytestmark = [pytest.mark.all_databases, pytest.mark.blank_database]

DUMP = Path(__file__).parent / "data" / "store_v4.sql"  # written by the numbered migrations (v4)


def schema_differences(store: Store) -> list:
    """What autogenerate would change to make the database match `metadata` (empty: nothing)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with store.read() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": _not_legacy})
        return compare_metadata(context, metadata)


def _not_legacy(obj, name, type_, reflected, compare_to) -> bool:
    """Not the numbered migrations' table, nor the job engine's (store.queue_schema)."""
    return not (type_ == "table" and (name == "schema_version"
                                      or name.startswith(migrate.FOREIGN_PREFIXES)))


def test_head_constant_is_alembics_head():
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(migrate.alembic_config())
    assert script.get_heads() == [migrate.HEAD]
    assert script.get_base() == migrate.BASELINE


def test_an_up_to_date_store_opens_without_importing_alembic(home):
    Store(Settings.from_env())
    Store.dispose_all()
    code = ("import sys; from brandvoice.store import Store; "
            "print(Store().version(), 'alembic' in sys.modules)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == [migrate.HEAD, "False"]


def test_blank_database_upgrades_to_exactly_the_tables(store, database):
    assert store.version() == migrate.HEAD
    assert schema_differences(store) == []


def _rows(path: Path) -> dict[str, list[tuple]]:
    with sqlite3.connect(path) as con:
        tables = [t for (t,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                            "AND name != 'alembic_version' ORDER BY name")]
        return {t: con.execute(f'SELECT * FROM "{t}" ORDER BY rowid').fetchall() for t in tables}


def test_v4_database_is_stamped_and_keeps_every_row(home):
    home.mkdir()
    path = home / "brandvoice.db"
    with sqlite3.connect(path) as con:
        con.executescript(DUMP.read_text(encoding="utf-8"))
    before = _rows(path)
    assert len(before) == 13 and all(before.values())  # 12 tables and schema_version, none empty

    store = Store(Settings.from_env())
    assert store.version() == migrate.HEAD
    with store.read() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").all() == [(migrate.HEAD,)]  # stamped at 0001, then upgraded
    after = _rows(path)
    # stamped, not rebuilt: every row of every table as it was (later revisions add columns at the end)
    assert {t: [r[:len(before[t][0])] for r in rows] for t, rows in after.items()
            if t not in LATER_TABLES} == before
    got = review.get_draft(store, 2)
    assert got["subject"] == "Edited subject" and got["body"].startswith("Hi Lee,\n\nEdited body.")
    assert [v["kind"] for v in got["versions"]] == ["generated", "edit"]
    assert got["settings"] == {"temperature": 0.7} and got["row_version"] == 2
    # edited before revision 0003: its verdict cannot be known to hold for the current text
    assert got["text_row_version"] == 2 and review.get_draft(store, 1)["text_row_version"] == 1
    with store.read() as conn:
        roles = dict(conn.exec_driver_sql("SELECT username, role FROM users").all())
    assert roles == {"root": "admin", "rita": "reviewer", "marketer1": "marketer"}
    with store.tx() as conn:  # the takeover keeps the append-only trigger and the id sequence
        store.audit(conn, "after_takeover", actor="root")
    with store.read() as conn:
        assert conn.execute(sa.select(sa.func.max(audit.c.id))).scalar() == 11
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), store.tx() as conn:
        conn.execute(audit.delete())
    # The stamped file differs from a new one only in the name of users' unique constraint, which
    # SQLite never recorded; batch migrations name it by the naming convention.
    assert [d[0] for d in schema_differences(store)] == ["add_constraint"]


def _constraint_names(conn) -> set[tuple[str, str]]:
    inspector = sa.inspect(conn)
    names = set()
    for table in metadata.tables:
        names.add((table, inspector.get_pk_constraint(table)["name"]))
        names |= {(table, fk["name"]) for fk in inspector.get_foreign_keys(table)}
        names |= {(table, uq["name"]) for uq in inspector.get_unique_constraints(table)}
    return names


LEGACY_TRIGGERS = {  # the numbered migrations' step 4, as it ran
    "sqlite": ["CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit "
               "BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END",
               "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit "
               "BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END"],
    "postgresql": ["CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger AS $$ "
                   "BEGIN RAISE EXCEPTION 'audit is append-only'; END; $$ LANGUAGE plpgsql",
                   "CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit "
                   "FOR EACH ROW EXECUTE FUNCTION audit_append_only()"],
}


LATER_COLUMNS = {("drafts", "parts"), ("drafts", "text_row_version"),  # added by revisions after 0001
                 ("export_items", "message_id"), ("export_batches", "file_status"),
                 ("reviews", "verdict"), ("users", "session_epoch"),
                 ("drafts", "first_delivery"), ("jobs", "host"), ("jobs", "runner")}
LATER_TABLES = {"app_settings", "login_failures", "login_throttle",
                "result_imports", "result_events", "result_rows", "job_parts", "engine_schemas"}


def _create_like_numbered_migrations(url: str) -> None:
    """The tables as the numbered migrations created them: no naming convention (only the uq_*
    names were spelled out), the append-only triggers, schema_version 4; and one user."""
    legacy = sa.MetaData()
    for table in metadata.sorted_tables:
        if table.name in LATER_TABLES:
            continue
        copy = table.to_metadata(legacy)
        for column in [c for c in copy.columns if (table.name, c.name) in LATER_COLUMNS]:
            copy._columns.remove(column)
            for index in [ix for ix in copy.indexes if column.name in {c.name for c in ix.columns}]:
                copy.indexes.discard(index)
        for constraint in copy.constraints:
            if not (constraint.name or "").startswith("uq_"):
                constraint.name = None
    versions = sa.Table("schema_version", legacy, sa.Column("version", sa.Integer, primary_key=True),
                        sa.Column("name", sa.String(200), nullable=False),
                        sa.Column("applied_at", sa.String(32), nullable=False))
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        legacy.create_all(conn)
        for stmt in LEGACY_TRIGGERS[conn.dialect.name]:
            conn.exec_driver_sql(stmt)
        conn.execute(versions.insert(), [{"version": n, "name": f"step {n}", "applied_at": "x"}
                                         for n in (1, 2, 3, 4)])
        conn.execute(legacy.tables["users"].insert().values(
            username="root", password_hash="h", role="admin", active=True, created_at="x"))
    engine.dispose()


def test_legacy_database_is_stamped_and_on_postgresql_has_the_new_names(settings, database, request):
    settings.home.mkdir(parents=True, exist_ok=True)
    _create_like_numbered_migrations(settings.db_url)
    store = Store(settings)
    assert store.version() == migrate.HEAD
    with store.read() as conn:
        assert conn.exec_driver_sql("SELECT username FROM users").all() == [("root",)]
        assert conn.exec_driver_sql("SELECT max(version) FROM schema_version").scalar() == 4
        legacy_names = _constraint_names(conn)
    with store.tx() as conn:
        store.audit(conn, "after_takeover", actor="root")
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), store.tx() as conn:
        conn.execute(audit.delete())
    if database == "postgresql":  # PostgreSQL named the constraints as the convention does
        fresh = Store(Settings.from_env(db_url=request.getfixturevalue("pg_server").create()))
        with fresh.read() as conn:
            assert legacy_names == _constraint_names(conn)


ADD_LANGUAGE = """\
    # Adding a column is all most backends need; SQLite's batch mode copies the table for the
    # type change, which exercises the copy-and-swap with rows pointing at drafts.
    with op.batch_alter_table("drafts") as batch:
        batch.add_column(sa.Column("language", sa.String(10), nullable=True))
        batch.alter_column("verdict", type_=sa.String(20), existing_type=sa.String(10))
    op.execute("UPDATE drafts SET language = 'en'")
"""


def test_a_new_column_is_one_new_revision(store, database, tmp_path):
    from alembic import command

    ids = make_drafts(store, 3)
    with store.read() as conn:
        before = conn.execute(sa.select(drafts.c.id, drafts.c.body).order_by(drafts.c.id)).all()
    scripts = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS_DIR, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    nxt = f"{int(migrate.HEAD) + 1:04d}"
    new = command.revision(migrate.alembic_config(scripts), "add drafts.language", rev_id=nxt)
    path = Path(new.path)
    assert path.name == f"{nxt}_add_drafts_language.py"
    path.write_text(path.read_text(encoding="utf-8").replace("    pass\n", ADD_LANGUAGE, 1),
                    encoding="utf-8")

    migrate.upgrade(store.engine, scripts)
    assert store.version() == nxt
    with store.read() as conn:
        rows = conn.exec_driver_sql("SELECT id, body, language FROM drafts ORDER BY id").all()
        assert [(r.id, r.body) for r in rows] == [tuple(b) for b in before]
        assert {r.language for r in rows} == {"en"}
        assert len(sa.inspect(conn).get_foreign_keys("drafts")) == 4
        if database == "sqlite":
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    review.get_draft(store, ids[0])  # the workflow still reads it
    Store.dispose_all()  # this brandvoice does not know the new revision
    with pytest.raises(ConfigError, match=f"(?s)revision '{nxt}'.*newer brandvoice"):
        Store(store.settings)


def _open(url: str, home: str, barrier, out) -> None:
    try:
        barrier.wait(60)
        Store(Settings(home=home, db_url=url))
        out.put("ok")
    except Exception as exc:  # noqa: BLE001 - reported to the test
        out.put(f"{type(exc).__name__}: {exc}")


def test_processes_opening_a_new_store_at_once_create_it_once(settings, database):
    ctx = mp.get_context("spawn")
    n = 3
    barrier, out = ctx.Barrier(n), ctx.Queue()
    procs = [ctx.Process(target=_open, args=(settings.db_url, str(settings.home), barrier, out))
             for _ in range(n)]
    [p.start() for p in procs]
    results = [out.get(timeout=120) for _ in procs]
    [p.join(30) for p in procs]
    assert results == ["ok"] * n
    store = Store(settings)
    assert store.version() == migrate.HEAD
    with store.read() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM alembic_version").scalar() == 1
    assert schema_differences(store) == []
