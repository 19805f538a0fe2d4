"""Engines, migrations and the tracker-store purge."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from test_store_support import store_url  # noqa: F401 - pytest fixtures, requested by parameter name

from bot.store import cli_db
from bot.store.db import REPO_ROOT, current_revision, database_url, engine_for, upgrade_database
from bot.store.models import Base

DAY = 86400


def test_migrations_create_every_model_table_and_no_events_table(store_url: str) -> None:
    tables = set(sa.inspect(engine_for(store_url)).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert all(t.startswith("qhd_") for t in Base.metadata.tables)
    assert "events" not in tables
    head = upgrade_database(store_url)  # a second run is a no-op at head
    assert current_revision(store_url) == head


def test_migrated_schema_matches_models(store_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with engine_for(store_url).connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []  # a model change without a migration fails here


def test_sqlite_connections_use_wal_foreign_keys_and_busy_timeout(store_url: str) -> None:
    with engine_for(store_url).connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
    assert engine_for(store_url) is engine_for(store_url)


def test_database_url_default_and_relative_sqlite_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.settings._dotenv_loaded", True)  # a developer's .env must not leak in
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert database_url() == f"sqlite:///{REPO_ROOT / 'var' / 'app.db'}"
    assert (REPO_ROOT / "var").is_dir()
    monkeypatch.setenv("DATABASE_URL", "sqlite:///var/other.db")
    assert database_url() == f"sqlite:///{REPO_ROOT / 'var' / 'other.db'}"
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg2://u:p@db.internal:5432/qhd")
    assert database_url() == "postgresql+psycopg2://u:p@db.internal:5432/qhd"


def _rasa_tracker_with_old_and_new_events(path: Path) -> object:
    """A real Rasa SQL tracker store holding one 40-day-old and one 1-day-old user message."""
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(path))
    now = time.time()
    tracker = DialogueStateTracker.from_events(
        "resident-1",
        [UserUttered("四十天前的消息", timestamp=now - 40 * DAY), UserUttered("昨天的消息", timestamp=now - DAY)],
    )
    asyncio.run(store.save(tracker))
    return store


def test_purge_tracker_deletes_only_old_rasa_events(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = _rasa_tracker_with_old_and_new_events(tmp_path / "tracker.db")
    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    assert cli_db.main(["purge-tracker", "--days", "30", "--url", url]) == 0
    assert "已删除 1 条" in capsys.readouterr().out
    tracker = asyncio.run(store.retrieve("resident-1"))
    assert [e.text for e in tracker.events if hasattr(e, "text")] == ["昨天的消息"]
    assert cli_db.purge_tracker_events(url, 30) == 0
    with pytest.raises(ValueError):
        cli_db.purge_tracker_events(url, 0)


def test_purge_tracker_refuses_a_database_without_events_table(
    store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_db.main(["purge-tracker", "--days", "30", "--url", store_url]) == 2
    assert "没有 events 表" in capsys.readouterr().err


def test_db_upgrade_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    assert cli_db.main(["upgrade", "--url", url]) == 0
    assert "最新结构" in capsys.readouterr().out
    assert current_revision(url) is not None
