"""Counts for the staff desk's charts, and horizontal bar-chart geometry the template draws as SVG.

Server-drawn SVG: no chart library to fetch, works without JavaScript, and every bar carries its number
as text (readable by screen readers and in print).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime

from bot.store.checks import check_summary
from bot.web.labels import CATEGORIES, PROGRAM_ZH, eligible_zh


def _day(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return datetime.fromisoformat(str(value)).date()
    except ValueError:
        return None


def week_label(d: date) -> str:
    year, week, _ = d.isocalendar()
    return f"{year}年第{week:02d}周"


def request_counts(records: Iterable[dict]) -> dict[str, list[tuple[str, int]]]:
    records = list(records)
    by_district = Counter(r.get("district") or "未填写" for r in records)
    by_category = Counter(CATEGORIES.get(r.get("category"), r.get("category") or "未填写") for r in records)
    weeks = Counter(week_label(d) for d in (_day(r.get("created_at")) for r in records) if d)
    return {
        "district": by_district.most_common(),
        "category": by_category.most_common(),
        "week": sorted(weeks.items()),
    }


def eligibility_outcomes() -> list[tuple[str, int]]:
    """Recorded checks per programme and outcome, e.g. ("低保 · 符合", 12)."""
    return sorted(
        (f"{PROGRAM_ZH.get(r['program'], r['program'])} · {eligible_zh(r['eligible'])}", int(r["count"]))
        for r in check_summary()
    )


def bars(items: list[tuple[str, int]], width: int = 460, bar_height: int = 26, label_width: int = 190) -> dict:
    """Geometry for a horizontal bar chart: each bar's y, width and value; the svg height."""
    peak = max((n for _, n in items), default=0) or 1
    usable = width - label_width - 50
    rows = [
        {"label": label, "value": n, "y": i * (bar_height + 8), "w": max(2, round(usable * n / peak))}
        for i, (label, n) in enumerate(items)
    ]
    return {
        "rows": rows,
        "height": max(1, len(rows)) * (bar_height + 8),
        "width": width,
        "bar_height": bar_height,
        "label_width": label_width,
    }
