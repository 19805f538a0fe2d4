"""Learning loop: messages the assistant may have misunderstood, their review label and 👍/👎 votes.

Revision ID: 0002_learning
Revises: 0001
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_learning"
down_revision = "0002_secdata"  # chained after the data-safety tables (all three branched from 0001)
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "qhd_learning_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender_id", sa.String(length=255), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("event_ts", sa.Float(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("group_key", sa.String(length=255), nullable=False),
        sa.Column("intent", sa.String(length=128), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("margin", sa.Float(), nullable=True),
        sa.Column("bot_reply", sa.Text(), nullable=True),
        sa.Column("context", sa.JSON(), nullable=True),
        sa.Column("reason", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("label", sa.String(length=128), nullable=True),
        sa.Column("label_note", sa.String(length=255), nullable=True),
        sa.Column("hard", sa.Boolean(), nullable=False),
        sa.Column("reviewed_by", sa.String(length=80), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qhd_learning_items")),
        sa.UniqueConstraint("sender_id", "event_ts", "source", name="uq_qhd_learning_items_turn_source"),
    )
    with op.batch_alter_table("qhd_learning_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_qhd_learning_items_sender_id"), ["sender_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_qhd_learning_items_source"), ["source"], unique=False)
        batch_op.create_index(batch_op.f("ix_qhd_learning_items_intent"), ["intent"], unique=False)
        batch_op.create_index(batch_op.f("ix_qhd_learning_items_created_at"), ["created_at"], unique=False)
        batch_op.create_index("ix_qhd_learning_items_status_group", ["status", "group_key"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("qhd_learning_items", schema=None) as batch_op:
        batch_op.drop_index("ix_qhd_learning_items_status_group")
        batch_op.drop_index(batch_op.f("ix_qhd_learning_items_created_at"))
        batch_op.drop_index(batch_op.f("ix_qhd_learning_items_intent"))
        batch_op.drop_index(batch_op.f("ix_qhd_learning_items_source"))
        batch_op.drop_index(batch_op.f("ix_qhd_learning_items_sender_id"))
    op.drop_table("qhd_learning_items")
