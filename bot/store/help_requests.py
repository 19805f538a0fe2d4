"""Help requests: create, look up, annotate and move through the workflow new -> in_progress ->
resolved | referred.

Why it is shaped this way:
- A request and its audit entry are written in one transaction, and the reference number is handed back
  only after that transaction committed, so a resident never holds a number that does not exist.
- Reference numbers are random with a check symbol (bot.store.references): a neighbour's number cannot be
  derived from one's own. The unique constraint settles the (rare) clash; creation then retries.
- A resident may see a request's status only with its reference number AND the last four digits of its
  phone number. Wrong guesses are limited per conversation, per client address and per reference number
  (bot.store.limits, one atomic UPDATE each); the conversation that created a request is never locked out
  by the per-number limit, so strangers' guesses cannot take the owner's look-up away.
- The duplicate offer and additions to an existing request stay inside the conversation that created it:
  a phone number typed by a stranger never reveals or opens someone else's request.

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
from bot.rulebook import default_rulebook
from bot.store import limits
from bot.store.categories import CATEGORIES, STATUSES, TRANSITIONS, URGENCIES, category_label
from bot.store.common import clean_text, day_start_utc, ensure_json, iso, local_now, parse_day, utcnow, write_audit
from bot.store.db import session_scope
from bot.store.models import AuditEntry, HelpRequest, RequestNote
from bot.store.references import new_reference, normalise_reference

_ENTERED_BY = re.compile(r"resident|(?:operator|staff|admin):[^\s:]{1,64}")
DUPLICATE_WINDOW_DAYS = 7
# Failed status look-ups allowed within the window, per conversation, per client address and per
# reference number; beyond them the look-up is refused even with the right digits.
FAILED_LOOKUP_LIMITS = {"sender": 5, "address": 20, "reference": 10}
FAILED_LOOKUP_WINDOW = timedelta(hours=1)
MAX_LIST_LIMIT = 1000
_CREATE_ATTEMPTS = 3


class LookupThrottled(ValueError):
    """Too many failed status look-ups from this conversation or address (or for this number)."""

    def __init__(self) -> None:
        super().__init__("查询失败次数太多，请一小时后再试，或者说「转人工」")


class RequestNotFound(ValueError):
    """No request has this reference number (a ValueError, so callers showing Chinese errors catch it)."""

    def __init__(self, reference_no: str) -> None:
        super().__init__(f"未找到受理编号为 {reference_no} 的求助记录，请核对编号")
        self.reference_no = reference_no


def _normalise_district(text: str) -> str | None:
    """Canonical district name via the rulebook (which owns the list of districts)."""
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
        "consent_at": _consent_time(data.get("consent"), entered_by),
    }


def _consent_time(consent: Any, entered_by: str) -> datetime:
    """Every request keeps a name and a phone number, so it needs the person's consent (个人信息保护法): a
    resident's own request their answer to the notice in the chat, an operator's entry the caller's
    consent asked for on the phone (the console's checkbox)."""
    if consent is True:
        return utcnow()
    if entered_by == "resident":
        raise ValueError("需要先同意个人信息告知，才能登记姓名和电话")
    raise ValueError("请先告诉来电人：姓名和电话只用于办理这次求助；来电人同意后，勾选“来电人同意登记”")


def _actor(actor: Any) -> str:
    return clean_text(actor, "操作人", 80)


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
        "consent_at": iso(row.consent_at),
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
    """A random reference number of the current (Chinese calendar) year not yet in use."""
    year = local_now(now_utc).year
    for _ in range(5):
        candidate = new_reference(year)
        taken = session.execute(sa.select(HelpRequest.id).where(HelpRequest.reference_no == candidate)).first()
        if taken is None:
            return candidate  # a concurrent clash is still caught by the unique constraint (create retries)
    raise RuntimeError("could not allocate a reference number")


def _by_key(session: Session, key: str) -> HelpRequest | None:
    return session.execute(sa.select(HelpRequest).where(HelpRequest.idempotency_key == key)).scalar_one_or_none()


def _by_reference(session: Session, reference_no: str, for_update: bool = False) -> HelpRequest:
    normal = normalise_reference(reference_no)
    if normal is None:
        raise ValueError("受理编号格式不正确，应类似 QHD-2026-7KM4Q9X")
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


def validate_request(data: dict[str, Any]) -> dict[str, Any]:
    """Check a request without saving it (Chinese ValueError when something is wrong); the outbox parks
    only requests that passed, so a parked request can always be saved later."""
    return _validate(data)


def reserve_reference() -> str:
    """A reference number to promise before the database can be asked (the outbox); `create_request`
    keeps it unless another request took it meanwhile."""
    return new_reference(local_now().year)


def create_request(
    data: dict[str, Any],
    actor: str,
    idempotency_key: str | None = None,
    reference_no: str | None = None,
    url: str | None = None,
) -> dict[str, Any]:
    """Store a new help request with its audit entry in one transaction and return the committed record
    (with `reference_no`). The same `idempotency_key` again returns the first record unchanged.
    `reference_no` (from `reserve_reference`) is used when still free."""
    fields = _validate(data)
    actor = _actor(actor)
    key = clean_text(idempotency_key, "幂等键", 128, required=False)
    wanted = normalise_reference(reference_no) if reference_no else None
    for attempt in range(_CREATE_ATTEMPTS):
        try:
            with session_scope(url) as session:
                existing = _by_key(session, key) if key else None
                if existing is not None:
                    return _record(existing)
                now = utcnow()
                row = HelpRequest(
                    **fields,
                    reference_no=wanted or _next_reference(session, now),
                    status="new",
                    idempotency_key=key,
                    created_at=now,
                    updated_at=now,
                )
                session.add(row)
                session.flush()
                write_audit(
                    session,
                    actor,
                    "create",
                    row.id,
                    {
                        "reference_no": row.reference_no,
                        "category": row.category,
                        "district": row.district,
                        "urgency": row.urgency,
                        "entered_by": row.entered_by,
                    },
                )
                record = _record(row)
            return record  # only now, after the commit, does the caller learn the number
        except IntegrityError:
            if key:  # a concurrent call with the same key won: hand back its record
                with session_scope(url) as session:
                    existing = _by_key(session, key)
                    if existing is not None:
                        return _record(existing)
            wanted = None  # the promised number was taken by another request: take a fresh one
            if attempt == _CREATE_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def find_duplicate(
    phone: str, category: str, sender_id: str | None, within_days: int = DUPLICATE_WINDOW_DAYS, url: str | None = None
) -> dict[str, Any] | None:
    """The most recent request of this conversation (`sender_id`) with the same phone and category created
    within `within_days` days. Only the conversation's own requests count: a phone number alone proves
    nothing about who is asking, so it must never lead to someone else's request (None without sender)."""
    normal = normalise_phone(phone)
    if normal is None:
        raise ValueError("电话号码格式不正确：请填写11位手机号，或带区号的固定电话（如 0335-1234567）")
    if category not in CATEGORIES:
        raise ValueError("求助类别不正确，请从列出的类别中选择")
    if not sender_id:
        return None
    since = utcnow() - timedelta(days=within_days)
    with session_scope(url) as session:
        row = session.execute(
            sa.select(HelpRequest)
            .where(
                HelpRequest.sender_id == sender_id,
                HelpRequest.phone == normal,
                HelpRequest.category == category,
                HelpRequest.created_at >= since,
            )
            .order_by(HelpRequest.created_at.desc(), HelpRequest.id.desc())
            .limit(1)
        ).scalar_one_or_none()
        return _record(row) if row is not None else None


def add_to_request(
    reference_no: str, text: str, actor: str, sender_id: str | None = None, url: str | None = None
) -> dict[str, Any]:
    """Append a note (a resident's addition or a staff note) and its audit entry; returns the updated
    request with notes and audit trail. With `sender_id` (a resident's conversation) only a request that
    conversation created can be added to. Raises RequestNotFound / ValueError."""
    actor = _actor(actor)
    with session_scope(url) as session:
        row = _by_reference(session, reference_no, for_update=True)
        if sender_id is not None and row.sender_id != sender_id:
            raise RequestNotFound(row.reference_no)  # the same answer as for a number that does not exist
        _add_note(session, row, text, actor)
        session.flush()
        session.refresh(row)
        return _full_record(session, row)


def _lookup_keys(normal: str, sender_id: str | None, address: str | None, owner: str | None) -> list[tuple[str, int]]:
    is_owner = bool(sender_id) and sender_id == owner
    keys = [] if is_owner else [(f"lookup:ref:{normal}", FAILED_LOOKUP_LIMITS["reference"])]
    if sender_id:
        keys.append((f"lookup:sender:{sender_id}", FAILED_LOOKUP_LIMITS["sender"]))
    if address:
        keys.append((f"lookup:address:{address}", FAILED_LOOKUP_LIMITS["address"]))
    return keys


def status_for_resident(
    reference_no: str,
    phone_last4: str,
    sender_id: str | None = None,
    address: str | None = None,
    url: str | None = None,
) -> dict[str, Any] | None:
    """What a resident may learn about a request: status, category, dates. None unless the reference
    number exists AND the phone's last four digits match; a number that does not exist and a wrong
    ending look exactly the same. Raises LookupThrottled when this conversation, this address or (for
    anyone but the conversation that created the request) this number used up its failed attempts."""
    normal = normalise_reference(reference_no)
    last4 = unicodedata.normalize("NFKC", phone_last4).strip() if isinstance(phone_last4, str) else ""
    if normal is None or not re.fullmatch(r"[0-9]{4}", last4):
        return None
    with session_scope(url) as session:
        row = session.execute(sa.select(HelpRequest).where(HelpRequest.reference_no == normal)).scalar_one_or_none()
        keys = _lookup_keys(normal, sender_id, address, row.sender_id if row is not None else None)
        # Every attempt takes a try first (atomically); a right answer gives them back below.
        if not all(limits.take(session, key, limit, FAILED_LOOKUP_WINDOW) for key, limit in keys):
            raise LookupThrottled()  # the block's rollback undoes the tries just taken
        if row is None or not hmac.compare_digest(row.phone_last4, last4):
            write_audit(
                session,
                "resident",
                "status_lookup_failed",
                row.id if row is not None else None,
                {"reference_no": normal, "sender": (sender_id or "")[:64]},
            )
            return None
        for key, _ in keys:
            limits.give_back(session, key)
        return {
            "reference_no": row.reference_no,
            "status": row.status,
            "status_zh": STATUSES.get(row.status, row.status),
            "category": row.category,
            "category_zh": category_label(row.category),
            "created_at": iso(row.created_at),
            "updated_at": iso(row.updated_at),
        }


def update_status(
    reference_no: str,
    status: str,
    actor: str,
    note: str | None = None,
    assignee: str | None = None,
    url: str | None = None,
) -> dict[str, Any]:
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
            write_audit(
                session, actor, "status", row.id, {"reference_no": row.reference_no, "from": current, "to": status}
            )
        if assignee is not None and assignee != row.assignee:
            write_audit(
                session,
                actor,
                "assign",
                row.id,
                {"reference_no": row.reference_no, "from": row.assignee, "to": assignee},
            )
            row.assignee = assignee
        if note is not None:
            _add_note(session, row, note, actor)
        row.updated_at = now
        session.flush()
        session.refresh(row)
        return _full_record(session, row)


def get_request(reference_no: str, url: str | None = None, revealed_to: str | None = None) -> dict[str, Any] | None:
    """The full record with notes and audit trail; None for an unknown (or malformed) reference. With
    `revealed_to` (a staff actor who asked to see the full phone number) the look is audited in the same
    transaction: no audit entry, no record."""
    if normalise_reference(reference_no) is None:
        return None
    with session_scope(url) as session:
        try:
            row = _by_reference(session, reference_no)
        except RequestNotFound:
            return None
        if revealed_to is not None:
            write_audit(session, _actor(revealed_to), "phone_revealed", row.id, {"reference_no": row.reference_no})
            session.flush()
        return _full_record(session, row)


def list_requests(
    status: str | None = None,
    district: str | None = None,
    category: str | None = None,
    urgency: str | None = None,
    date_from: date | str | None = None,
    date_to: date | str | None = None,
    search: str | None = None,
    limit: int = 200,
    offset: int = 0,
    url: str | None = None,
) -> list[dict[str, Any]]:
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
            for column in (HelpRequest.reference_no, HelpRequest.name, HelpRequest.township, HelpRequest.description)
        ]
        digits = re.sub(r"\D", "", term)
        if len(digits) >= 4:
            matches.append(sa.func.replace(HelpRequest.phone, "-", "").contains(digits, autoescape=True))
        query = query.where(sa.or_(*matches))
    query = query.order_by(HelpRequest.created_at.desc(), HelpRequest.id.desc()).limit(limit).offset(offset)
    with session_scope(url) as session:
        return [_record(row) for row in session.execute(query).scalars()]
