"""Campaign results: the email tools' activity exports and mailbox replies, matched to drafts.

- `result_imports`: one per imported file (who, when, which tool, the file's hash; the same file
  imported the same way again is refused by `import_key`), with its counts.
- `result_events`: an outcome (delivered, open, click, reply, bounce, unsubscribe, spam) of an
  exported draft; an event is known by (draft, kind, time), so overlapping exports add it once.
- `result_rows`: every row of a file that matched no exported draft, or that was left out, with
  its spreadsheet row and the reason.

Revision ID: 0005
Revises: 0004
Created: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "result_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("file_name", sa.String(1000), nullable=False),
        sa.Column("file_hash", sa.String(64), nullable=False),
        sa.Column("import_key", sa.String(64), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("batch_ids", sa.JSON(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("id", name="result_imports_pkey"),
        sa.UniqueConstraint("import_key", name="result_imports_import_key_key"),
    )
    op.create_table(
        "result_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("draft_id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("occurred_at", sa.String(32), nullable=False),
        sa.Column("matched_by", sa.String(20), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["import_id"], ["result_imports.id"],
                                name="result_events_import_id_fkey"),
        sa.ForeignKeyConstraint(["draft_id"], ["drafts.id"], name="result_events_draft_id_fkey"),
        sa.ForeignKeyConstraint(["batch_id"], ["export_batches.id"],
                                name="result_events_batch_id_fkey"),
        sa.PrimaryKeyConstraint("id", name="result_events_pkey"),
        sa.UniqueConstraint("draft_id", "kind", "occurred_at", name="uq_result_event"),
    )
    op.create_index("ix_result_events_batch", "result_events", ["batch_id"])
    op.create_index("ix_result_events_import", "result_events", ["import_id"])
    op.create_table(
        "result_rows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(300), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("kind", sa.String(20), nullable=True),
        sa.ForeignKeyConstraint(["import_id"], ["result_imports.id"],
                                name="result_rows_import_id_fkey"),
        sa.PrimaryKeyConstraint("id", name="result_rows_pkey"),
    )
    op.create_index("ix_result_rows_import", "result_rows", ["import_id", "position"])


def downgrade() -> None:
    op.drop_index("ix_result_rows_import", table_name="result_rows")
    op.drop_table("result_rows")
    op.drop_index("ix_result_events_import", table_name="result_events")
    op.drop_index("ix_result_events_batch", table_name="result_events")
    op.drop_table("result_events")
    op.drop_table("result_imports")
