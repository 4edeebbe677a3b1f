"""Safety: admin settings, sign-in failures, the text version a verdict is for, send receipts.

- `app_settings`: settings an admin stores in the database (the review policy), never read from
  a user's environment.
- `login_failures`: failed sign-ins per username, for throttling.
- `drafts.text_row_version`: the row_version at which the draft's current text was written; a
  guardrail result holds for the text when its row_version is at least this. Drafts edited before
  this revision get their current row_version (their text must be checked again to be approved).
- `export_items.message_id`: the Message-ID recorded before an SMTP send, so that a crash between
  sending and committing is reconciled rather than sent again.
- `export_batches.file_status`: "pending" from the commit of a file export until its file is in
  place, then "written".
- `reviews.verdict`: the guardrail verdict of the text a reviewer approved or rejected (what the
  pass precision is measured on).

Revision ID: 0003
Revises: 0002
Created: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

from brandvoice.store.tables import NAMING_CONVENTION

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "app_settings",
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_by", sa.String(100), nullable=True),
        sa.Column("updated_at", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("key", name="app_settings_pkey"),
    )
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(100), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("id", name="login_failures_pkey"),
    )
    op.create_index("ix_login_failures_username", "login_failures", ["username", "created_at"])
    with op.batch_alter_table("drafts", naming_convention=NAMING_CONVENTION) as batch:
        batch.add_column(sa.Column("text_row_version", sa.Integer(), nullable=False,
                                   server_default="1"))
    op.execute("UPDATE drafts SET text_row_version = row_version WHERE id IN "
               "(SELECT draft_id FROM draft_versions WHERE kind = 'edit')")
    with op.batch_alter_table("export_items", naming_convention=NAMING_CONVENTION) as batch:
        batch.add_column(sa.Column("message_id", sa.String(998), nullable=True))
    with op.batch_alter_table("export_batches", naming_convention=NAMING_CONVENTION) as batch:
        batch.add_column(sa.Column("file_status", sa.String(20), nullable=True))
    with op.batch_alter_table("reviews", naming_convention=NAMING_CONVENTION) as batch:
        batch.add_column(sa.Column("verdict", sa.String(10), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("reviews", naming_convention=NAMING_CONVENTION) as batch:
        batch.drop_column("verdict")
    with op.batch_alter_table("export_batches", naming_convention=NAMING_CONVENTION) as batch:
        batch.drop_column("file_status")
    with op.batch_alter_table("export_items", naming_convention=NAMING_CONVENTION) as batch:
        batch.drop_column("message_id")
    with op.batch_alter_table("drafts", naming_convention=NAMING_CONVENTION) as batch:
        batch.drop_column("text_row_version")
    op.drop_index("ix_login_failures_username", table_name="login_failures")
    op.drop_table("login_failures")
    op.drop_table("app_settings")
