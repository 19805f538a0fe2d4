"""One person's data on request (个人信息保护法 第四十五、四十七条): export it, or erase it everywhere.

A person is found by phone number or by a reference number. Their conversations are the sender ids of
their requests; from those we reach every table that holds personal data:
- qhd_help_requests (+ notes, by cascade) - the record itself;
- qhd_audit_entries - kept (who did what must stay accountable) but their details are redacted;
- qhd_eligibility_checks, qhd_conversation_states, qhd_analytics_events - by sender id;
- qhd_rate_limits - look-up counters keyed by sender id or reference number;
- Rasa's tracker store (table `events`, SQLite or PostgreSQL) - every event of those conversations;
- the outbox (bot/store/outbox.py) - a parked request with that phone number.
Both operations are audited (the audit entry names the staff member, never the full phone number).
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from bot.privacy import mask_phone, normalise_phone
from bot.settings import env_settings
from bot.store import outbox
from bot.store.common import iso, write_audit
from bot.store.db import absolute_sqlite_url, session_scope
from bot.store.help_requests import _full_record
from bot.store.models import AnalyticsEvent, AuditEntry, ConversationState, EligibilityCheck, HelpRequest, RateLimit
from bot.store.references import normalise_reference

TRACKER_TABLE = "events"
WINDOW_TABLE = "qhd_tracker_window"  # bot.tracker_window.WindowSnapshot


def _tracker_url(url: str | None) -> str:
    return url or env_settings().tracker_db_url


def _who(phone: str | None, reference_no: str | None) -> tuple[str | None, str | None]:
    normal_phone = normalise_phone(phone) if phone else None
    normal_ref = normalise_reference(reference_no) if reference_no else None
    if not normal_phone and not normal_ref:
        raise ValueError("请填写要查找的人的电话号码或求助编号")
    return normal_phone, normal_ref


def _requests(session: Any, phone: str | None, reference_no: str | None) -> list[HelpRequest]:
    condition = []
    if phone:
        condition.append(HelpRequest.phone == phone)
    if reference_no:
        condition.append(HelpRequest.reference_no == reference_no)
    rows = list(session.execute(sa.select(HelpRequest).where(sa.or_(*condition))).scalars())
    if reference_no and rows and not phone:  # the person behind the number: all their requests
        phones = {r.phone for r in rows}
        rows = list(session.execute(sa.select(HelpRequest).where(HelpRequest.phone.in_(phones))).scalars())
    return rows


def _senders(rows: list[HelpRequest]) -> list[str]:
    """The residents' conversations behind these requests (a console entry's sender is the operator)."""
    return sorted({r.sender_id for r in rows if r.sender_id and not r.sender_id.startswith("operator:")})


def _tracker_events(tracker_url: str | None, senders: list[str]) -> list[dict[str, Any]]:
    if not tracker_url or not senders:
        return []
    engine = sa.create_engine(absolute_sqlite_url(tracker_url), future=True)
    try:
        if not sa.inspect(engine).has_table(TRACKER_TABLE):
            return []
        events = sa.table(TRACKER_TABLE, sa.column("sender_id"), sa.column("data"), sa.column("id"))
        with engine.connect() as connection:
            rows = connection.execute(
                sa.select(events.c.sender_id, events.c.data)
                .where(events.c.sender_id.in_(senders))
                .order_by(events.c.id)
            )
            return [{"sender_id": s, **json.loads(d)} for s, d in rows]
    finally:
        engine.dispose()


def _delete_tracker_events(tracker_url: str | None, senders: list[str]) -> int:
    if not tracker_url or not senders:
        return 0
    engine = sa.create_engine(absolute_sqlite_url(tracker_url), future=True)
    try:
        if not sa.inspect(engine).has_table(TRACKER_TABLE):
            return 0
        events = sa.table(TRACKER_TABLE, sa.column("sender_id"))
        has_window = sa.inspect(engine).has_table(WINDOW_TABLE)
        with engine.begin() as connection:
            if has_window:  # the state snapshot before a conversation's window (bot.tracker_window)
                window = sa.table(WINDOW_TABLE, sa.column("sender_id"))
                connection.execute(sa.delete(window).where(window.c.sender_id.in_(senders)))
            return int(connection.execute(sa.delete(events).where(events.c.sender_id.in_(senders))).rowcount or 0)
    finally:
        engine.dispose()


def export_person(
    actor: str,
    phone: str | None = None,
    reference_no: str | None = None,
    url: str | None = None,
    tracker_url: str | None = None,
) -> dict[str, Any]:
    """Everything held about the person, as JSON-ready data. Audited."""
    normal_phone, normal_ref = _who(phone, reference_no)
    with session_scope(url) as session:
        rows = _requests(session, normal_phone, normal_ref)
        senders = _senders(rows)
        data: dict[str, Any] = {
            "help_requests": [_full_record(session, r) for r in rows],
            "eligibility_checks": [
                {"created_at": iso(c.created_at), "program": c.program, "eligible": c.eligible, "case": c.case}
                for c in session.execute(
                    sa.select(EligibilityCheck).where(EligibilityCheck.sender_id.in_(senders))
                ).scalars()
            ],
            "conversations": senders,
        }
        write_audit(
            session,
            actor,
            "personal_data_export",
            None,
            {
                "phone": mask_phone(normal_phone or (rows[0].phone if rows else "")),
                "requests": [r.reference_no for r in rows],
            },
        )
    data["conversation_events"] = _tracker_events(_tracker_url(tracker_url), senders)
    return data


def erase_person(
    actor: str,
    phone: str | None = None,
    reference_no: str | None = None,
    url: str | None = None,
    tracker_url: str | None = None,
) -> dict[str, int]:
    """Delete the person's data everywhere (see the module doc); returns counts per place. Audited."""
    normal_phone, normal_ref = _who(phone, reference_no)
    with session_scope(url) as session:
        rows = _requests(session, normal_phone, normal_ref)
        senders = _senders(rows)
        references = [r.reference_no for r in rows]
        ids = [r.id for r in rows]
        counts = {"help_requests": len(rows)}
        counts["audit_redacted"] = int(
            session.execute(
                sa.update(AuditEntry).where(AuditEntry.request_id.in_(ids)).values(detail={"erased": True})
            ).rowcount
            or 0
        )
        for row in rows:
            session.delete(row)
        by_sender = (
            (EligibilityCheck, EligibilityCheck.sender_id),
            (ConversationState, ConversationState.sender_id),
            (AnalyticsEvent, AnalyticsEvent.sender_id),
        )
        for model, column in by_sender:
            deleted = session.execute(sa.delete(model).where(column.in_(senders)))
            counts[model.__tablename__] = int(deleted.rowcount or 0)
        keys = [f"lookup:sender:{s}" for s in senders] + [f"lookup:ref:{r}" for r in references]
        session.execute(sa.delete(RateLimit).where(RateLimit.key.in_(keys)))
        write_audit(
            session,
            actor,
            "personal_data_erase",
            None,
            {
                "phone": mask_phone(normal_phone or (rows[0].phone if rows else "")),
                "requests": references,
                "conversations": len(senders),
            },
        )
    counts["tracker_events"] = _delete_tracker_events(_tracker_url(tracker_url), senders)
    counts["outbox"] = outbox.forget_phone(normal_phone) if normal_phone else 0
    return counts
