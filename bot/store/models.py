"""Declarative SQLAlchemy models of the assistant's own database.

Every table is prefixed `qhd_`: the database may sit next to Rasa's SQL tracker store, whose table is
called `events` (so no table of ours may carry that name). Tables are created only by the Alembic
migrations in bot/store/migrations; these classes are the migrations' target metadata.

Times are naive UTC datetimes (SQLite keeps no zone); bot.store converts them to ISO strings with an
explicit +00:00 offset on the way out.
"""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.orm import declarative_base, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Base = declarative_base(metadata=sa.MetaData(naming_convention=NAMING_CONVENTION))


def utcnow() -> datetime:
    """Current time as naive UTC (what the columns store)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


class ReferenceCounter(Base):
    """One row per year: the last sequence number handed out. Incremented in the same transaction as the
    request insert, so two concurrent requests can never get the same reference number."""

    __tablename__ = "qhd_reference_counters"

    year = sa.Column(sa.Integer, primary_key=True, autoincrement=False)
    last_value = sa.Column(sa.Integer, nullable=False, default=0)


class HelpRequest(Base):
    """A resident's request for help or a call-back. The only table holding a full phone number."""

    __tablename__ = "qhd_help_requests"
    __table_args__ = (
        sa.CheckConstraint("urgency IN ('normal', 'urgent', 'emergency')", name="urgency"),
        sa.CheckConstraint("status IN ('new', 'in_progress', 'resolved', 'referred')", name="status"),
        sa.Index("ix_qhd_help_requests_phone_category_created", "phone", "category", "created_at"),
    )

    id = sa.Column(sa.Integer, primary_key=True)
    reference_no = sa.Column(sa.String(20), nullable=False, unique=True)
    sender_id = sa.Column(sa.String(255), nullable=True, index=True)
    name = sa.Column(sa.String(64), nullable=False)
    phone = sa.Column(sa.String(32), nullable=False)
    phone_last4 = sa.Column(sa.String(4), nullable=False)
    district = sa.Column(sa.String(32), nullable=False, index=True)
    township = sa.Column(sa.String(64), nullable=True)
    category = sa.Column(sa.String(64), nullable=False, index=True)
    description = sa.Column(sa.Text, nullable=False)
    urgency = sa.Column(sa.String(16), nullable=False, default="normal")
    status = sa.Column(sa.String(16), nullable=False, default="new", index=True)
    assignee = sa.Column(sa.String(64), nullable=True)
    entered_by = sa.Column(sa.String(80), nullable=False)
    decision_snapshot = sa.Column(sa.JSON, nullable=True)
    idempotency_key = sa.Column(sa.String(128), nullable=True, unique=True)
    created_at = sa.Column(sa.DateTime, nullable=False, default=utcnow, index=True)
    updated_at = sa.Column(sa.DateTime, nullable=False, default=utcnow)
    # When the resident agreed to the notice (个人信息保护法); None for rows from before the notice existed.
    consent_at = sa.Column(sa.DateTime, nullable=True)

    notes = relationship(
        "RequestNote", back_populates="request", order_by="RequestNote.id", cascade="all, delete-orphan"
    )


class RequestNote(Base):
    """A note on a request: a resident's addition or a staff member's working note."""

    __tablename__ = "qhd_request_notes"

    id = sa.Column(sa.Integer, primary_key=True)
    request_id = sa.Column(
        sa.Integer, sa.ForeignKey("qhd_help_requests.id", ondelete="CASCADE"), nullable=False, index=True
    )
    author = sa.Column(sa.String(80), nullable=False)
    text = sa.Column(sa.Text, nullable=False)
    created_at = sa.Column(sa.DateTime, nullable=False, default=utcnow)

    request = relationship("HelpRequest", back_populates="notes")


class AuditEntry(Base):
    """Who did what, when. Written in the same transaction as the change it records. `detail` never holds
    a full phone or ID number."""

    __tablename__ = "qhd_audit_entries"

    id = sa.Column(sa.Integer, primary_key=True)
    actor = sa.Column(sa.String(80), nullable=False)
    action = sa.Column(sa.String(40), nullable=False, index=True)
    request_id = sa.Column(
        sa.Integer, sa.ForeignKey("qhd_help_requests.id", ondelete="SET NULL"), nullable=True, index=True
    )
    detail = sa.Column(sa.JSON, nullable=True)
    at = sa.Column(sa.DateTime, nullable=False, default=utcnow, index=True)


class Account(Base):
    """An operator / staff / admin login. Passwords are stored only as argon2 hashes."""

    __tablename__ = "qhd_accounts"
    __table_args__ = (sa.CheckConstraint("role IN ('operator', 'staff', 'admin')", name="role"),)

    id = sa.Column(sa.Integer, primary_key=True)
    username = sa.Column(sa.String(64), nullable=False, unique=True)
    password_hash = sa.Column(sa.String(255), nullable=False)
    role = sa.Column(sa.String(16), nullable=False)
    active = sa.Column(sa.Boolean, nullable=False, default=True)
    created_at = sa.Column(sa.DateTime, nullable=False, default=utcnow)
    failed_logins = sa.Column(sa.Integer, nullable=False, default=0)
    locked_until = sa.Column(sa.DateTime, nullable=True)
    last_login_at = sa.Column(sa.DateTime, nullable=True)
    # Sessions issued before this instant are void: logout and disabling set it (bot/web/security.py).
    sessions_valid_after = sa.Column(sa.DateTime, nullable=True)


class ConversationState(Base):
    """Whether the bot or a human answers a conversation (human handoff)."""

    __tablename__ = "qhd_conversation_states"
    __table_args__ = (sa.CheckConstraint("state IN ('bot', 'waiting', 'operator')", name="state"),)

    sender_id = sa.Column(sa.String(255), primary_key=True)
    state = sa.Column(sa.String(16), nullable=False, default="bot")
    operator = sa.Column(sa.String(64), nullable=True)
    reason = sa.Column(sa.String(255), nullable=True)
    updated_at = sa.Column(sa.DateTime, nullable=False, default=utcnow, index=True)


class EligibilityCheck(Base):
    """One eligibility evaluation (case + result), kept for the staff desk's charts."""

    __tablename__ = "qhd_eligibility_checks"

    id = sa.Column(sa.Integer, primary_key=True)
    sender_id = sa.Column(sa.String(255), nullable=True, index=True)
    program = sa.Column(sa.String(32), nullable=False, index=True)
    eligible = sa.Column(sa.Boolean, nullable=True)
    case = sa.Column(sa.JSON, nullable=False)
    result = sa.Column(sa.JSON, nullable=False)
    rulebook_version = sa.Column(sa.String(64), nullable=True)
    entered_by = sa.Column(sa.String(80), nullable=False)
    created_at = sa.Column(sa.DateTime, nullable=False, default=utcnow, index=True)


class AnalyticsEvent(Base):
    """A conversation event for analytics (filled by an event-broker consumer). Deliberately not called
    `events`: that is Rasa's tracker-store table."""

    __tablename__ = "qhd_analytics_events"

    id = sa.Column(sa.Integer, primary_key=True)
    sender_id = sa.Column(sa.String(255), nullable=True, index=True)
    type = sa.Column(sa.String(64), nullable=False, index=True)
    intent = sa.Column(sa.String(128), nullable=True, index=True)
    at = sa.Column(sa.DateTime, nullable=False, default=utcnow, index=True)
    payload = sa.Column(sa.JSON, nullable=True)


class AccountRole(Base):
    """A further role an account holds besides its main one (an account may hold several): the policy
    roles of the rulebook page, granted separately so a staff member can also propose or approve."""

    __tablename__ = "qhd_account_roles"
    __table_args__ = (sa.CheckConstraint("role IN ('policy_editor', 'policy_approver')", name="role"),)

    account_id = sa.Column(sa.Integer, sa.ForeignKey("qhd_accounts.id", ondelete="CASCADE"), primary_key=True)
    role = sa.Column(sa.String(32), primary_key=True)


class PolicyProposal(Base):
    """A rulebook value proposed in the staff desk with its document. Approved rows are the dated layer
    above policies/*.yml; pending, rejected and withdrawn rows are kept for the record."""

    __tablename__ = "qhd_policy_proposals"
    __table_args__ = (
        sa.CheckConstraint("status IN ('pending', 'approved', 'rejected', 'withdrawn')", name="status"),
        sa.CheckConstraint("kind IN ('exact', 'floor', 'ceiling')", name="kind"),
    )

    id = sa.Column(sa.Integer, primary_key=True)
    parameter_id = sa.Column(sa.String(128), nullable=False, index=True)
    value = sa.Column(sa.JSON, nullable=False)
    kind = sa.Column(sa.String(8), nullable=False)
    effective_from = sa.Column(sa.Date, nullable=False)
    districts = sa.Column(sa.JSON, nullable=True)
    residence = sa.Column(sa.String(8), nullable=True)
    doc_no = sa.Column(sa.String(64), nullable=False, default="")
    doc_title = sa.Column(sa.String(200), nullable=False, default="")
    doc_date = sa.Column(sa.Date, nullable=True)
    doc_url = sa.Column(sa.String(500), nullable=False, default="")
    note = sa.Column(sa.Text, nullable=False, default="")
    status = sa.Column(sa.String(12), nullable=False, default="pending", index=True)
    proposed_by = sa.Column(sa.String(64), nullable=False)
    proposed_at = sa.Column(sa.DateTime, nullable=False, default=utcnow)
    decided_by = sa.Column(sa.String(64), nullable=True)
    decided_at = sa.Column(sa.DateTime, nullable=True)
    decision_reason = sa.Column(sa.Text, nullable=True)


class RulebookLayerVersion(Base):
    """One row: a counter bumped in the same transaction as every approval. Each process reads it (at
    most once a second) to know when to rebuild its rulebook: the change signal across instances."""

    __tablename__ = "qhd_rulebook_layer_version"

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=False)
    version = sa.Column(sa.Integer, nullable=False, default=0)
    changed_at = sa.Column(sa.DateTime, nullable=True)


class RateLimit(Base):
    """A fixed-window counter per key ("lookup:sender:<id>", "lookup:ref:<no>" ...), updated with one
    conditional UPDATE so two concurrent attempts can never both take the last allowed try."""

    __tablename__ = "qhd_rate_limits"

    key = sa.Column(sa.String(300), primary_key=True)
    window_start = sa.Column(sa.DateTime, nullable=False, index=True)
    count = sa.Column(sa.Integer, nullable=False, default=0)


class LearningItem(Base):
    """A message the assistant may have misunderstood (bot.learning): captured masked, reviewed by staff,
    exported as NLU training data. `source` says why it was captured; 👍 votes are kept too (rows with
    source 'thumbs_up', never shown in the inbox) so analytics can give a 👎 rate."""

    __tablename__ = "qhd_learning_items"
    __table_args__ = (
        sa.UniqueConstraint("sender_id", "event_ts", "source", name="uq_qhd_learning_items_turn_source"),
        sa.Index("ix_qhd_learning_items_status_group", "status", "group_key"),
    )

    id = sa.Column(sa.Integer, primary_key=True)
    sender_id = sa.Column(sa.String(255), nullable=False, index=True)
    source = sa.Column(sa.String(16), nullable=False, index=True)
    event_ts = sa.Column(sa.Float, nullable=False)
    text = sa.Column(sa.Text, nullable=False)
    group_key = sa.Column(sa.String(255), nullable=False)
    intent = sa.Column(sa.String(128), nullable=True, index=True)
    confidence = sa.Column(sa.Float, nullable=True)
    margin = sa.Column(sa.Float, nullable=True)
    bot_reply = sa.Column(sa.Text, nullable=True)
    context = sa.Column(sa.JSON, nullable=True)
    reason = sa.Column(sa.String(255), nullable=True)
    status = sa.Column(sa.String(16), nullable=False, default="open")
    label = sa.Column(sa.String(128), nullable=True)
    label_note = sa.Column(sa.String(255), nullable=True)
    hard = sa.Column(sa.Boolean, nullable=False, default=False)
    reviewed_by = sa.Column(sa.String(80), nullable=True)
    reviewed_at = sa.Column(sa.DateTime, nullable=True)
    created_at = sa.Column(sa.DateTime, nullable=False, default=utcnow, index=True)
