"""Initial tables: help requests, notes, audit, accounts, conversation states, eligibility checks,
analytics events and the per-year reference counter (all prefixed qhd_).

Revision ID: 0001
Revises:
Create Date: 2026-11-29 04:59:38.938680+00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('qhd_accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('failed_logins', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(), nullable=True),
    sa.Column('last_login_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("role IN ('operator', 'staff', 'admin')", name=op.f('ck_qhd_accounts_role')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qhd_accounts')),
    sa.UniqueConstraint('username', name=op.f('uq_qhd_accounts_username'))
    )
    op.create_table('qhd_analytics_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sender_id', sa.String(length=255), nullable=True),
    sa.Column('type', sa.String(length=64), nullable=False),
    sa.Column('intent', sa.String(length=128), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qhd_analytics_events'))
    )
    with op.batch_alter_table('qhd_analytics_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_qhd_analytics_events_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_qhd_analytics_events_intent'), ['intent'], unique=False)
        batch_op.create_index(batch_op.f('ix_qhd_analytics_events_sender_id'), ['sender_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_qhd_analytics_events_type'), ['type'], unique=False)

    op.create_table('qhd_conversation_states',
    sa.Column('sender_id', sa.String(length=255), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('operator', sa.String(length=64), nullable=True),
    sa.Column('reason', sa.String(length=255), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("state IN ('bot', 'waiting', 'operator')", name=op.f('ck_qhd_conversation_states_state')),
    sa.PrimaryKeyConstraint('sender_id', name=op.f('pk_qhd_conversation_states'))
    )
    with op.batch_alter_table('qhd_conversation_states', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_qhd_conversation_states_updated_at'), ['updated_at'], unique=False)

    op.create_table('qhd_eligibility_checks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sender_id', sa.String(length=255), nullable=True),
    sa.Column('program', sa.String(length=32), nullable=False),
    sa.Column('eligible', sa.Boolean(), nullable=True),
    sa.Column('case', sa.JSON(), nullable=False),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.Column('rulebook_version', sa.String(length=64), nullable=True),
    sa.Column('entered_by', sa.String(length=80), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qhd_eligibility_checks'))
    )
    with op.batch_alter_table('qhd_eligibility_checks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_qhd_eligibility_checks_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_qhd_eligibility_checks_program'), ['program'], unique=False)
        batch_op.create_index(batch_op.f('ix_qhd_eligibility_checks_sender_id'), ['sender_id'], unique=False)

    op.create_table('qhd_help_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference_no', sa.String(length=20), nullable=False),
    sa.Column('sender_id', sa.String(length=255), nullable=True),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=False),
    sa.Column('phone_last4', sa.String(length=4), nullable=False),
    sa.Column('district', sa.String(length=32), nullable=False),
    sa.Column('township', sa.String(length=64), nullable=True),
    sa.Column('category', sa.String(length=64), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('urgency', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('assignee', sa.String(length=64), nullable=True),
    sa.Column('entered_by', sa.String(length=80), nullable=False),
    sa.Column('decision_snapshot', sa.JSON(), nullable=True),
    sa.Column('idempotency_key', sa.String(length=128), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("status IN ('new', 'in_progress', 'resolved', 'referred')", name=op.f('ck_qhd_help_requests_status')),
    sa.CheckConstraint("urgency IN ('normal', 'urgent', 'emergency')", name=op.f('ck_qhd_help_requests_urgency')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qhd_help_requests')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_qhd_help_requests_idempotency_key')),
    sa.UniqueConstraint('reference_no', name=op.f('uq_qhd_help_requests_reference_no'))
    )
    with op.batch_alter_table('qhd_help_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_qhd_help_requests_category'), ['category'], unique=False)
        batch_op.create_index(batch_op.f('ix_qhd_help_requests_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_qhd_help_requests_district'), ['district'], unique=False)
        batch_op.create_index('ix_qhd_help_requests_phone_category_created', ['phone', 'category', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_qhd_help_requests_sender_id'), ['sender_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_qhd_help_requests_status'), ['status'], unique=False)

    op.create_table('qhd_reference_counters',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last_value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('year', name=op.f('pk_qhd_reference_counters'))
    )
    op.create_table('qhd_audit_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('actor', sa.String(length=80), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['qhd_help_requests.id'], name=op.f('fk_qhd_audit_entries_request_id_qhd_help_requests'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qhd_audit_entries'))
    )
    with op.batch_alter_table('qhd_audit_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_qhd_audit_entries_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_qhd_audit_entries_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_qhd_audit_entries_request_id'), ['request_id'], unique=False)

    op.create_table('qhd_request_notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('author', sa.String(length=80), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['qhd_help_requests.id'], name=op.f('fk_qhd_request_notes_request_id_qhd_help_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qhd_request_notes'))
    )
    with op.batch_alter_table('qhd_request_notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_qhd_request_notes_request_id'), ['request_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('qhd_request_notes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_qhd_request_notes_request_id'))

    op.drop_table('qhd_request_notes')
    with op.batch_alter_table('qhd_audit_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_qhd_audit_entries_request_id'))
        batch_op.drop_index(batch_op.f('ix_qhd_audit_entries_at'))
        batch_op.drop_index(batch_op.f('ix_qhd_audit_entries_action'))

    op.drop_table('qhd_audit_entries')
    op.drop_table('qhd_reference_counters')
    with op.batch_alter_table('qhd_help_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_qhd_help_requests_status'))
        batch_op.drop_index(batch_op.f('ix_qhd_help_requests_sender_id'))
        batch_op.drop_index('ix_qhd_help_requests_phone_category_created')
        batch_op.drop_index(batch_op.f('ix_qhd_help_requests_district'))
        batch_op.drop_index(batch_op.f('ix_qhd_help_requests_created_at'))
        batch_op.drop_index(batch_op.f('ix_qhd_help_requests_category'))

    op.drop_table('qhd_help_requests')
    with op.batch_alter_table('qhd_eligibility_checks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_qhd_eligibility_checks_sender_id'))
        batch_op.drop_index(batch_op.f('ix_qhd_eligibility_checks_program'))
        batch_op.drop_index(batch_op.f('ix_qhd_eligibility_checks_created_at'))

    op.drop_table('qhd_eligibility_checks')
    with op.batch_alter_table('qhd_conversation_states', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_qhd_conversation_states_updated_at'))

    op.drop_table('qhd_conversation_states')
    with op.batch_alter_table('qhd_analytics_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_qhd_analytics_events_type'))
        batch_op.drop_index(batch_op.f('ix_qhd_analytics_events_sender_id'))
        batch_op.drop_index(batch_op.f('ix_qhd_analytics_events_intent'))
        batch_op.drop_index(batch_op.f('ix_qhd_analytics_events_at'))

    op.drop_table('qhd_analytics_events')
    op.drop_table('qhd_accounts')
