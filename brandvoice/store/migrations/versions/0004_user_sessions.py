"""Users carry a session epoch: signing out or a deactivation ends every session of that user.

Revision ID: 0004
Revises: 0003
Created: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

from brandvoice.store.tables import NAMING_CONVENTION

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", naming_convention=NAMING_CONVENTION) as batch:
        batch.add_column(sa.Column("session_epoch", sa.Integer(), nullable=False,
                                   server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("users", naming_convention=NAMING_CONVENTION) as batch:
        batch.drop_column("session_epoch")
