"""CSV and Excel exports of help requests for the staff desk.

Phone numbers are masked (an export leaves the system; the full number stays in the request record).
Cells that a spreadsheet would run as a formula (=, +, -, @ first) are prefixed with an apostrophe.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from bot.privacy import mask_phone, mask_text
from bot.web.labels import CATEGORIES, STATUSES, URGENCIES, local_time

COLUMNS: list[tuple[str, str]] = [
    ("reference_no", "编号"),
    ("created_at", "登记时间"),
    ("name", "姓名"),
    ("phone", "电话"),
    ("district", "区县"),
    ("township", "乡镇/街道"),
    ("category", "类别"),
    ("urgency", "紧急程度"),
    ("status", "状态"),
    ("assignee", "经办人"),
    ("entered_by", "登记来源"),
    ("description", "情况说明"),
]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(key: str, record: dict) -> str:
    value: Any = record.get(key)
    if value is None:
        return ""
    if key == "created_at":
        return local_time(value, seconds=True)
    if key == "phone":
        return mask_phone(str(value))
    if key == "category":
        return CATEGORIES.get(value, str(value))
    if key == "status":
        return STATUSES.get(value, str(value))
    if key == "urgency":
        return URGENCIES.get(value, str(value))
    if key == "description":
        return mask_text(str(value))
    return str(value)


def _safe(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_START) else text


def table(records: Iterable[dict]) -> tuple[list[str], list[list[str]]]:
    header = [label for _, label in COLUMNS]
    rows = [[_safe(_cell(key, r)) for key, _ in COLUMNS] for r in records]
    return header, rows


def to_csv(records: Iterable[dict]) -> bytes:
    """UTF-8 with BOM so that Excel on Chinese Windows opens it with the right encoding."""
    header, rows = table(records)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8-sig")


def to_xlsx(records: Iterable[dict]) -> bytes:
    # lazy: openpyxl adds ~200 ms and ~300 modules to the web app's start, and only this export uses it
    from openpyxl import Workbook  # noqa: PLC0415 - lazy import, reason above
    from openpyxl.styles import Font  # noqa: PLC0415 - lazy import, reason above

    header, rows = table(records)
    wb = Workbook()
    ws = wb.active
    ws.title = "求助登记"
    ws.append(header)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append(row)
    ws.freeze_panes = "A2"
    for col, width in zip("ABCDEFGHIJKL", (18, 26, 10, 14, 14, 14, 14, 10, 10, 10, 16, 40)):
        ws.column_dimensions[col].width = width
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
