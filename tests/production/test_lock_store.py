"""The atomic Redis lock store against the real Redis: tickets issued at the same moment by many
processes' worth of threads are all different, and releasing a ticket never deletes another's."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import pytest
import redis as redis_lib
from rasa.core.lock_store import RedisLockStore
from rasa.utils.endpoints import EndpointConfig

from bot.production.config import ProductionConfig
from bot.production.lock_store import AtomicRedisLockStore
from tests.production.conftest import require_service


@pytest.fixture
def prefix(base_config: ProductionConfig) -> Iterator[str]:
    require_service("Redis")
    value = base_config.lock_key_prefix + uuid.uuid4().hex[:6]
    yield value
    client = redis_lib.Redis(
        host=base_config.redis_host,
        port=base_config.redis_port,
        db=base_config.redis_db,
        password=base_config.redis_password,
    )
    for key in client.scan_iter(f"{value}*"):
        client.delete(key)


def _store(cls: type, base_config: ProductionConfig, prefix: str) -> RedisLockStore:
    return cls(
        host=base_config.redis_host,
        port=base_config.redis_port,
        db=base_config.redis_db,
        password=base_config.redis_password,
        key_prefix=prefix,
    )


def _issue_concurrently(store: RedisLockStore, conversation: str, threads: int = 8, each: int = 25) -> list[int]:
    tickets: list[int] = []
    guard = threading.Lock()
    start = threading.Barrier(threads)

    def worker() -> None:
        start.wait()
        for _ in range(each):
            number = store.issue_ticket(conversation, 60)
            with guard:
                tickets.append(number)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=60)
    return tickets


def test_tickets_issued_at_once_are_all_different(base_config: ProductionConfig, prefix: str) -> None:
    store = _store(AtomicRedisLockStore, base_config, prefix)
    tickets = _issue_concurrently(store, "c-atomic")
    assert len(tickets) == 200
    assert sorted(tickets) == list(range(200))
    assert [t.number for t in store.get_lock("c-atomic").tickets] == list(range(200))


def test_rasa_stock_store_hands_out_duplicates_under_the_same_load(base_config: ProductionConfig, prefix: str) -> None:
    """The reason for our class: if this ever stops failing, Rasa fixed the race upstream."""
    store = _store(RedisLockStore, base_config, prefix)
    duplicates = 0
    for attempt in range(5):
        tickets = _issue_concurrently(store, f"c-stock-{attempt}")
        duplicates += len(tickets) - len(set(tickets))
        if duplicates:
            break
    assert duplicates > 0


def test_releasing_a_ticket_keeps_the_lock_of_the_next_in_line(base_config: ProductionConfig, prefix: str) -> None:
    store = _store(AtomicRedisLockStore, base_config, prefix)
    first = store.issue_ticket("c-queue", 60)
    second = store.issue_ticket("c-queue", 60)
    lock = store.get_lock("c-queue")
    assert not lock.is_locked(first) and lock.is_locked(second)
    store.cleanup("c-queue", first)
    lock = store.get_lock("c-queue")
    assert lock is not None and not lock.is_locked(second)
    store.cleanup("c-queue", second)
    assert store.get_lock("c-queue") is None


def test_scripts_read_and_write_rasas_own_lock_format(base_config: ProductionConfig, prefix: str) -> None:
    """A lock Rasa's stock class wrote (tickets as JSON strings inside JSON) is continued by our scripts,
    expired tickets are dropped as Rasa drops them, and Rasa's class reads what the scripts wrote."""
    import time
    from collections import deque

    from rasa.core.lock import Ticket, TicketLock

    stock, ours = _store(RedisLockStore, base_config, prefix), _store(AtomicRedisLockStore, base_config, prefix)
    stock.save_lock(TicketLock("c-mixed", deque([Ticket(0, time.time() - 5), Ticket(1, time.time() + 60)])))
    assert ours.issue_ticket("c-mixed", 60) == 2  # ticket 0 has expired
    lock = stock.get_lock("c-mixed")
    assert [t.number for t in lock.tickets] == [1, 2]
    assert all(time.time() + 55 < t.expires <= time.time() + 60 for t in lock.tickets)
    assert lock.conversation_id == "c-mixed" and not lock.is_locked(1) and lock.is_locked(2)
    ours.cleanup("c-mixed", 1)
    assert [t.number for t in stock.get_lock("c-mixed").tickets] == [2]
    assert stock.issue_ticket("c-mixed", 60) == 3  # Rasa's class continues what the scripts wrote
    ours.cleanup("c-mixed", 2)
    ours.cleanup("c-mixed", 3)
    assert stock.get_lock("c-mixed") is None  # nobody waits: the key is gone
    ours.cleanup("c-mixed", 3)  # giving back a ticket twice is harmless
    assert ours.issue_ticket("c-fresh", 60) == 0 and stock.get_lock("c-fresh").conversation_id == "c-fresh"


def test_rasa_builds_it_from_the_endpoint_config(base_config: ProductionConfig, prefix: str) -> None:
    from rasa.core.lock_store import LockStore

    config = EndpointConfig(
        url=base_config.redis_host,
        type="bot.production.lock_store.AtomicRedisLockStore",
        port=base_config.redis_port,
        db=base_config.redis_db,
        key_prefix=prefix,
    )
    store = LockStore.create(config)
    assert isinstance(store, AtomicRedisLockStore)
    assert store.key_prefix.startswith(prefix + ":")


def test_turns_of_one_conversation_take_turns_and_redis_is_called_off_the_event_loop(
    base_config: ProductionConfig, prefix: str
) -> None:
    import asyncio

    store = _store(AtomicRedisLockStore, base_config, prefix)
    calling_threads: set[int] = set()  # where a ticket is taken and given back (waiting stays Rasa's)
    issue, cleanup = store.issue_ticket, store.cleanup

    def recording(operation):
        def run(*args, **kwargs):
            calling_threads.add(threading.get_ident())
            return operation(*args, **kwargs)

        return run

    store.issue_ticket, store.cleanup = recording(issue), recording(cleanup)  # type: ignore[method-assign]  # recording wrappers on this store only
    order: list[str] = []

    async def turn(name: str, hold_s: float) -> None:
        async with store.lock("c-turns", wait_time_in_seconds=0.01):
            order.append(f"{name} in")
            await asyncio.sleep(hold_s)
            order.append(f"{name} out")

    async def both() -> int:
        first = asyncio.create_task(turn("first", 0.2))
        await asyncio.sleep(0.05)  # the second message arrives while the first is being answered
        await asyncio.gather(first, turn("second", 0.0))
        return threading.get_ident()

    loop_thread = asyncio.run(both())
    assert order == ["first in", "first out", "second in", "second out"]
    assert calling_threads and loop_thread not in calling_threads
    assert store.get_lock("c-turns") is None  # both tickets given back, the lock deleted


def test_a_turn_nobody_waits_for_reads_no_lock_back_on_the_event_loop(
    base_config: ProductionConfig, prefix: str
) -> None:
    import asyncio

    store = _store(AtomicRedisLockStore, base_config, prefix)
    reads: list[str] = []
    read = store.get_lock

    def recording(conversation_id: str):
        reads.append(conversation_id)
        return read(conversation_id)

    store.get_lock = recording  # type: ignore[method-assign]  # a recording wrapper on this store only

    async def turn(conversation: str, hold_s: float) -> None:
        async with store.lock(conversation, wait_time_in_seconds=0.01):
            await asyncio.sleep(hold_s)

    async def alone_then_contended() -> None:
        await turn("c-alone", 0.0)
        await turn("c-alone", 0.0)  # the next message of the same conversation, after the first was answered
        first = asyncio.create_task(turn("c-busy", 0.1))
        await asyncio.sleep(0.03)
        await asyncio.gather(first, turn("c-busy", 0.0))

    asyncio.run(alone_then_contended())
    # only the message that arrived while another of its conversation was served had to wait and read
    assert reads and set(reads) == {"c-busy"}
    assert store.get_lock("c-alone") is None and store.get_lock("c-busy") is None
    # a stale ticket of a crashed instance still makes the next message wait until it expires
    store.issue_ticket("c-stale", 0.2)
    reads.clear()
    asyncio.run(turn("c-stale", 0.0))
    assert reads and set(reads) == {"c-stale"}
