"""Display labels the web pages use. Category, status, urgency and conversation-state names come from
bot.vocabulary (one source; the request workflow from bot.store.categories); programme names and verdict
words come from bot.eligibility.present (the one place that words an outcome).
"""

from __future__ import annotations

from datetime import datetime, timezone

from bot.eligibility.present import PROGRAM_ZH, verdict_word
from bot.store.categories import TRANSITIONS
from bot.store.common import CHINA_TZ
from bot.vocabulary import CATEGORIES, CONVERSATION_STATES, SPEAKERS, STATUSES, TOPIC_INTENTS, URGENCIES, console_labels

__all__ = [
    "CATEGORIES",
    "CONVERSATION_STATES",
    "SPEAKERS",
    "STATUSES",
    "TRANSITIONS",
    "URGENCIES",
    "PROGRAM_ZH",
    "console_labels",
    "topic_intents",
    "eligible_zh",
    "local_time",
]


def topic_intents() -> list[str]:
    """Topic intents that have canned answers (bot.answers.topic_figures)."""
    return list(TOPIC_INTENTS)


def eligible_zh(value: object) -> str:
    return verdict_word(value)


def local_time(value: object, seconds: bool = False) -> str:
    """An ISO timestamp (stored in UTC) as China local time, 'YYYY-MM-DD HH:MM'."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
