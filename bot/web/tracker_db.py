"""Read-only look into Rasa's SQL tracker store: which conversations exist and when they last moved.

The operator console lists conversations the bot handled even when nothing put them in our own
conversation-state table. Only SELECTs on Rasa's `events` table (sender_id, type_name, timestamp, data);
Rasa owns that table and its schema.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError


@lru_cache(maxsize=4)
def engine(url: str) -> Engine:
    """One pooled engine per tracker-store address, shared by the console and bot.web.analytics."""
    return create_engine(url, future=True, pool_pre_ping=True)


def recent_senders(url: str, limit: int = 200) -> list[dict]:
    """[{sender_id, last_time, last_user_text}] newest first; [] when the store is missing or empty."""
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///") :]).exists():
        return []  # do not let a read create an empty database file
    try:
        with engine(url).connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT sender_id, MAX(timestamp) AS last_time FROM events "
                    "GROUP BY sender_id ORDER BY last_time DESC LIMIT :limit"
                ),
                {"limit": limit},
            ).all()
            if not rows:
                return []
            last_user = conn.execute(
                text(
                    "SELECT sender_id, data FROM events WHERE id IN ("
                    " SELECT MAX(id) FROM events WHERE type_name = 'user' GROUP BY sender_id)"
                )
            ).all()
    except SQLAlchemyError:
        return []
    texts = {r.sender_id: _text_of(r.data) for r in last_user}
    return [
        {"sender_id": r.sender_id, "last_time": r.last_time, "last_user_text": texts.get(r.sender_id)} for r in rows
    ]


def _text_of(data: str | None) -> str | None:
    try:
        value = json.loads(data or "{}").get("text")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None
