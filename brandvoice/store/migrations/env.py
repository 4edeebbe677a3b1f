"""Alembic's environment for the store: run the revisions on the connection the store hands over.

`brandvoice.store.migrate` opens that connection inside one transaction that holds the migration
lock (SQLite: BEGIN IMMEDIATE with `PRAGMA foreign_keys` off; PostgreSQL: an advisory lock), so
this file only configures the context. Offline mode (`--sql`) writes the DDL for a URL instead.
"""

from __future__ import annotations

from alembic import context

from brandvoice.store.migrate import FOREIGN_PREFIXES
from brandvoice.store.tables import metadata

# The numbered-migrations table of databases created before Alembic; left in place so that an
# older brandvoice still sees its schema as complete, and ignored by autogenerate; so are the job
# engine's own tables (store.queue_schema).
LEGACY_TABLES = {"schema_version"}


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    if type_ == "table" and (name in LEGACY_TABLES or name.startswith(FOREIGN_PREFIXES)):
        return False
    # the job engine's indexes live on its own tables (skipped above), but say so by name too
    return not (type_ == "index" and str(name or "").startswith(FOREIGN_PREFIXES))


def run_online(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        include_object=include_object,
        # SQLite alters a table by copying it: autogenerate writes batch_alter_table blocks.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_offline(url: str) -> None:
    context.configure(url=url, target_metadata=metadata, literal_binds=True,
                      include_object=include_object)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline(context.config.get_main_option("sqlalchemy.url"))
else:
    run_online(context.config.attributes["connection"])
