"""Eligibility check outcomes, kept so the staff desk can chart what residents ask and how it ends.

The stored case holds household facts (ages, incomes) but no names or phone numbers; the result is the
eligibility engine's result object exactly as shown to the resident.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from bot.store.common import clean_text, day_start_utc, ensure_json, parse_day, utcnow
from bot.store.db import session_scope
from bot.store.models import EligibilityCheck


def record_check(
    sender_id: str | None,
    program: str,
    case: dict[str, Any],
    result: dict[str, Any],
    entered_by: str,
    url: str | None = None,
) -> int:
    """Store one evaluation; returns its id. `eligible` and `rulebook_version` are taken from `result`."""
    program = clean_text(program, "测算项目", 32)
    if not isinstance(case, dict) or not isinstance(result, dict):
        raise ValueError("测算记录格式不正确：案情和结果都应为 JSON 对象")
    eligible = result.get("eligible")
    if eligible not in (True, False, None):
        raise ValueError("测算结果中的 eligible 只能是 true、false 或 null")
    version = result.get("rulebook_version")
    row = EligibilityCheck(
        sender_id=clean_text(sender_id, "会话编号", 255, required=False),
        program=program,
        eligible=eligible,
        case=ensure_json(case, "测算案情"),
        result=ensure_json(result, "测算结果"),
        rulebook_version=str(version)[:64] if version is not None else None,
        entered_by=clean_text(entered_by, "录入人", 80),
        created_at=utcnow(),
    )
    with session_scope(url) as session:
        session.add(row)
        session.flush()
        return int(row.id)


def check_summary(
    date_from: date | str | None = None, date_to: date | str | None = None, url: str | None = None
) -> list[dict[str, Any]]:
    """Counts per program and outcome for charts: [{"program", "eligible" (true/false/null), "count"}].
    Dates are Chinese calendar days, inclusive."""
    first, last = parse_day(date_from, "开始日期"), parse_day(date_to, "结束日期")
    query = sa.select(EligibilityCheck.program, EligibilityCheck.eligible, sa.func.count(EligibilityCheck.id))
    if first:
        query = query.where(EligibilityCheck.created_at >= day_start_utc(first))
    if last:
        query = query.where(EligibilityCheck.created_at < day_start_utc(last + timedelta(days=1)))
    query = query.group_by(EligibilityCheck.program, EligibilityCheck.eligible).order_by(EligibilityCheck.program)
    with session_scope(url) as session:
        return [{"program": p, "eligible": e, "count": int(c)} for p, e, c in session.execute(query)]
