"""The schema of the numbered migrations 1-4: every table, its indexes and the append-only audit.

A database created by those migrations (`schema_version` 4) is stamped at this revision instead
of running it. Constraint names are the naming convention's (PostgreSQL's defaults), so such a
database on PostgreSQL carries the same names.

Revision ID: 0001
Revises:
Created: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.String(32), nullable=nullable)


def _id(table: str) -> tuple[sa.Column, sa.PrimaryKeyConstraint]:
    return (sa.Column("id", sa.Integer(), nullable=False),
            sa.PrimaryKeyConstraint("id", name=f"{table}_pkey"))


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=f"{table}_{column}_fkey")


# Append-only audit: the database itself refuses UPDATE and DELETE.
AUDIT_TRIGGERS = {
    "sqlite": [
        "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit "
        "BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END",
        "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit "
        "BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END",
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger AS $$ "
        "BEGIN RAISE EXCEPTION 'audit is append-only'; END; $$ LANGUAGE plpgsql",
        "CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit "
        "FOR EACH ROW EXECUTE FUNCTION audit_append_only()",
    ],
}
DROP_AUDIT_TRIGGERS = {
    "sqlite": ["DROP TRIGGER IF EXISTS audit_no_update", "DROP TRIGGER IF EXISTS audit_no_delete"],
    "postgresql": ["DROP TRIGGER IF EXISTS audit_no_change ON audit",
                   "DROP FUNCTION IF EXISTS audit_append_only()"],
}


def _adapters_and_jobs() -> None:
    op.create_table(
        "adapters",
        *_id("adapters"),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("base_model", sa.String(500), nullable=False),
        sa.Column("quantization", sa.String(10), nullable=False),
        sa.Column("data_hash", sa.String(64), nullable=False),
        sa.Column("hyperparameters", sa.JSON(), nullable=False),
        sa.Column("selection", sa.JSON(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("path", sa.String(1000), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        _ts("created_at", nullable=False),
        sa.UniqueConstraint("name", "version", name="uq_adapter_version"),
    )
    op.create_table(
        "jobs",
        *_id("jobs"),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.Column("log", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(100), nullable=True),
        _ts("created_at", nullable=False),
        _ts("started_at"),
        _ts("finished_at"),
        _ts("heartbeat_at"),
    )


def _contacts_and_drafts() -> None:
    op.create_table(
        "contacts",
        *_id("contacts"),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("contact_key", sa.String(320), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("first_name", sa.String(200), nullable=True),
        sa.Column("last_name", sa.String(200), nullable=True),
        sa.Column("company", sa.String(300), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("source_file", sa.String(1000), nullable=True),
        sa.Column("row_number", sa.Integer(), nullable=True),
        _ts("created_at", nullable=False),
        sa.UniqueConstraint("job_id", "contact_key", name="uq_contact_per_job"),
        _fk("contacts", "job_id", "jobs"),
    )
    op.create_table(
        "drafts",
        *_id("drafts"),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("variant", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("brand", sa.String(200), nullable=True),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("generated_subject", sa.Text(), nullable=False),
        sa.Column("generated_body", sa.Text(), nullable=False),
        sa.Column("raw_output", sa.Text(), nullable=True),
        sa.Column("prompt", sa.Text(), nullable=True),
        sa.Column("template_name", sa.String(200), nullable=False),
        sa.Column("template_hash", sa.String(64), nullable=False),
        sa.Column("adapter_id", sa.Integer(), nullable=True),
        sa.Column("adapter_label", sa.String(300), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("verdict", sa.String(10), nullable=True),
        sa.Column("tone_score", sa.Float(), nullable=True),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(100), nullable=True),
        _ts("created_at", nullable=False),
        _ts("updated_at", nullable=False),
        sa.Column("updated_by", sa.String(100), nullable=True),
        sa.UniqueConstraint("job_id", "contact_id", "variant", "attempt", name="uq_draft_slot"),
        _fk("drafts", "job_id", "jobs"),
        _fk("drafts", "contact_id", "contacts"),
        _fk("drafts", "adapter_id", "adapters"),
        _fk("drafts", "parent_id", "drafts"),
    )
    op.create_index("ix_drafts_state", "drafts", ["state", "id"])
    op.create_index("ix_drafts_job", "drafts", ["job_id"])


def _guardrails() -> None:
    op.create_table(
        "guardrail_results",
        *_id("guardrail_results"),
        sa.Column("draft_id", sa.Integer(), nullable=False),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.Column("check", sa.String(40), nullable=False),
        sa.Column("rule", sa.String(80), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        _ts("created_at", nullable=False),
        _fk("guardrail_results", "draft_id", "drafts"),
    )
    op.create_index("ix_guardrail_draft", "guardrail_results", ["draft_id"])
    op.create_table(
        "tone_profiles",
        *_id("tone_profiles"),
        sa.Column("brand", sa.String(200), nullable=False),
        sa.Column("adapter_id", sa.Integer(), nullable=True),
        sa.Column("embedder", sa.String(500), nullable=False),
        sa.Column("n_emails", sa.Integer(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("calibration", sa.JSON(), nullable=False),
        sa.Column("path", sa.String(1000), nullable=False),
        _ts("created_at", nullable=False),
        _fk("tone_profiles", "adapter_id", "adapters"),
    )


def _users_and_reviews() -> None:
    op.create_table(
        "users",
        *_id("users"),
        sa.Column("username", sa.String(100), nullable=False),
        sa.Column("password_hash", sa.String(300), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("active", sa.Boolean(create_constraint=False), nullable=False),
        _ts("created_at", nullable=False),
        sa.UniqueConstraint("username", name="users_username_key"),
    )
    op.create_table(
        "draft_versions",
        *_id("draft_versions"),
        sa.Column("draft_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("author", sa.String(100), nullable=True),
        sa.Column("kind", sa.String(20), nullable=False),
        _ts("created_at", nullable=False),
        sa.UniqueConstraint("draft_id", "version", name="uq_draft_version"),
        _fk("draft_versions", "draft_id", "drafts"),
    )
    op.create_table(
        "reviews",
        *_id("reviews"),
        sa.Column("draft_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("reviewer", sa.String(100), nullable=False),
        sa.Column("from_state", sa.String(20), nullable=False),
        sa.Column("to_state", sa.String(20), nullable=False),
        sa.Column("reason_code", sa.String(30), nullable=True),
        sa.Column("reason_text", sa.Text(), nullable=True),
        sa.Column("diff", sa.Text(), nullable=True),
        sa.Column("edit_distance", sa.Float(), nullable=True),
        _ts("created_at", nullable=False),
        _fk("reviews", "draft_id", "drafts"),
    )
    op.create_index("ix_reviews_draft", "reviews", ["draft_id"])


def _exports_and_audit() -> None:
    op.create_table(
        "export_batches",
        *_id("export_batches"),
        sa.Column("profile", sa.String(40), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("n_rows", sa.Integer(), nullable=False),
        sa.Column("file_hash", sa.String(64), nullable=False),
        sa.Column("path", sa.String(1000), nullable=True),
        _ts("created_at", nullable=False),
    )
    op.create_table(
        "export_items",
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("draft_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("batch_id", "draft_id", name="export_items_pkey"),
        _fk("export_items", "batch_id", "export_batches"),
        _fk("export_items", "draft_id", "drafts"),
    )
    op.create_table(
        "audit",
        *_id("audit"),
        sa.Column("draft_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(100), nullable=True),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        _ts("created_at", nullable=False),
    )
    op.create_index("ix_audit_draft", "audit", ["draft_id"])
    for stmt in AUDIT_TRIGGERS.get(op.get_context().dialect.name, []):
        op.execute(stmt)


def upgrade() -> None:
    _adapters_and_jobs()
    _contacts_and_drafts()
    _guardrails()
    _users_and_reviews()
    _exports_and_audit()


def downgrade() -> None:
    for stmt in DROP_AUDIT_TRIGGERS.get(op.get_context().dialect.name, []):
        op.execute(stmt)
    for table in ("audit", "export_items", "export_batches", "reviews", "draft_versions", "users",
                  "tone_profiles", "guardrail_results", "drafts", "contacts", "jobs", "adapters"):
        op.drop_table(table)
