"""Analytics consumer: which Rasa events become rows, what a row holds, and that RabbitMQ delivery
loses nothing when the database fails for a while."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.production.consumer import (
    AnalyticsConsumer,
    StoreWriter,
    event_key,
    event_to_row,
    events_in,
)

PHONE = "13812345678"


def user_event(sender: str, text: str, intent: str, ts: float) -> dict:
    return {
        "sender_id": sender,
        "event": "user",
        "timestamp": ts,
        "text": text,
        "input_channel": "rest",
        "parse_data": {"intent": {"name": intent, "confidence": 0.91}, "text": text, "entities": []},
    }


def test_user_event_keeps_intent_and_confidence_but_not_the_text() -> None:
    row = event_to_row(user_event("abc", f"我的电话是{PHONE}", "request_help", 1_700_000_000.5))
    assert row is not None
    assert (row["event_type"], row["intent"], row["confidence"], row["channel"]) == (
        "user",
        "request_help",
        0.91,
        "rest",
    )
    assert row["timestamp"].year == 2023 and row["timestamp"].tzinfo is None
    assert PHONE not in json.dumps(row, default=str)


def test_action_event_keeps_the_action_name() -> None:
    row = event_to_row({"sender_id": "abc", "event": "action", "timestamp": 1.0, "name": "action_handoff"})
    assert row is not None and row["action_name"] == "action_handoff" and row["intent"] is None


@pytest.mark.parametrize(
    "event",
    [
        {"sender_id": "abc", "event": "bot", "timestamp": 1.0, "text": "您好"},  # bot text: not charted
        {"sender_id": "abc", "event": "slot", "timestamp": 1.0, "name": "phone", "value": PHONE},
        {"event": "user", "timestamp": 1.0},  # no sender
        {"sender_id": "abc", "event": "user", "timestamp": "not a time"},
    ],
)
def test_events_the_charts_do_not_need_are_skipped(event: dict) -> None:
    assert event_to_row(event) is None


def test_a_message_carries_one_event_or_a_turns_list_of_events() -> None:
    assert events_in(b"\xff\xfe") is None
    assert events_in(b"[1, 2]") is None
    assert events_in(b"[]") is None
    assert events_in(b'[{"event": "user"}, 3]') is None
    assert events_in(json.dumps({"event": "user"}).encode()) == [{"event": "user"}]
    assert events_in(b'[{"event": "user"}, {"event": "action"}]') == [{"event": "user"}, {"event": "action"}]


def test_event_key_tells_events_apart_and_is_stable() -> None:
    a = user_event("abc", "你好", "greet", 1.0)
    assert event_key(a) == event_key(dict(a))
    assert event_key(a) != event_key(user_event("abc", "你好", "greet", 2.0))
    assert event_key(a) != event_key(user_event("abd", "你好", "greet", 1.0))


def test_store_writer_fills_the_store_model(tmp_path: Path) -> None:
    from bot.store.db import dispose_engine, engine_for, upgrade_database
    from bot.store.models import AnalyticsEvent

    url = f"sqlite:///{tmp_path / 'app.db'}"
    upgrade_database(url)
    writer = StoreWriter(url)
    rows = [
        event_to_row(user_event("s1", "你好", "greet", 1_700_000_000.0)),
        event_to_row({"sender_id": "s1", "event": "action", "timestamp": 1_700_000_001.0, "name": "utter_greet"}),
    ]
    assert writer(rows) == 2
    with engine_for(url).connect() as conn:
        stored = conn.execute(select(AnalyticsEvent.__table__)).mappings().all()
    dispose_engine(url)
    by_type = {r[writer.mapping["event_type"]]: r for r in stored}
    assert by_type["user"][writer.mapping["intent"]] == "greet"
    assert by_type["user"][writer.mapping["sender_id"]] == "s1"
    action = by_type["action"]
    name = (
        action[writer.mapping["action_name"]] if "action_name" in writer.mapping else action["payload"]["action_name"]
    )
    assert name == "utter_greet"


class FlakyWriter:
    """Collects rows; refuses the first `failures` batches the way a database that is down would."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.rows: list[dict] = []
        self.calls = 0

    def __call__(self, rows: list[dict]) -> int:
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionError("database down")
        self.rows.extend(rows)
        return len(rows)


async def _publish(url: str, exchange_name: str, bodies: list[bytes]) -> None:
    import aio_pika

    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(exchange_name, aio_pika.ExchangeType.FANOUT)
        for body in bodies:
            await exchange.publish(aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT), "")


async def _consume_until(consumer: AnalyticsConsumer, done, timeout: float = 30.0) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    deadline = time.monotonic() + timeout
    while not done() and time.monotonic() < deadline and not task.done():
        await asyncio.sleep(0.1)
    stop.set()
    await asyncio.wait_for(task, 15)


def test_every_published_event_is_written_once_the_database_is_back(base_config, amqp_names) -> None:
    queue, exchange = amqp_names
    events = [user_event(f"s{i % 5}", "你好", "greet", 1_700_000_000.0 + i) for i in range(60)]
    bodies = [json.dumps(e).encode() for e in events] + [
        b"not json",
        json.dumps({"sender_id": "s1", "event": "bot", "timestamp": 1.0, "text": "您好"}).encode(),
    ]
    writer = FlakyWriter(failures=2)
    consumer = AnalyticsConsumer(
        base_config.rabbitmq_url, queue, exchange, writer, batch_size=25, flush_seconds=0.3, retry_seconds=0.2
    )

    async def scenario() -> None:
        # The consumer declares and binds the queue first, so nothing published afterwards is dropped.
        stop = asyncio.Event()
        task = asyncio.create_task(consumer.run(stop))
        await asyncio.wait_for(consumer.ready.wait(), 15)
        await _publish(base_config.rabbitmq_url, exchange, bodies)
        deadline = time.monotonic() + 30
        while len(writer.rows) < len(events) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        stop.set()
        await asyncio.wait_for(task, 15)

    asyncio.run(scenario())
    assert writer.calls > 2, "the failed batches were not retried"
    assert consumer.stats.retried_batches == 2
    keys = [r["event_key"] for r in writer.rows]
    assert sorted(keys) == sorted(event_key(e) for e in events)  # all of them, none twice
    assert consumer.stats.skipped >= 2  # the junk and the bot text


def test_events_published_while_the_consumer_is_down_wait_in_the_queue(base_config, amqp_names) -> None:
    queue, exchange = amqp_names
    first = AnalyticsConsumer(base_config.rabbitmq_url, queue, exchange, FlakyWriter(0), flush_seconds=0.2)
    asyncio.run(_consume_until(first, lambda: first.ready.is_set()))  # declares queue, then stops
    events = [user_event("late", "你好", "greet", 1_700_000_100.0 + i) for i in range(10)]
    asyncio.run(_publish(base_config.rabbitmq_url, exchange, [json.dumps(e).encode() for e in events]))
    writer = FlakyWriter(0)
    second = AnalyticsConsumer(base_config.rabbitmq_url, queue, exchange, writer, flush_seconds=0.2)
    asyncio.run(_consume_until(second, lambda: len(writer.rows) >= len(events)))
    assert sorted(r["event_key"] for r in writer.rows) == sorted(event_key(e) for e in events)


class FakeMessage:
    """What the consumer reads from aio_pika: a body, and ack/nack that record what happened."""

    def __init__(self, body: bytes, log: list[str]) -> None:
        self.body, self.log = body, log

    async def ack(self, multiple: bool = False) -> None:
        self.log.append("ack")

    async def nack(self, multiple: bool = False, requeue: bool = True) -> None:
        self.log.append("nack")


MALFORMED = [
    b"not json",
    b"\xff\xfe",
    b"[1, 2]",
    b"null",
    json.dumps({"sender_id": "m", "event": "user", "timestamp": 1.0, "parse_data": "not a dict"}).encode(),
    json.dumps({"sender_id": "m", "event": "user", "timestamp": 1.0, "parse_data": {"intent": "greet"}}).encode(),
    json.dumps({"sender_id": "m", "event": "user", "timestamp": 1e300}).encode(),  # beyond any date
    json.dumps({"sender_id": "m", "event": "user", "timestamp": float("nan")}).encode(),
    json.dumps({"sender_id": ["m"], "event": "user", "timestamp": 1.0}).encode(),
]


def test_malformed_events_are_skipped_and_the_batch_around_them_is_written() -> None:
    good = [user_event("ok", "你好", "greet", 1_700_000_000.0 + i) for i in range(3)]
    bodies = [json.dumps(good[0]).encode(), *MALFORMED, *(json.dumps(e).encode() for e in good[1:])]
    log: list[str] = []
    writer = FlakyWriter(0)
    consumer = AnalyticsConsumer("amqp://unused", "q", "x", writer)
    asyncio.run(consumer._handle([FakeMessage(b, log) for b in bodies]))
    assert sorted(r["event_key"] for r in writer.rows) == sorted(event_key(e) for e in good)
    assert consumer.stats.skipped == len(MALFORMED) and log == ["ack"]  # acknowledged, not redelivered


def test_a_turns_array_is_written_event_by_event_and_its_bad_events_are_skipped() -> None:
    turn = [
        user_event("t", "你好", "greet", 1_700_000_000.0),
        {"sender_id": "t", "event": "slot", "timestamp": 1_700_000_000.1, "name": "phone", "value": PHONE},
        {"sender_id": "t", "event": "action", "timestamp": 1_700_000_000.2, "name": "utter_greet"},
        {"sender_id": "t", "event": "user", "timestamp": float("nan")},
    ]
    log: list[str] = []
    writer = FlakyWriter(0)
    consumer = AnalyticsConsumer("amqp://unused", "q", "x", writer)
    asyncio.run(consumer._handle([FakeMessage(json.dumps(turn).encode(), log)]))
    assert [(r["event_type"], r["intent"], r["action_name"]) for r in writer.rows] == [
        ("user", "greet", None),
        ("action", None, "utter_greet"),
    ]
    assert (consumer.stats.received, consumer.stats.written, consumer.stats.skipped) == (4, 2, 2)
    assert log == ["ack"]


def test_an_event_postgresql_refuses_is_dropped_alone_and_the_rest_is_written(base_config) -> None:
    from tests.production.conftest import require_service

    require_service("PostgreSQL")
    from bot.production import pg
    from bot.store.db import dispose_engine, engine_for, upgrade_database
    from bot.store.models import AnalyticsEvent

    url = base_config.app_db_url.replace("qhd_app_", "qhd_consumer_poison_")
    pg.ensure_database(url)
    try:
        upgrade_database(url)
        good = [user_event("ok", "你好", "greet", 1_700_000_000.0 + i) for i in range(4)]
        poison = user_event("bad", "你好", "x" * 300, 1_700_000_100.0)  # intent column is 128 chars
        log: list[str] = []
        consumer = AnalyticsConsumer("amqp://unused", "q", "x", StoreWriter(url))
        asyncio.run(
            consumer._handle(
                [FakeMessage(json.dumps(e).encode(), log) for e in (good[0], good[1], poison, good[2], good[3])]
            )
        )
        with engine_for(url).connect() as conn:
            senders = conn.execute(select(AnalyticsEvent.sender_id)).scalars().all()
        assert sorted(senders) == ["ok"] * 4
        assert consumer.stats.written == 4 and consumer.stats.skipped == 1 and log == ["ack"]
    finally:
        dispose_engine(url)
        pg.drop_database(url)
