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

import os
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

import sqlalchemy as sa

from bot.store import limits
from bot.store.common import utcnow, write_audit
from bot.store.db import _load_dotenv_once, session_scope
from bot.store.models import AnalyticsEvent, AuditEntry, ConversationState, EligibilityCheck, HelpRequest

CLOSED_STATUSES = ("resolved", "referred")


def _days(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    try:
        value = int(raw) if raw else default
    except ValueError:
        raise ValueError(f"{name} 应为天数（正整数），现在是「{raw}」") from None
    if value < 1:
        raise ValueError(f"{name} 至少为 1 天")
    return value


@dataclass(frozen=True)
class RetentionPolicy:
    closed_request_days: int = 365
    check_days: int = 365
    analytics_days: int = 365
    conversation_state_days: int = 30
    audit_days: int = 1095
    tracker_days: int = 180

    @classmethod
    def from_env(cls) -> RetentionPolicy:
        _load_dotenv_once()
        names = {
            "closed_request_days": "REQUEST_RETENTION_DAYS",
            "check_days": "CHECK_RETENTION_DAYS",
            "analytics_days": "ANALYTICS_RETENTION_DAYS",
            "conversation_state_days": "CONVERSATION_STATE_DAYS",
            "audit_days": "AUDIT_RETENTION_DAYS",
            "tracker_days": "TRACKER_RETENTION_DAYS",
        }
        return cls(**{f.name: _days(names[f.name], f.default) for f in fields(cls)})  # type: ignore[arg-type]


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
