"""How long personal data is kept, table by table, and the purge that enforces it.

Why one policy object: the notice residents read before giving their name and phone states the period
(actions/requests.py reads `closed_request_days`), so the figure shown and the figure enforced are one.
Settings (.env.example):
    REQUEST_RETENTION_DAYS=365      closed (resolved / referred) help requests, their notes, counted from
                                    the last change; audit details of a purged request are redacted
    CHECK_RETENTION_DAYS=365        eligibility checks (household facts, linked to a conversation)
    ANALYTICS_RETENTION_DAYS=365    analytics events (sender id, intent)
    CONVERSATION_STATE_DAYS=30      handoff states of conversations idle that long
    AUDIT_RETENTION_DAYS=1095       audit entries (accountability outlives the data; details hold no phone)
    TRACKER_RETENTION_DAYS=180      Rasa's conversation events (bot.store.cli_db purge-tracker)
Look-up counters are dropped a day after their window. Open requests are never purged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from bot.settings import DEFAULTS, env_settings
from bot.store import limits
from bot.store.common import utcnow, write_audit
from bot.store.db import session_scope
from bot.store.models import AnalyticsEvent, AuditEntry, ConversationState, EligibilityCheck, HelpRequest

CLOSED_STATUSES = ("resolved", "referred")


@dataclass(frozen=True)
class RetentionPolicy:
    closed_request_days: int = DEFAULTS.request_retention_days
    check_days: int = DEFAULTS.check_retention_days
    analytics_days: int = DEFAULTS.analytics_retention_days
    conversation_state_days: int = DEFAULTS.conversation_state_days
    audit_days: int = DEFAULTS.audit_retention_days
    tracker_days: int = DEFAULTS.tracker_retention_days

    @classmethod
    def from_env(cls) -> RetentionPolicy:
        """The periods the settings give (bot.settings checks that each is at least one day)."""
        env = env_settings()
        return cls(
            closed_request_days=env.request_retention_days,
            check_days=env.check_retention_days,
            analytics_days=env.analytics_retention_days,
            conversation_state_days=env.conversation_state_days,
            audit_days=env.audit_retention_days,
            tracker_days=env.tracker_retention_days,
        )


def purge(policy: RetentionPolicy, url: str | None = None, now: datetime | None = None) -> dict[str, int]:
    """Delete what is past its period in our tables (the tracker has its own purge); returns counts."""
    now = now or utcnow()
    counts: dict[str, int] = {}
    with session_scope(url) as session:
        old_ids = list(
            session.execute(
                sa.select(HelpRequest.id).where(
                    HelpRequest.status.in_(CLOSED_STATUSES),
                    HelpRequest.updated_at < now - timedelta(days=policy.closed_request_days),
                )
            ).scalars()
        )
        session.execute(sa.update(AuditEntry).where(AuditEntry.request_id.in_(old_ids)).values(detail={"purged": True}))
        for row in session.execute(sa.select(HelpRequest).where(HelpRequest.id.in_(old_ids))).scalars():
            session.delete(row)  # notes go with it (cascade)
        counts["help_requests"] = len(old_ids)
        for key, model, column, days in (
            ("eligibility_checks", EligibilityCheck, EligibilityCheck.created_at, policy.check_days),
            ("analytics_events", AnalyticsEvent, AnalyticsEvent.at, policy.analytics_days),
            ("conversation_states", ConversationState, ConversationState.updated_at, policy.conversation_state_days),
            ("audit_entries", AuditEntry, AuditEntry.at, policy.audit_days),
        ):
            deleted = session.execute(sa.delete(model).where(column < now - timedelta(days=days)))
            counts[key] = int(deleted.rowcount or 0)
        counts["rate_limits"] = limits.purge_expired(session, timedelta(days=1), now)
        write_audit(session, "system", "retention_purge", None, counts)
    return counts
