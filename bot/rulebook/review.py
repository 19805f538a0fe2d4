"""What staff review in the rulebook: figures not found, unconfirmed, or older than two years.

Shared by `python -m bot policies check` and the staff desk's rulebook page, so both flag the same rows.
"""

from __future__ import annotations

from datetime import date

from bot.rulebook.model import ParamValue

STALE_YEARS = 2  # staff review horizon for "old" figures, not a policy figure
FLAGS_ZH = {"missing": "未找到", "unconfirmed": "未确认", "stale": f"超过{STALE_YEARS}年"}


def stale_horizon(on: date) -> date:
    """Figures in force since before this date are due for review."""
    return date(on.year - STALE_YEARS, on.month, min(on.day, 28))


def review_flags(value: ParamValue, on: date) -> set[str]:
    """{'missing', 'unconfirmed', 'stale'} as they apply to a figure in force on `on` (empty if none is)."""
    if value.effective_from is None:
        return set()
    if value.value is None:
        return {"missing"}
    flags = set() if value.confirmed else {"unconfirmed"}
    if value.effective_from < stale_horizon(on):
        flags.add("stale")
    return flags
