"""Small helpers shared by the store modules: time conversion, input cleaning, audit writing.

Why: every store function validates its input with the same Chinese messages and writes its audit entry
the same way; keeping that here keeps the modules short and consistent.
"""

from __future__ import annotations

import json
import unicodedata
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Literal, overload

from sqlalchemy.orm import Session

from bot.store.models import AuditEntry, utcnow

# China has one time zone and no daylight saving: a fixed offset needs no tz database.
CHINA_TZ = timezone(timedelta(hours=8), name="Asia/Shanghai")

__all__ = [
    "CHINA_TZ",
    "utcnow",
    "iso",
    "local_now",
    "day_start_utc",
    "clean_text",
    "ensure_json",
    "write_audit",
    "parse_day",
]


def iso(value: datetime | None) -> str | None:
    """A stored naive-UTC datetime as an ISO string with an explicit +00:00 offset."""
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc).isoformat(timespec="seconds")


def local_now(now_utc: datetime | None = None) -> datetime:
    """The current (or given naive-UTC) time in China, aware."""
    now_utc = now_utc or utcnow()
    return now_utc.replace(tzinfo=timezone.utc).astimezone(CHINA_TZ)


def day_start_utc(day: date) -> datetime:
    """Naive UTC instant at which the Chinese calendar day `day` begins."""
    return datetime.combine(day, time.min, tzinfo=CHINA_TZ).astimezone(timezone.utc).replace(tzinfo=None)


def parse_day(value: date | datetime | str | None, field_zh: str) -> date | None:
    """A date filter given as date, datetime or 'YYYY-MM-DD'; ValueError with a Chinese message otherwise."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()[:10])
        except ValueError:
            pass
    raise ValueError(f"{field_zh}格式不正确，请使用“年-月-日”，例如 2026-11-29")


@overload
def clean_text(value: Any, field_zh: str, max_len: int, required: Literal[True] = True) -> str: ...
@overload
def clean_text(value: Any, field_zh: str, max_len: int, required: bool) -> str | None: ...
def clean_text(value: Any, field_zh: str, max_len: int, required: bool = True) -> str | None:
    """Strip and NFC-normalise a text field; enforce presence and length with Chinese messages.

    A required field is never None (it raises instead), which the overloads tell type checkers."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValueError(f"请填写{field_zh}")
        return None
    if not isinstance(value, str):
        raise ValueError(f"{field_zh}应为文字")
    text = unicodedata.normalize("NFC", value).strip()
    if len(text) > max_len:
        raise ValueError(f"{field_zh}太长了：最多 {max_len} 个字，现在有 {len(text)} 个字")
    return text


def ensure_json(value: Any, field_zh: str) -> Any:
    """Return `value` unchanged if it can be stored as JSON, else a Chinese ValueError."""
    try:
        json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):
        raise ValueError(f"{field_zh}无法保存：内容不是有效的 JSON 数据") from None
    return value


def write_audit(
    session: Session, actor: str, action: str, request_id: int | None = None, detail: dict[str, Any] | None = None
) -> AuditEntry:
    """Add an audit entry to the caller's transaction (it commits or rolls back with the change)."""
    entry = AuditEntry(actor=actor, action=action, request_id=request_id, detail=detail, at=utcnow())
    session.add(entry)
    return entry
