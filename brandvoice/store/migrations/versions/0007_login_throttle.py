"""Sign-in attempts are counted per username in one row, taken with a conditional UPDATE.

`login_throttle` replaces `login_failures`: a row per (normalised) username holds the attempts of
its window. An attempt is taken before the password is checked, with
`UPDATE ... SET failures = failures + 1 WHERE username = :u AND failures < 5`, so that parallel
guesses cannot all be checked (a count read before the check let 20 of 20 through); a success
gives the row back. The old failure rows are dropped (at worst a throttle starts afresh).

Revision ID: 0007
Revises: 0006
Created: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_throttle",
        sa.Column("username", sa.String(100), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("username", name="login_throttle_pkey"),
    )
    op.drop_index("ix_login_failures_username", "login_failures")
    op.drop_table("login_failures")


def downgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(100), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("id", name="login_failures_pkey"),
    )
    op.create_index("ix_login_failures_username", "login_failures", ["username", "created_at"])
    op.drop_table("login_throttle")
