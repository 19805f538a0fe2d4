"""`python -m bot backup` / `restore` for both profiles: back up, change and delete data, restore, read
the original data back — through the real command line, on SQLite files and on the machine's PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import sqlalchemy as sa

from bot.settings import REPO_ROOT
from tests.production.conftest import require_service
from tests.support.servers import random_secrets

REQUEST = {
    "name": "王秀英",
    "phone": "13812345678",
    "district": "海港区",
    "category": "ask_dibao_eligibility",
    "description": "家里老人生病，想问低保",
    "urgency": "normal",
    "consent": True,
}


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def save_request(url: str) -> str:
    from bot.store import help_requests
    from bot.store.db import upgrade_database

    upgrade_database(url)
    return help_requests.create_request(REQUEST, actor="resident", url=url)["reference_no"]


def tracker_rows(url: str, statement: str) -> list:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            result = conn.execute(sa.text(statement))
            return list(result) if result.returns_rows else []
    finally:
        engine.dispose()


def round_trip(env: dict[str, str], app_url: str, tracker_url: str, backups: Path) -> None:
    """Data -> backup -> destroy -> restore -> the same data."""
    from bot.store import help_requests
    from bot.store.db import dispose_engine

    reference = save_request(app_url)
    tracker_rows(tracker_url, "CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255), data TEXT)")
    tracker_rows(tracker_url, "INSERT INTO events (id, sender_id, data) VALUES (1, 'web-abc', '你好')")

    done = cli(env, "backup", "--to", str(backups))
    assert done.returncode == 0, done.stderr
    assert (backups / "manifest.json").exists() and oct(backups.stat().st_mode & 0o777) == "0o700"

    # after the backup: a request changed, one added, the tracker emptied
    help_requests.add_to_request(reference, "备份之后的补充", actor="resident", url=app_url)
    later = save_request_like(app_url)
    tracker_rows(tracker_url, "DELETE FROM events")
    dispose_engine(app_url)

    refused = cli(env, "restore", "--from", str(backups))  # no --yes: nothing changes
    assert refused.returncode == 2 and "--yes" in refused.stderr
    assert tracker_rows(tracker_url, "SELECT count(*) FROM events")[0][0] == 0

    done = cli(env, "restore", "--from", str(backups), "--yes")
    assert done.returncode == 0, done.stderr
    dispose_engine(app_url)
    restored = help_requests.get_request(reference, url=app_url)
    assert restored is not None and restored["description"] == REQUEST["description"]
    assert "备份之后的补充" not in str(restored)
    assert help_requests.get_request(later, url=app_url) is None
    assert tracker_rows(tracker_url, "SELECT sender_id, data FROM events") == [("web-abc", "你好")]
    dispose_engine(app_url)


def save_request_like(url: str) -> str:
    from bot.store import help_requests

    other = dict(REQUEST, phone="13900001111", description="另一件事")
    return help_requests.create_request(other, actor="resident", url=url)["reference_no"]


def test_sqlite_profile_round_trip(tmp_path: Path) -> None:
    app_url, tracker_url = f"sqlite:///{tmp_path / 'app.db'}", f"sqlite:///{tmp_path / 'tracker.db'}"
    env = dict(
        os.environ, PROFILE="embedded", DATABASE_URL=app_url, TRACKER_DB_URL=tracker_url, PYTHONPATH=str(REPO_ROOT)
    )
    round_trip(env, app_url, tracker_url, tmp_path / "backup")


def test_postgresql_profile_round_trip(tmp_path: Path) -> None:
    require_service("PostgreSQL")
    from bot.production import pg

    suffix = uuid.uuid4().hex[:8]
    app_url = f"postgresql://postgres@127.0.0.1:5432/qhd_deploy_backup_app_{suffix}"
    tracker_url = f"postgresql://postgres@127.0.0.1:5432/qhd_deploy_backup_tracker_{suffix}"
    for url in (app_url, tracker_url):
        pg.ensure_database(url)
    env = dict(
        os.environ,
        PROFILE="production",
        DATABASE_URL=app_url,
        TRACKER_DB_URL=tracker_url,
        **random_secrets(),
        REDIS_PASSWORD=uuid.uuid4().hex,  # production refuses a Redis without one; a backup never uses it
        PYTHONPATH=str(REPO_ROOT),
    )
    try:
        round_trip(env, app_url, tracker_url, tmp_path / "backup")
    finally:
        from bot.store.db import dispose_engine

        dispose_engine(app_url)
        for url in (app_url, tracker_url):
            pg.drop_database(url)


def test_a_damaged_backup_is_refused_before_anything_changes(tmp_path: Path) -> None:
    app_url, tracker_url = f"sqlite:///{tmp_path / 'app.db'}", f"sqlite:///{tmp_path / 'tracker.db'}"
    env = dict(
        os.environ, PROFILE="embedded", DATABASE_URL=app_url, TRACKER_DB_URL=tracker_url, PYTHONPATH=str(REPO_ROOT)
    )
    save_request(app_url)
    tracker_rows(tracker_url, "CREATE TABLE events (id INTEGER PRIMARY KEY)")
    assert cli(env, "backup", "--to", str(tmp_path / "b")).returncode == 0
    with open(tmp_path / "b" / "app.sqlite3", "ab") as damaged:
        damaged.write(b"x")
    done = cli(env, "restore", "--from", str(tmp_path / "b"), "--yes")
    assert done.returncode == 1 and "已损坏" in done.stderr
