"""Issue 10 (data): consent time on help requests, session cut-off on accounts, rate-limit counters.

Revision ID: 0002_secdata
Revises: 0001
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_secdata"
down_revision = "0002_rulelayer"  # chained after the rulebook layer (both branched from 0001)
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("qhd_help_requests") as batch:
        batch.add_column(sa.Column("consent_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("qhd_accounts") as batch:
        batch.add_column(sa.Column("sessions_valid_after", sa.DateTime(), nullable=True))
    op.create_table(
        "qhd_rate_limits",
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("window_start", sa.DateTime(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_qhd_rate_limits")),
    )
    op.create_index(op.f("ix_qhd_rate_limits_window_start"), "qhd_rate_limits", ["window_start"])


def downgrade() -> None:
    op.drop_index(op.f("ix_qhd_rate_limits_window_start"), table_name="qhd_rate_limits")
    op.drop_table("qhd_rate_limits")
    with op.batch_alter_table("qhd_accounts") as batch:
        batch.drop_column("sessions_valid_after")
    with op.batch_alter_table("qhd_help_requests") as batch:
        batch.drop_column("consent_at")
