"""Fixtures for the production-profile tests: the real services on 127.0.0.1, fresh names per run.

A test that needs a service skips with the service's name when nothing listens on its port (a
machine without it); when the port is open the test runs against it. Everything created here gets a
per-run suffix and is removed at the end, so runs never see each other's data or a developer's.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.production.config import ProductionConfig
from tests.support.redis_server import PrivateRedis, RedisUnavailable, private_redis

SERVICES = {
    "PostgreSQL": ("127.0.0.1", 5432),
    "Redis": ("127.0.0.1", 6379),
    "RabbitMQ": ("127.0.0.1", 5672),
}


def listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def require_service(name: str) -> None:
    host, port = SERVICES[name]
    if not listening(host, port):
        pytest.skip(f"{name} is not running on {host}:{port}: production-profile test skipped")


def services_and_model() -> Path:
    """Skip unless PostgreSQL, Redis and RabbitMQ run; the model to start: PRODUCTION_TEST_MODEL (a given
    file, for developers iterating on data since it was trained) or the one matching the current data."""
    from tests.support.servers import require_model

    for service in ("PostgreSQL", "Redis", "RabbitMQ"):
        require_service(service)
    override = os.environ.get("PRODUCTION_TEST_MODEL")
    return Path(override) if override else require_model()


def with_own_names(config: ProductionConfig, suffix: str, **changes: object) -> ProductionConfig:
    """`config` with databases, queue, exchange and lock prefix of its own (a module starting a second
    layout beside the session's names), plus `changes`."""
    return config.with_(
        app_db_url=config.app_db_url + suffix,
        tracker_db_url=config.tracker_db_url + suffix,
        events_queue=config.events_queue + suffix,
        events_exchange=config.events_exchange + suffix,
        lock_key_prefix=config.lock_key_prefix + suffix,
        **changes,
    )


def consecutive_free_ports(count: int) -> int:
    """The first of `count` consecutive free loopback ports (Rasa instances get first, first+1, ...)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            first = probe.getsockname()[1]
        held: list[socket.socket] = []
        try:
            for port in range(first, first + count):
                sock = socket.socket()
                held.append(sock)
                sock.bind(("127.0.0.1", port))
            return first
        except OSError:
            continue
        finally:
            for sock in held:
                sock.close()
    raise RuntimeError("no consecutive free ports")


@pytest.fixture(scope="session")
def run_id() -> str:
    """Lower-case alphanumeric, usable in database names, queue names and the Redis key prefix."""
    return "t" + uuid.uuid4().hex[:10]


@pytest.fixture(scope="session")
def redis_server() -> Iterator[PrivateRedis]:
    """A password-protected Redis of this run (production refuses one without a password)."""
    try:
        with private_redis() as server:
            yield server
    except RedisUnavailable as missing:
        pytest.skip(str(missing))


@pytest.fixture(scope="session")
def base_config(run_id: str, redis_server: PrivateRedis) -> ProductionConfig:
    """The production config with per-run database, queue, exchange and lock-prefix names."""
    pg = "postgresql://postgres@127.0.0.1:5432"
    saved = {k: os.environ.get(k) for k in ("REDIS_PASSWORD", "REDIS_PORT")}
    os.environ.update(REDIS_PASSWORD=redis_server.password, REDIS_PORT=str(redis_server.port))
    try:
        config = ProductionConfig.from_env()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return config.with_(
        app_db_url=f"{pg}/qhd_app_{run_id}",
        tracker_db_url=f"{pg}/qhd_tracker_{run_id}",
        lock_key_prefix=f"qhdlock{run_id}",
        events_queue=f"qhd_events_{run_id}",
        events_exchange=f"qhd-exchange-{run_id}",
        # no metrics ports unless a test asks for free ones: the default 9100... may be a developer's
        metrics_first_port=0,
    )


async def _delete_amqp(url: str, queue: str, exchange: str) -> None:
    import aio_pika

    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(queue)
        await channel.exchange_delete(exchange)


def delete_amqp(url: str, queue: str, exchange: str) -> None:
    """Remove a test queue and exchange (ignores ones already gone)."""
    from aiormq.exceptions import AMQPError

    try:
        asyncio.run(_delete_amqp(url, queue, exchange))
    except (OSError, AMQPError) as error:  # clean-up must not hide the test's own result
        warnings.warn(f"could not delete test queue {queue} / exchange {exchange}: {error}", stacklevel=2)


@pytest.fixture
def amqp_names(base_config: ProductionConfig) -> Iterator[tuple[str, str]]:
    """A fresh queue and exchange for one test, deleted afterwards."""
    require_service("RabbitMQ")
    suffix = uuid.uuid4().hex[:8]
    queue, exchange = f"{base_config.events_queue}_{suffix}", f"{base_config.events_exchange}-{suffix}"
    yield queue, exchange
    delete_amqp(base_config.rabbitmq_url, queue, exchange)


def clean_up(config: ProductionConfig) -> None:
    """Drop a run's databases, queue, exchange and lock keys."""
    import redis

    from bot.production import pg
    from bot.store.db import dispose_engine

    dispose_engine(config.app_db_url)
    for url in (config.app_db_url, config.tracker_db_url):
        pg.drop_database(url)
    delete_amqp(config.rabbitmq_url, config.events_queue, config.events_exchange)
    client = redis.Redis(
        host=config.redis_host, port=config.redis_port, db=config.redis_db, password=config.redis_password
    )
    for key in client.scan_iter(f"{config.lock_key_prefix}*"):
        client.delete(key)
