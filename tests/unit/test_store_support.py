"""Shared fixtures and helpers for the store tests (this module holds no tests itself).

Each test gets its own SQLite file, migrated with Alembic exactly as production databases are. District
names are checked by the real rulebook (bot.rulebook), which owns the list.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bot.store.db import dispose_engine, session_scope, upgrade_database


@pytest.fixture
def store_url(tmp_path: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    upgrade_database(url)
    yield url
    dispose_engine(url)


def request_data(**overrides: Any) -> dict[str, Any]:
    data = {
        "sender_id": "sender-1",
        "name": "张三",
        "phone": "13812345678",
        "district": "海港区",
        "township": "白塔岭街道",
        "category": "ask_dibao_eligibility",
        "description": "家里三口人，想问能不能申请低保",
        "urgency": "normal",
        "decision_snapshot": {"program": "dibao", "eligible": None},
        "entered_by": "resident",
        "consent": True,
    }
    data.update(overrides)
    return data


def count(url: str, model: Any, *where: Any) -> int:
    with session_scope(url) as session:
        return int(session.execute(sa.select(sa.func.count()).select_from(model).where(*where)).scalar_one())
