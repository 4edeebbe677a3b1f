"""The job queue: where a job runs, its parts, and the job engine's schema level.

- `jobs.host`: the machine of the process that claimed the job. Its pid is checked only there; on
  any other machine a job is alive while its heartbeat is (two app hosts on one database no longer
  see each other's live jobs as interrupted).
- `jobs.runner`: how the job was started (process, queue, or a registered runner).
- `job_parts`: the parts of a job the queue runs (a generate job's contacts by id range), each
  taken by any worker; its status, host, worker and the job engine's id of the part.
- `engine_schemas`: the schema level of a job engine that keeps its own tables in this database
  (Procrastinate on PostgreSQL; applied by `store.queue_schema` when the store opens).

Revision ID: 0008
Revises: 0007
Created: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from brandvoice.store.tables import NAMING_CONVENTION

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", naming_convention=NAMING_CONVENTION) as batch:
        batch.add_column(sa.Column("host", sa.String(255), nullable=True))
        batch.add_column(sa.Column("runner", sa.String(30), nullable=True))
    op.create_table(
        "job_parts",
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("part", sa.Integer(), nullable=False),
        sa.Column("first_contact", sa.Integer(), nullable=False),
        sa.Column("last_contact", sa.Integer(), nullable=False),
        sa.Column("contacts", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("queue_job_id", sa.BigInteger(), nullable=True),
        sa.Column("host", sa.String(255), nullable=True),
        sa.Column("worker", sa.String(100), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", sa.String(32), nullable=True),
        sa.Column("finished_at", sa.String(32), nullable=True),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name="job_parts_job_id_fkey"),
        sa.PrimaryKeyConstraint("job_id", "part", name="job_parts_pkey"),
    )
    op.create_table(
        "engine_schemas",
        sa.Column("engine", sa.String(40), nullable=False),
        sa.Column("level", sa.String(200), nullable=False),
        sa.Column("applied_at", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("engine", name="engine_schemas_pkey"),
    )


def downgrade() -> None:
    op.drop_table("engine_schemas")
    op.drop_table("job_parts")
    with op.batch_alter_table("jobs", naming_convention=NAMING_CONVENTION) as batch:
        batch.drop_column("runner")
        batch.drop_column("host")
