"""A contact's first delivery of a generation job is unique in the database.

`drafts.first_delivery` is true on the draft that first went (or is going) to its contact in its
job, null on every other draft; a unique index over (job_id, contact_id, first_delivery) lets at
most one draft per contact and job carry it (nulls never collide), on SQLite and PostgreSQL alike.
Two deliveries that race past the application's checks cannot both give a contact a first email:
the second one's write fails and its transaction rolls back. A repeat the user asked for
(`allow_repeat`) leaves the column null. Drafts delivered before this revision: the oldest
delivered draft of each contact and job is marked.

Revision ID: 0006
Revises: 0005
Created: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from brandvoice.store.tables import NAMING_CONVENTION

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("drafts", naming_convention=NAMING_CONVENTION) as batch:
        batch.add_column(sa.Column("first_delivery", sa.Boolean(), nullable=True))
    op.execute("UPDATE drafts SET first_delivery = TRUE WHERE id IN (SELECT MIN(id) FROM drafts "
               "WHERE state IN ('exported', 'sending') GROUP BY job_id, contact_id)")
    op.create_index("uq_drafts_first_delivery", "drafts",
                    ["job_id", "contact_id", "first_delivery"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_drafts_first_delivery", "drafts")
    with op.batch_alter_table("drafts", naming_convention=NAMING_CONVENTION) as batch:
        batch.drop_column("first_delivery")
