"""The database every stage shares: tables, the engine and its transactions, the audit trail.

    from brandvoice.store import Store, lifecycle
    store = Store(settings)
    with store.tx() as conn:      # one transaction: committed on success, rolled back on error
        draft = lifecycle.load(conn, 7)
        lifecycle.transition(conn, draft, "reopen", "rita")   # checked, written and audited
        store.audit(conn, "recheck", actor="rita", draft_id=7)

SQLite (WAL mode) under BRANDVOICE_HOME by default; a PostgreSQL URL for teams. The tables live in
`tables`, the engine in `engine`, a draft's states and their one writer in `lifecycle`, the
schema's history in `migrations/versions/` (Alembic), applied by `migrate` when a store opens, and
on PostgreSQL the job engine's own tables (`queue_schema`), applied in the same step.

Changing the schema (say, a new column `drafts.language`):

1. Add the column to the table in `tables.py`.
2. Write the revision, from the template:

       python -c "from alembic import command; from brandvoice.store.migrate import alembic_config; \\
                  command.revision(alembic_config(), 'add drafts.language', rev_id='0002')"

   then fill in `upgrade()` with explicit operations, never built from the live `Table` objects (a
   shipped revision is frozen). SQLite alters a table by copying it, so change columns in batch
   mode, naming constraints by the convention:

       from brandvoice.store.tables import NAMING_CONVENTION

       def upgrade() -> None:
           with op.batch_alter_table("drafts", naming_convention=NAMING_CONVENTION) as batch:
               batch.add_column(sa.Column("language", sa.String(10), nullable=True))

   `migrate` runs revisions on SQLite with `PRAGMA foreign_keys` off (the pragma only takes effect
   outside a transaction, so it is switched before BEGIN) and checks the foreign keys before it
   commits; on PostgreSQL the same code runs as plain ALTER TABLE statements.
3. Set `migrate.HEAD` to the new revision id (a test checks it against Alembic's head).
4. Run `tests/test_store_migrations.py`: a blank database upgraded to the head must match
   `tables.py` exactly, on SQLite and on PostgreSQL.

Autogenerate can draft step 2 from the difference between `tables.py` and a database at the old
head: `cfg = alembic_config(); cfg.attributes["connection"] = conn` inside `Store(...).tx()`, then
`command.revision(cfg, ..., autogenerate=True)`; review what it writes. For a DBA who applies DDL
by hand, `command.upgrade(alembic_config(url=...), "head", sql=True)` prints the SQL.
"""

from brandvoice.store import lifecycle, queue_schema, throttle
from brandvoice.store.engine import Store
from brandvoice.store.tables import (
    adapters,
    app_settings,
    audit,
    contacts,
    draft_versions,
    drafts,
    engine_schemas,
    export_batches,
    export_items,
    guardrail_results,
    job_parts,
    jobs,
    login_throttle,
    metadata,
    result_events,
    result_imports,
    result_rows,
    reviews,
    tone_profiles,
    users,
    utcnow,
)

__all__ = ["Store", "adapters", "app_settings", "audit", "contacts", "draft_versions", "drafts",
           "engine_schemas", "export_batches", "export_items", "guardrail_results", "job_parts",
           "jobs", "lifecycle", "login_throttle", "metadata", "queue_schema", "result_events",
           "result_imports", "result_rows", "reviews", "throttle", "tone_profiles", "users",
           "utcnow"]
