"""The production tracker store on the real PostgreSQL: conversations saved at the same time, with the
database work in worker threads, each keep every event exactly once, in order, with bounded loads."""

from __future__ import annotations

import asyncio
import random
import threading
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from rasa.shared.core.trackers import DialogueStateTracker

from bot.production import pg
from bot.production.tracker_store import WindowedResilientSQLTrackerStore
from tests.production.conftest import require_service
from tests.unit.test_tracker_window import Broker, Conversation, TurnBroker, assert_same_state, domain

PG_BASE = "postgresql://postgres@127.0.0.1:5432"


@pytest.fixture
def tracker_db() -> Iterator[str]:
    require_service("PostgreSQL")
    name = f"qhd_tracker_t{uuid.uuid4().hex[:8]}"
    pg.ensure_database(f"{PG_BASE}/{name}")
    yield name
    pg.drop_database(f"{PG_BASE}/{name}")


@pytest.mark.parametrize("broker_class", [Broker, TurnBroker])
def test_concurrent_conversations_are_stored_once_in_order_off_the_event_loop(
    tracker_db: str, broker_class: type
) -> None:
    broker = broker_class()
    store = WindowedResilientSQLTrackerStore(
        domain=domain(),
        dialect="postgresql",
        host="127.0.0.1",
        port=5432,
        db=tracker_db,
        username="postgres",
        event_broker=broker,
        window_turns=3,
        window_slack=1,
    )
    statement_threads: set[int] = set()
    sa.event.listen(store.engine, "before_cursor_execute", lambda *_: statement_threads.add(threading.get_ident()))
    appended: dict[str, list] = {}

    async def converse(sender: str, seed: int) -> None:
        conversation = Conversation(random.Random(seed))
        appended[sender] = []
        for turn in range(50):
            tracker = await store.get_or_create_tracker(sender)
            if turn == 0:
                appended[sender] += list(tracker.events)
            events = conversation.next_turn()
            for event in events:
                tracker.update(event)
            await store.save(tracker)
            appended[sender] += events
            loaded = await store.retrieve(sender)
            assert_same_state(loaded, DialogueStateTracker.from_events(sender, appended[sender], domain().slots))

    async def all_of_them() -> int:
        await asyncio.gather(*(converse(f"pg-{n}", n) for n in range(6)))
        return threading.get_ident()

    loop_thread = asyncio.run(all_of_them())
    assert statement_threads and loop_thread not in statement_threads  # every statement ran off the loop
    for sender, events in appended.items():
        stored = asyncio.run(store.retrieve_full_tracker(sender))
        assert [e.as_dict() for e in stored.events] == [e.as_dict() for e in events]  # each once, in order
        assert len(asyncio.run(store.retrieve(sender)).events) < len(events) / 2  # bounded
    for sender, events in appended.items():
        published = [e for e in broker.published if e["sender_id"] == sender]
        assert [e["event"] for e in published] == [e.type_name for e in events]  # published once, in order
    if broker_class is TurnBroker:  # one message per saved turn, each with one conversation's events
        assert len(broker.messages) == 6 * (1 + 50)  # the new tracker's save, then one per turn
        assert all(len({e["sender_id"] for e in message}) == 1 for message in broker.messages)
    store.engine.dispose()
