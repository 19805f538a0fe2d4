"""Issue 10, class 7, faults (production profile's stores): the lock store (Redis) and the event broker
(RabbitMQ) become unavailable. Every resident turn still gets a Chinese answer, and a request confirmed
around the outage is saved exactly once.

Rasa runs with the production lock store and (masking) event broker, reaching the machine's Redis and
RabbitMQ through TCP forwarders this test can cut (tests/support/tcp_proxy.py): the shared services keep
running for everyone else. The tracker store stays SQLite (PostgreSQL faults: test_database_down.py and
tests/production/test_pg_restart.py).
"""

from __future__ import annotations

import asyncio
import re
import socket
import tempfile
import uuid
from pathlib import Path

import pytest

from bot.runner import rasa_command
from tests.support.data_stack import HELP_ANSWERS, REFERENCE, converse, joined, new_sender, rows
from tests.support.servers import Stack, require_model
from tests.support.tcp_proxy import TcpProxy

pytestmark = pytest.mark.timeout(900)
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


ENDPOINTS = """
action_endpoint:
  url: {action_url}
  headers:
    X-Action-Token: ${{ACTION_TOKEN}}
tracker_store:
  type: bot.tracker_privacy.MaskingWindowedSQLTrackerStore
  dialect: "sqlite"
  db: {tracker}
lock_store:
  type: bot.production.lock_store.AtomicRedisLockStore
  url: 127.0.0.1
  port: {redis_port}
  db: 1
  key_prefix: qhdsecdata{suffix}
event_broker:
  type: bot.production.masking_broker.MaskingPikaEventBroker
  url: 127.0.0.1
  port: {rabbit_port}
  username: guest
  password: guest
  exchange_name: qhd-secdata-{suffix}
  queues:
    - qhd_secdata_{suffix}
"""


@pytest.fixture(scope="module")
def services():
    if not (listening(6379) and listening(5672)):
        pytest.skip("Redis (6379) and RabbitMQ (5672) must be running for the production-profile faults")
    redis, rabbit = TcpProxy("127.0.0.1", 6379).start(), TcpProxy("127.0.0.1", 5672).start()
    yield redis, rabbit
    redis.close()
    rabbit.close()


@pytest.fixture(scope="module")
def stack(services):
    redis, rabbit = services
    model = require_model()
    workdir = Path(tempfile.mkdtemp(prefix="qhd-services-"))
    running = Stack.create(workdir)
    suffix = uuid.uuid4().hex[:8]
    endpoints = workdir / "endpoints.yml"
    endpoints.write_text(
        ENDPOINTS.format(
            action_url=running.env["ACTION_ENDPOINT_URL"],
            tracker=workdir / "tracker.db",
            redis_port=redis.port,
            rabbit_port=rabbit.port,
            suffix=suffix,
        )
    )
    try:
        running.start_actions()
        command = rasa_command(
            model, "127.0.0.1", running.env["RASA_PORT"], running.env["RASA_TOKEN"], "*", endpoints=str(endpoints)
        )
        running._spawn("rasa", command, f"{running.rasa_url}/")
        running.queue = f"qhd_secdata_{suffix}"  # type: ignore[attr-defined]  # this test's note: the queue to read
        yield running
    finally:
        running.stop_all()
        _drop_queue(suffix)


def _drop_queue(suffix: str) -> None:
    async def drop() -> None:
        import aio_pika

        connection = await aio_pika.connect("amqp://guest:guest@127.0.0.1:5672/")
        async with connection:
            channel = await connection.channel()
            await channel.queue_delete(f"qhd_secdata_{suffix}")
            await channel.exchange_delete(f"qhd-secdata-{suffix}")

    try:
        asyncio.run(drop())
    except Exception:  # noqa: BLE001 - cleaning up a test queue is best effort
        pass


def _published(queue_name: str) -> list[str]:
    """Every message waiting in the test's queue (taken off it)."""

    async def drain() -> list[str]:
        import aio_pika

        connection = await aio_pika.connect("amqp://guest:guest@127.0.0.1:5672/")
        bodies: list[str] = []
        async with connection:
            channel = await connection.channel()
            queue = await channel.get_queue(queue_name)
            while True:
                message = await queue.get(no_ack=True, fail=False)
                if message is None:
                    return bodies
                bodies.append(message.body.decode("utf-8"))

    return asyncio.run(drain())


def test_redis_down_every_turn_answers_in_chinese_and_the_request_is_saved_once(stack, services):
    redis, _ = services
    sender = new_sender()
    answers = dict(HELP_ANSWERS, **{"手机号": "13300001111"})
    converse(stack, sender, "帮我登记个求助", answers, until=("请核对求助信息",))
    redis.cut()
    try:
        for text in ("确认", "你好", "重新提交"):
            reply = joined(stack.say(sender, text))
            assert CHINESE.search(reply), f"{text!r} -> {reply!r}"
    finally:
        redis.restore()
    # Nothing was processed during the outage (the notice asked to send again): nothing saved twice.
    assert rows(stack, "select id from qhd_help_requests where phone = '13300001111'") == []
    reply = joined(stack.say(sender, "确认"))  # the resident sends the confirmation again
    saved = rows(stack, "select reference_no from qhd_help_requests where phone = '13300001111'")
    assert len(saved) == 1 and saved[0]["reference_no"] in reply, (reply, saved)
    again = joined(stack.say(sender, "确认"))  # and once more, unsure: still one request
    assert CHINESE.search(again)
    assert len(rows(stack, "select id from qhd_help_requests where phone = '13300001111'")) == 1


def test_rabbitmq_down_turns_still_answered_and_request_saved_once(stack, services):
    _, rabbit = services
    sender = new_sender()
    rabbit.cut()
    try:
        result = converse(stack, sender, "帮我登记个求助", dict(HELP_ANSWERS, **{"手机号": "13300002222"}))
        assert "求助编号是" in result, result
    finally:
        rabbit.restore()
    saved = rows(stack, "select reference_no from qhd_help_requests where phone = '13300002222'")
    assert [r["reference_no"] for r in saved] == [REFERENCE.search(result).group(0)]
    assert CHINESE.search(joined(stack.say(sender, "谢谢")))


def test_events_on_rabbitmq_carry_no_names_phone_numbers_or_texts(stack):
    """Class 10 on the real broker: what the earlier turns published is masked."""
    import json

    bodies = [json.loads(b) for b in _published(stack.queue)]
    events = [e for body in bodies for e in (body if isinstance(body, list) else [body])]  # a turn per message
    assert any(e.get("event") == "user" and e.get("parse_data", {}).get("intent") for e in events), "nothing published"
    published = json.dumps(events, ensure_ascii=False)  # bodies may escape non-ASCII
    for secret in ("13300001111", "13300002222", "王秀兰", "老伴瘫痪"):
        assert secret not in published, secret
    assert any(
        e.get("event") == "slot" and e.get("name") == "phone" and e.get("value") == "133****1111" for e in events
    )
