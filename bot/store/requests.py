"""Help requests: create, look up, annotate and move through the workflow new -> in_progress ->
resolved | referred.

Why it is shaped this way:
- A request and its audit entry are written in one transaction, and the reference number is handed back
  only after that transaction committed, so a resident never holds a number that does not exist.
- Reference numbers come from a per-year counter row incremented inside the same transaction; the row
  lock (PostgreSQL) or the immediate write lock (SQLite) makes concurrent creations queue, never collide.
- A resident may see a request's status only with its reference number AND the last four digits of its
  phone number; repeated wrong guesses block the lookup for a while (reference numbers are sequential).

Functions are synchronous; async callers (the action server) should run them in a thread.
"""
from __future__ import annotations

import hmac
import re
import unicodedata
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.privacy import mask_phone, normalise_phone, phone_last4
from bot.store.categories import CATEGORIES, STATUSES, TRANSITIONS, URGENCIES, category_label
from bot.store.common import (clean_text, day_start_utc, ensure_json, iso, local_now, parse_day,
                              utcnow, write_audit)
from bot.store.db import session_scope
from bot.store.models import AuditEntry, HelpRequest, ReferenceCounter, RequestNote

REFERENCE_PREFIX = "QHD"
_REFERENCE = re.compile(r"QHD[-_ ]?(\d{4})[-_ ]?(\d{6})")
_ENTERED_BY = re.compile(r"resident|(?:operator|staff|admin):[^\s:]{1,64}")
DUPLICATE_WINDOW_DAYS = 7
# Status lookups with a wrong phone ending: after this many within the window the lookup is refused
# even with the right digits, so nobody can walk through the 10 000 endings of a sequential number.
MAX_FAILED_LOOKUPS = 10
FAILED_LOOKUP_WINDOW = timedelta(hours=1)
MAX_LIST_LIMIT = 1000
_CREATE_ATTEMPTS = 3


class RequestNotFound(ValueError):
    """No request has this reference number (a ValueError, so callers showing Chinese errors catch it)."""

    def __init__(self, reference_no: str) -> None:
        super().__init__(f"未找到受理编号为 {reference_no} 的求助记录，请核对编号")
        self.reference_no = reference_no


def normalise_reference(text: str | None) -> str | None:
    """'qhd 2026 000123' / full-width forms -> 'QHD-2026-000123'; None if it is not a reference number."""
    if not isinstance(text, str):
        return None
    compact = unicodedata.normalize("NFKC", text).strip().upper()
    match = _REFERENCE.fullmatch(compact)
    return f"{REFERENCE_PREFIX}-{match.group(1)}-{match.group(2)}" if match else None


def _normalise_district(text: str) -> str | None:
    """Canonical district name via the rulebook (which owns the list of districts)."""
    from bot.rulebook import default_rulebook

    return default_rulebook().normalise_district(text)


def _validate(data: dict[str, Any]) -> dict[str, Any]:
    """Clean and check a new request's fields; raise ValueError with a Chinese message on the first
    problem. Nothing is written before this passes."""
    if not isinstance(data, dict):
        raise ValueError("求助信息格式不正确")
    phone = normalise_phone(data.get("phone"))
    if phone is None:
        raise ValueError("电话号码格式不正确：请填写11位手机号，或带区号的固定电话（如 0335-1234567）")
    district_text = clean_text(data.get("district"), "所在县区", 32)
    district = _normalise_district(district_text)
    if district is None:
        raise ValueError(f"无法识别县区“{district_text}”，请填写秦皇岛市的县区名称，如 海港区、青龙满族自治县")
    category = data.get("category")
    if category not in CATEGORIES:
        raise ValueError("求助类别不正确，请从列出的类别中选择")
    urgency = data.get("urgency") or "normal"
    if urgency not in URGENCIES:
        raise ValueError("紧急程度只能是：" + "、".join(URGENCIES.values()))
    entered_by = data.get("entered_by") or "resident"
    if not isinstance(entered_by, str) or not _ENTERED_BY.fullmatch(entered_by):
        raise ValueError("录入人格式不正确（应为 resident 或 operator:用户名）")
    snapshot = data.get("decision_snapshot")
    if snapshot is not None and not isinstance(snapshot, dict):
        raise ValueError("资格测算结果格式不正确")
    return {
        "sender_id": clean_text(data.get("sender_id"), "会话编号", 255, required=False),
        "name": clean_text(data.get("name"), "姓名（或称呼）", 64),
        "phone": phone,
        "phone_last4": phone_last4(phone),
        "district": district,
        "township": clean_text(data.get("township"), "乡镇（街道）", 64, required=False),
        "category": category,
        "description": clean_text(data.get("description"), "求助内容", 2000),
        "urgency": urgency,
        "entered_by": entered_by,
        "decision_snapshot": ensure_json(snapshot, "资格测算结果"),
    }


def _actor(actor: Any) -> str:
    return clean_text(actor, "操作人", 80)  # type: ignore[return-value]


def _record(row: HelpRequest) -> dict[str, Any]:
    """The stored request as a JSON-ready dict (full phone included: this is the request record)."""
    return {
        "id": row.id,
        "reference_no": row.reference_no,
        "sender_id": row.sender_id,
        "name": row.name,
        "phone": row.phone,
        "phone_masked": mask_phone(row.phone),
        "phone_last4": row.phone_last4,
        "district": row.district,
        "township": row.township,
        "category": row.category,
        "category_zh": category_label(row.category),
        "description": row.description,
        "urgency": row.urgency,
        "urgency_zh": URGENCIES.get(row.urgency, row.urgency),
        "status": row.status,
        "status_zh": STATUSES.get(row.status, row.status),
        "assignee": row.assignee,
        "entered_by": row.entered_by,
        "decision_snapshot": row.decision_snapshot,
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
    }


def _full_record(session: Session, row: HelpRequest) -> dict[str, Any]:
    """The record plus its notes and audit trail (oldest first)."""
    record = _record(row)
    record["notes"] = [
        {"id": n.id, "author": n.author, "text": n.text, "created_at": iso(n.created_at)} for n in row.notes
    ]
    audit = session.execute(
        sa.select(AuditEntry).where(AuditEntry.request_id == row.id).order_by(AuditEntry.id)
    ).scalars()
    record["audit"] = [
        {"id": a.id, "actor": a.actor, "action": a.action, "detail": a.detail, "at": iso(a.at)} for a in audit
    ]
    return record


def _next_reference(session: Session, now_utc: datetime) -> str:
    """Take the next number of the current (Chinese calendar) year inside the caller's transaction."""
    year = local_now(now_utc).year
    counter = ReferenceCounter.__table__
    for _ in range(5):
        bumped = session.execute(
            sa.update(counter).where(counter.c.year == year).values(last_value=counter.c.last_value + 1)
        )
        if bumped.rowcount == 1:
            value = session.execute(sa.select(counter.c.last_value).where(counter.c.year == year)).scalar_one()
            return f"{REFERENCE_PREFIX}-{year}-{value:06d}"
        try:  # first request of the year: create the row; a concurrent creator may beat us to it
            with session.begin_nested():
                session.execute(sa.insert(counter).values(year=year, last_value=1))
            return f"{REFERENCE_PREFIX}-{year}-{1:06d}"
        except IntegrityError:
            continue
    raise RuntimeError("could not allocate a reference number")


def _by_key(session: Session, key: str) -> HelpRequest | None:
    return session.execute(sa.select(HelpRequest).where(HelpRequest.idempotency_key == key)).scalar_one_or_none()


def _by_reference(session: Session, reference_no: str, for_update: bool = False) -> HelpRequest:
    normal = normalise_reference(reference_no)
    if normal is None:
        raise ValueError("受理编号格式不正确，应类似 QHD-2026-000123")
    query = sa.select(HelpRequest).where(HelpRequest.reference_no == normal)
    if for_update:
        query = query.with_for_update()
    row = session.execute(query).scalar_one_or_none()
    if row is None:
        raise RequestNotFound(normal)
    return row


def _add_note(session: Session, row: HelpRequest, text: Any, actor: str) -> RequestNote:
    body = clean_text(text, "补充内容", 2000)
    note = RequestNote(request_id=row.id, author=actor, text=body, created_at=utcnow())
    session.add(note)
    session.flush()
    row.updated_at = note.created_at
    write_audit(session, actor, "note", row.id, {"reference_no": row.reference_no, "note_id": note.id})
    return note


def create_request(data: dict[str, Any], actor: str, idempotency_key: str | None = None,
                   url: str | None = None) -> dict[str, Any]:
    """Store a new help request with its audit entry in one transaction and return the committed record
    (with `reference_no`). The same `idempotency_key` again returns the first record unchanged."""
    fields = _validate(data)
    actor = _actor(actor)
    key = clean_text(idempotency_key, "幂等键", 128, required=False)
    for attempt in range(_CREATE_ATTEMPTS):
        try:
            with session_scope(url) as session:
                existing = _by_key(session, key) if key else None
                if existing is not None:
                    return _record(existing)
                now = utcnow()
                row = HelpRequest(**fields, reference_no=_next_reference(session, now), status="new",
                                  idempotency_key=key, created_at=now, updated_at=now)
                session.add(row)
                session.flush()
                write_audit(session, actor, "create", row.id, {
                    "reference_no": row.reference_no, "category": row.category, "district": row.district,
                    "urgency": row.urgency, "entered_by": row.entered_by,
                })
                record = _record(row)
            return record  # only now, after the commit, does the caller learn the number
        except IntegrityError:
            if key:  # a concurrent call with the same key won: hand back its record
                with session_scope(url) as session:
                    existing = _by_key(session, key)
                    if existing is not None:
                        return _record(existing)
            if attempt == _CREATE_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def find_duplicate(phone: str, category: str, within_days: int = DUPLICATE_WINDOW_DAYS,
                   url: str | None = None) -> dict[str, Any] | None:
    """The most recent request with the same phone and category created within `within_days` days."""
    normal = normalise_phone(phone)
    if normal is None:
        raise ValueError("电话号码格式不正确：请填写11位手机号，或带区号的固定电话（如 0335-1234567）")
    if category not in CATEGORIES:
        raise ValueError("求助类别不正确，请从列出的类别中选择")
    since = utcnow() - timedelta(days=within_days)
    with session_scope(url) as session:
        row = session.execute(
            sa.select(HelpRequest)
            .where(HelpRequest.phone == normal, HelpRequest.category == category, HelpRequest.created_at >= since)
            .order_by(HelpRequest.created_at.desc(), HelpRequest.id.desc())
            .limit(1)
        ).scalar_one_or_none()
        return _record(row) if row is not None else None


def add_to_request(reference_no: str, text: str, actor: str, url: str | None = None) -> dict[str, Any]:
    """Append a note (a resident's addition or a staff note) and its audit entry; returns the updated
    request with notes and audit trail. Raises RequestNotFound / ValueError."""
    actor = _actor(actor)
    with session_scope(url) as session:
        row = _by_reference(session, reference_no, for_update=True)
        _add_note(session, row, text, actor)
        session.flush()
        session.refresh(row)
        return _full_record(session, row)


def status_for_resident(reference_no: str, phone_last4: str, url: str | None = None) -> dict[str, Any] | None:
    """What a resident may learn about a request: status, category, dates. None unless the reference
    number exists AND the phone's last four digits match (and the lookup is not blocked)."""
    normal = normalise_reference(reference_no)
    last4 = unicodedata.normalize("NFKC", phone_last4).strip() if isinstance(phone_last4, str) else ""
    if normal is None or not re.fullmatch(r"[0-9]{4}", last4):
        return None
    with session_scope(url) as session:
        row = session.execute(sa.select(HelpRequest).where(HelpRequest.reference_no == normal)).scalar_one_or_none()
        if row is None:
            return None
        failures = session.execute(
            sa.select(sa.func.count(AuditEntry.id)).where(
                AuditEntry.request_id == row.id,
                AuditEntry.action == "status_lookup_failed",
                AuditEntry.at >= utcnow() - FAILED_LOOKUP_WINDOW,
            )
        ).scalar_one()
        if failures >= MAX_FAILED_LOOKUPS:
            return None
        if not hmac.compare_digest(row.phone_last4, last4):
            write_audit(session, "resident", "status_lookup_failed", row.id, {"reference_no": normal})
            return None
        return {
            "reference_no": row.reference_no,
            "status": row.status,
            "status_zh": STATUSES.get(row.status, row.status),
            "category": row.category,
            "category_zh": category_label(row.category),
            "created_at": iso(row.created_at),
            "updated_at": iso(row.updated_at),
        }


def update_status(reference_no: str, status: str, actor: str, note: str | None = None,
                  assignee: str | None = None, url: str | None = None) -> dict[str, Any]:
    """Move a request along the workflow (new -> in_progress -> resolved | referred), optionally with a
    note and a new assignee; the same status with only a note / assignee is allowed. Every change gets an
    audit entry. Returns the updated request with notes and audit trail."""
    if status not in STATUSES:
        raise ValueError("未知的办理状态：" + str(status) + "；可选：" + "、".join(STATUSES.values()))
    actor = _actor(actor)
    assignee = clean_text(assignee, "承办人", 64, required=False)
    note = clean_text(note, "办理备注", 2000, required=False)
    with session_scope(url) as session:
        row = _by_reference(session, reference_no, for_update=True)
        current = row.status
        if status == current:
            if assignee is None and note is None:
                raise ValueError(f"状态未变化：该求助已是“{STATUSES[current]}”")
        elif status not in TRANSITIONS[current]:
            allowed = "、".join(f"“{STATUSES[s]}”" for s in sorted(TRANSITIONS[current])) or "无（已结束）"
            raise ValueError(f"不能从“{STATUSES[current]}”改为“{STATUSES[status]}”；可改为：{allowed}")
        now = utcnow()
        if status != current:
            row.status = status
            write_audit(session, actor, "status", row.id,
                        {"reference_no": row.reference_no, "from": current, "to": status})
        if assignee is not None and assignee != row.assignee:
            write_audit(session, actor, "assign", row.id,
                        {"reference_no": row.reference_no, "from": row.assignee, "to": assignee})
            row.assignee = assignee
        if note is not None:
            _add_note(session, row, note, actor)
        row.updated_at = now
        session.flush()
        session.refresh(row)
        return _full_record(session, row)


def get_request(reference_no: str, url: str | None = None) -> dict[str, Any] | None:
    """The full record with notes and audit trail; None for an unknown (or malformed) reference."""
    if normalise_reference(reference_no) is None:
        return None
    with session_scope(url) as session:
        try:
            row = _by_reference(session, reference_no)
        except RequestNotFound:
            return None
        return _full_record(session, row)


def list_requests(status: str | None = None, district: str | None = None, category: str | None = None,
                  urgency: str | None = None, date_from: date | str | None = None,
                  date_to: date | str | None = None, search: str | None = None, limit: int = 200,
                  offset: int = 0, url: str | None = None) -> list[dict[str, Any]]:
    """Requests matching every given filter, newest first. Dates are Chinese calendar days, both
    inclusive. `search` matches reference number, name, phone, township or description. Empty strings
    count as "no filter" (web forms send them)."""
    status, district, category, urgency = (v or None for v in (status, district, category, urgency))
    if status is not None and status not in STATUSES:
        raise ValueError("未知的办理状态：" + str(status))
    if urgency is not None and urgency not in URGENCIES:
        raise ValueError("未知的紧急程度：" + str(urgency))
    if category is not None and category not in CATEGORIES:
        raise ValueError("未知的求助类别：" + str(category))
    if not isinstance(limit, int) or not 1 <= limit <= MAX_LIST_LIMIT:
        raise ValueError(f"每页条数应在 1 到 {MAX_LIST_LIMIT} 之间")
    if not isinstance(offset, int) or offset < 0:
        raise ValueError("起始位置不能为负数")
    first, last = parse_day(date_from, "开始日期"), parse_day(date_to, "结束日期")
    query = sa.select(HelpRequest)
    if status:
        query = query.where(HelpRequest.status == status)
    if district:
        query = query.where(HelpRequest.district == (_normalise_district(district) or district))
    if category:
        query = query.where(HelpRequest.category == category)
    if urgency:
        query = query.where(HelpRequest.urgency == urgency)
    if first:
        query = query.where(HelpRequest.created_at >= day_start_utc(first))
    if last:
        query = query.where(HelpRequest.created_at < day_start_utc(last + timedelta(days=1)))
    term = clean_text(search, "搜索词", 100, required=False)
    if term:
        term = unicodedata.normalize("NFKC", term)
        matches = [
            sa.func.lower(column).contains(term.lower(), autoescape=True)
            for column in (HelpRequest.reference_no, HelpRequest.name, HelpRequest.township,
                           HelpRequest.description)
        ]
        digits = re.sub(r"\D", "", term)
        if len(digits) >= 4:
            matches.append(sa.func.replace(HelpRequest.phone, "-", "").contains(digits, autoescape=True))
        query = query.where(sa.or_(*matches))
    query = query.order_by(HelpRequest.created_at.desc(), HelpRequest.id.desc()).limit(limit).offset(offset)
    with session_scope(url) as session:
        return [_record(row) for row in session.execute(query).scalars()]
