"""Rulebook layer: policy roles per account, proposed/approved rulebook values, the layer version row.

Revision ID: 0002_rulelayer
Revises: 0001
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_rulelayer"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "qhd_account_roles",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.CheckConstraint("role IN ('policy_editor', 'policy_approver')", name=op.f("ck_qhd_account_roles_role")),
        sa.ForeignKeyConstraint(["account_id"], ["qhd_accounts.id"], ondelete="CASCADE",
                                name=op.f("fk_qhd_account_roles_account_id_qhd_accounts")),
        sa.PrimaryKeyConstraint("account_id", "role", name=op.f("pk_qhd_account_roles")),
    )
    op.create_table(
        "qhd_policy_proposals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("parameter_id", sa.String(length=128), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("districts", sa.JSON(), nullable=True),
        sa.Column("residence", sa.String(length=8), nullable=True),
        sa.Column("doc_no", sa.String(length=64), nullable=False),
        sa.Column("doc_title", sa.String(length=200), nullable=False),
        sa.Column("doc_date", sa.Date(), nullable=True),
        sa.Column("doc_url", sa.String(length=500), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("proposed_by", sa.String(length=64), nullable=False),
        sa.Column("proposed_at", sa.DateTime(), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'approved', 'rejected', 'withdrawn')",
                           name=op.f("ck_qhd_policy_proposals_status")),
        sa.CheckConstraint("kind IN ('exact', 'floor', 'ceiling')", name=op.f("ck_qhd_policy_proposals_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qhd_policy_proposals")),
    )
    with op.batch_alter_table("qhd_policy_proposals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_qhd_policy_proposals_parameter_id"), ["parameter_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_qhd_policy_proposals_status"), ["status"], unique=False)
    version = op.create_table(
        "qhd_rulebook_layer_version",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qhd_rulebook_layer_version")),
    )
    op.bulk_insert(version, [{"id": 1, "version": 0, "changed_at": None}])


def downgrade() -> None:
    op.drop_table("qhd_rulebook_layer_version")
    with op.batch_alter_table("qhd_policy_proposals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_qhd_policy_proposals_status"))
        batch_op.drop_index(batch_op.f("ix_qhd_policy_proposals_parameter_id"))
    op.drop_table("qhd_policy_proposals")
    op.drop_table("qhd_account_roles")
