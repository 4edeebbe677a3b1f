"""Drafts keep their parts: a slot draft's text, marketer-written and model-written apart.

Revision ID: 0002
Revises: 0001
Created: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from brandvoice.store.tables import NAMING_CONVENTION

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("drafts", naming_convention=NAMING_CONVENTION) as batch:
        batch.add_column(sa.Column("parts", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("drafts", naming_convention=NAMING_CONVENTION) as batch:
        batch.drop_column("parts")
