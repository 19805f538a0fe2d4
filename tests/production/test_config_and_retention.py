"""Production settings that Rasa would silently mishandle are refused; the endpoints file expands to
the values the config computes; the scheduled retention purge removes old tracker events on
PostgreSQL and keeps recent ones."""

from __future__ import annotations

import os
import time

import pytest
import sqlalchemy as sa

from bot.production import pg
from bot.production.config import ENDPOINTS_FILE, ConfigError, ProductionConfig
from bot.production.retention import RetentionScheduler, run_purge
from tests.production.conftest import require_service


@pytest.mark.parametrize("prefix", ["qhd-lock", "qhd_lock", "qhd lock", ""])
def test_lock_prefix_must_be_alphanumeric(base_config: ProductionConfig, prefix: str) -> None:
    with pytest.raises(ConfigError, match="LOCK_KEY_PREFIX"):
        base_config.with_(lock_key_prefix=prefix)


def test_app_and_tracker_tables_never_share_a_database(base_config: ProductionConfig) -> None:
    with pytest.raises(ConfigError, match="必须分开"):
        base_config.with_(tracker_db_url=base_config.app_db_url)


@pytest.mark.parametrize("workers", [0, -1, 17])
def test_workers_per_instance_must_be_sensible(base_config: ProductionConfig, workers: int) -> None:
    with pytest.raises(ConfigError, match="RASA_WORKERS"):
        base_config.with_(workers_per_instance=workers)


def test_rasa_workers_is_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, base_config: ProductionConfig
) -> None:
    monkeypatch.setenv("RASA_WORKERS", "2")
    monkeypatch.setenv("REDIS_PASSWORD", base_config.redis_password)
    assert ProductionConfig.from_env().workers_per_instance == 2


def test_database_urls_must_be_postgresql(base_config: ProductionConfig) -> None:
    with pytest.raises(ConfigError, match="PostgreSQL"):
        base_config.with_(app_db_url="sqlite:///var/app.db")


def test_endpoints_file_expands_to_the_configured_services(
    base_config: ProductionConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rasa.core.utils import read_endpoints_from_path

    for key, value in base_config.child_env({}).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("ACTION_TOKEN", "a-random-action-token-of-this-test")
    endpoints = read_endpoints_from_path(str(ENDPOINTS_FILE))
    assert endpoints.action.headers == {"X-Action-Token": "a-random-action-token-of-this-test"}
    assert endpoints.tracker_store.url == base_config.tracker_db_url
    assert endpoints.tracker_store.type.endswith("MaskingResilientSQLTrackerStore")
    assert endpoints.lock_store.type.endswith("AtomicRedisLockStore")
    assert endpoints.lock_store.kwargs["key_prefix"] == base_config.lock_key_prefix
    assert int(endpoints.lock_store.kwargs["port"]) == base_config.redis_port
    assert endpoints.event_broker.type.endswith("MaskingPikaEventBroker")  # names and phones never on the wire
    assert endpoints.event_broker.kwargs["queues"] == [base_config.events_queue]
    assert endpoints.event_broker.kwargs["exchange_name"] == base_config.events_exchange
    assert endpoints.action.url == base_config.action_endpoint_url


def test_child_env_sets_pool_sizes_and_lock_lifetime(base_config: ProductionConfig) -> None:
    env = base_config.with_(sql_pool_size=7, sql_max_overflow=3, lock_lifetime_s=45).child_env({})
    assert (env["SQL_POOL_SIZE"], env["SQL_MAX_OVERFLOW"], env["TICKET_LOCK_LIFETIME"]) == ("7", "3", "45")
    assert env["PROFILE"] == "production"


@pytest.fixture
def tracker_db(base_config: ProductionConfig):
    """A scratch PostgreSQL database holding a table shaped like Rasa's SQL tracker store `events`."""
    require_service("PostgreSQL")
    url = base_config.tracker_db_url + "_ret"
    pg.ensure_database(url)
    engine = sa.create_engine(url, future=True)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "CREATE TABLE events (id SERIAL PRIMARY KEY, sender_id VARCHAR(255) NOT NULL, "
                "type_name VARCHAR(255) NOT NULL, timestamp FLOAT, intent_name VARCHAR(255), "
                "action_name VARCHAR(255), data TEXT)"
            )
        )
    engine.dispose()
    yield url
    pg.drop_database(url)


def _insert(url: str, rows: list[tuple[str, float]]) -> None:
    engine = sa.create_engine(url, future=True)
    with engine.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO events (sender_id, type_name, timestamp) VALUES (:s, 'user', :t)"),
            [{"s": s, "t": t} for s, t in rows],
        )
    engine.dispose()


def _senders(url: str) -> list[str]:
    engine = sa.create_engine(url, future=True)
    with engine.connect() as conn:
        found = sorted(r[0] for r in conn.execute(sa.text("SELECT sender_id FROM events")))
    engine.dispose()
    return found


def test_scheduled_purge_removes_only_events_older_than_the_retention(tracker_db: str) -> None:
    day = 86400
    now = time.time()
    _insert(
        tracker_db,
        [("old", now - 40 * day), ("edge_old", now - 30 * day - 600), ("recent", now - 29 * day), ("today", now - 60)],
    )
    messages: list[str] = []
    scheduler = RetentionScheduler(
        days=30, every_hours=24, env=dict(os.environ), tracker_url=tracker_db, report=messages.append
    )
    scheduler.start()
    deadline = time.monotonic() + 60
    while scheduler.runs < 1 and time.monotonic() < deadline:
        time.sleep(0.2)
    scheduler.stop()
    assert scheduler.runs == 1, "the purge did not run at start"
    assert _senders(tracker_db) == ["recent", "today"]
    assert messages and "失败" not in messages[0]


def test_purge_against_a_missing_database_fails_loudly(base_config: ProductionConfig) -> None:
    require_service("PostgreSQL")
    done = run_purge(30, dict(os.environ), base_config.tracker_db_url + "_does_not_exist")
    assert done.returncode != 0 and done.stderr.strip()
