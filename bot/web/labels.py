"""Display labels the web pages use. Category, status, urgency and conversation-state names come from
bot.store.categories (one source); only the programme names of the eligibility engine are added here,
because the console offers all six programmes of the contract (the chat offers four).
"""
from __future__ import annotations

from datetime import datetime, timezone

from bot.store.categories import CATEGORIES, CONVERSATION_STATES, STATUSES, TRANSITIONS, URGENCIES

PROGRAM_ZH: dict[str, str] = {
    "dibao": "低保",
    "single_person": "单人保",
    "gradual_exit": "低保渐退",
    "extreme_poverty": "特困供养",
    "temporary_assistance": "临时救助",
    "job_subsidy": "就业补贴",
}

__all__ = ["CATEGORIES", "CONVERSATION_STATES", "STATUSES", "TRANSITIONS", "URGENCIES", "PROGRAM_ZH",
           "topic_intents", "eligible_zh", "local_time"]


def topic_intents() -> list[str]:
    """Topic intents that have canned answers (bot.answers.topic_figures): the `ask_*` categories."""
    return [k for k in CATEGORIES if k.startswith("ask_")]


def eligible_zh(value: object) -> str:
    if value is True:
        return "符合"
    if value is False:
        return "不符合"
    return "需人工复核"


def local_time(value: object, seconds: bool = False) -> str:
    """An ISO timestamp (stored in UTC) as China local time, 'YYYY-MM-DD HH:MM'."""
    from bot.store.common import CHINA_TZ

    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
