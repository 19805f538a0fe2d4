"""The windowed tracker store gives the processor the same state as the full history would.

A property test over generated conversations (slots, forms, pauses, follow-ups, reverted messages,
restarts) compares a windowed tracker, rebuilt the way the store does it turn after turn, with the
full one; a store test runs a long conversation through SQLite and checks every event is stored
exactly once and the loaded tracker stays bounded.
"""

from __future__ import annotations

import asyncio
import random
from functools import lru_cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActionExecutionRejected,
    ActiveLoop,
    BotUttered,
    ConversationPaused,
    ConversationResumed,
    Event,
    FollowupAction,
    LoopInterrupted,
    Restarted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from bot.production.tracker_store import WindowedResilientSQLTrackerStore
from bot.tracker_window import (
    WindowedSQLTrackerStore,
    WindowSnapshot,
    plan_cut,
    user_turns,
    window_start,
)

ROOT = Path(__file__).resolve().parents[2]


@lru_cache(maxsize=1)
def domain() -> Domain:
    return Domain.load(str(ROOT / "domain.yml"))


def random_value(rng: random.Random, slot_type: str):
    if slot_type == "bool":
        return rng.choice([True, False, None])
    if slot_type == "float":
        return rng.choice([1.0, 3.0, None])
    if slot_type == "categorical":
        return rng.choice(["a", None])
    return rng.choice(["海港区", "13812345678", None, "x"])


class Conversation:
    """Generates turns like Rasa writes them: forms activate, run their happy path, get interrupted, end."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.loop: str | None = None
        self.turn = 0

    def next_turn(self) -> list[Event]:
        rng, d = self.rng, domain()
        actions = [a for a in d.action_names_or_texts if a != ACTION_LISTEN_NAME and a not in d.form_names]
        self.turn += 1
        events: list[Event] = [
            ActionExecuted(ACTION_LISTEN_NAME),
            UserUttered(f"第{self.turn}句", intent={"name": rng.choice(sorted(d.intents)), "confidence": 0.9}),
        ]
        if rng.random() < 0.05:
            return [*events, UserUtteranceReverted()]  # a message Rasa undoes (e.g. a two-stage fallback)
        for _ in range(rng.randint(0, 2)):
            slot = rng.choice(d.slots)
            events.append(SlotSet(slot.name, random_value(rng, slot.type_name)))
        roll = rng.random()
        if self.loop:
            if roll < 0.6:  # happy path: the form asks its next question
                events += [ActionExecuted(self.loop), SlotSet("requested_slot", rng.choice(["a", "b"]))]
            elif roll < 0.8:  # the form is done
                events += [ActionExecuted(self.loop), ActiveLoop(None), SlotSet("requested_slot", None)]
                self.loop = None
            else:  # another answer interrupts it
                events += [
                    ActionExecutionRejected(self.loop),
                    ActionExecuted(rng.choice(actions)),
                    LoopInterrupted(True),
                ]
        elif roll < 0.2:
            self.loop = rng.choice(sorted(d.form_names))
            events += [ActionExecuted(self.loop), ActiveLoop(self.loop), SlotSet("requested_slot", "a")]
        elif roll < 0.27:
            events.append(ConversationPaused())
        elif roll < 0.35:
            events.append(ConversationResumed())
        elif roll < 0.4:
            events.append(FollowupAction(rng.choice(actions)))
        elif roll < 0.42:
            events.append(Restarted())  # (no loop is active here, so the generator's state stays right)
        events += [ActionExecuted(rng.choice(actions)), BotUttered(f"答{self.turn}")]
        return events


def loop_flags(tracker: DialogueStateTracker) -> tuple:
    loop = tracker.active_loop
    return (loop.name, loop.is_interrupted, loop.rejected) if loop is not None and loop.name else None


def assert_same_state(windowed: DialogueStateTracker, full: DialogueStateTracker) -> None:
    assert windowed.current_slot_values() == full.current_slot_values()
    assert windowed.active_loop_name == full.active_loop_name
    assert loop_flags(windowed) == loop_flags(full)
    assert windowed.is_paused() == full.is_paused()
    assert windowed.followup_action == full.followup_action
    assert windowed.latest_message.intent == full.latest_message.intent
    assert windowed.latest_action_name == full.latest_action_name
    # Every state but the window's first (which has no previous action) is the full tracker's latest:
    # MemoizationPolicy (max_history 5) and the rules' "..." snippets look at the latest states only.
    window_states, full_states = windowed.past_states(domain()), full.past_states(domain())
    assert window_states[1:] == full_states[len(full_states) - len(window_states) + 1 :]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), window_turns=st.integers(3, 6), slack=st.integers(0, 3))
def test_a_window_moved_turn_after_turn_keeps_the_full_trackers_state(seed: int, window_turns: int, slack: int) -> None:
    conversation = Conversation(random.Random(seed))
    slots = domain().slots
    every_event: list[Event] = []
    prefix: list[Event] = []
    stored: list[Event] = []
    moved = 0
    for _turn in range(40):
        new = conversation.next_turn()
        every_event += new
        stored += new
        plan = plan_cut("s", slots, prefix, stored, window_turns)
        if user_turns(stored) > window_turns + slack and plan:  # what the store does at save time
            start, prefix = plan
            stored = stored[start:]
            moved += 1
        full = DialogueStateTracker.from_events("s", every_event, slots)
        windowed = DialogueStateTracker.from_events("s", [*prefix, *stored], slots)
        assert_same_state(windowed, full)
    assert moved > 0


def test_the_window_starts_at_the_listen_before_a_user_message() -> None:
    events = [
        ActionExecuted(ACTION_LISTEN_NAME),
        UserUttered("一"),
        ActionExecuted("utter_a"),
        ActionExecuted(ACTION_LISTEN_NAME),
        UserUttered("二"),
        ActionExecuted("utter_b"),
    ]
    assert window_start(events, 1) == 3
    assert window_start(events, 2) == 0
    assert window_start(events, 5) == 0


def run(coro):
    return asyncio.run(coro)


class Broker:
    """Collects what the store publishes (the production profile's RabbitMQ)."""

    def __init__(self) -> None:
        self.published: list[dict] = []

    def publish(self, event: dict) -> None:
        self.published.append(event)


class TurnBroker(Broker):
    """Takes a saved turn's events as one message, as bot.production.masking_broker does."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[list[dict]] = []

    def publish_many(self, events: list[dict]) -> None:
        self.messages.append(list(events))
        self.published.extend(events)


@pytest.mark.parametrize("broker_class", [Broker, TurnBroker])
@pytest.mark.parametrize("store_class", [WindowedSQLTrackerStore, WindowedResilientSQLTrackerStore])
def test_a_long_conversation_through_sqlite_is_stored_once_and_loaded_bounded(
    tmp_path: Path, store_class: type, broker_class: type
) -> None:
    broker = broker_class()
    store = store_class(
        domain=domain(),
        dialect="sqlite",
        db=str(tmp_path / "t.db"),
        event_broker=broker,
        window_turns=4,
        window_slack=2,
    )
    conversation = Conversation(random.Random(5))
    appended: list[Event] = []
    for turn in range(60):
        tracker = run(store.get_or_create_tracker("long"))
        if turn == 0:
            appended += list(tracker.events)  # the initial action_listen the store created
        events = conversation.next_turn()
        for event in events[:2]:
            tracker.update(event)
        if turn % 7 == 3:
            run(store.save(tracker))  # a turn saved twice: the second save must not repeat events
        for event in events[2:]:
            tracker.update(event)
        run(store.save(tracker))
        appended += events
        loaded = run(store.retrieve("long"))
        assert_same_state(loaded, DialogueStateTracker.from_events("long", appended, domain().slots))
    assert len(run(store.retrieve("long")).events) < len(appended) / 3  # bounded, not the whole history
    stored = run(store.retrieve_full_tracker("long"))
    assert [e.as_dict() for e in stored.events] == [e.as_dict() for e in appended]
    published = [{k: v for k, v in e.items() if k != "sender_id"} for e in broker.published]
    assert published == [e.as_dict() for e in appended]  # each event published once, in order
    if broker_class is TurnBroker:  # one message per save that stored something: the new tracker, 60 turns, 9 twice
        assert len(broker.messages) == 1 + 60 + 9 and all(broker.messages)
    with store.session_scope() as session:
        assert session.get(WindowSnapshot, "long") is not None


def test_a_tracker_the_store_did_not_load_drops_the_snapshot(tmp_path: Path) -> None:
    store = WindowedSQLTrackerStore(
        domain=domain(), dialect="sqlite", db=str(tmp_path / "t.db"), window_turns=2, window_slack=0
    )
    conversation = Conversation(random.Random(1))
    for _turn in range(6):
        tracker = run(store.get_or_create_tracker("s"))
        for event in conversation.next_turn():
            tracker.update(event)
        run(store.save(tracker))
    full = run(store.retrieve_full_tracker("s"))
    full.update(SlotSet("district", "山海关区"))
    run(store.save(full))  # e.g. PUT /conversations/s/tracker/events: Rasa's own save
    with store.session_scope() as session:
        assert session.get(WindowSnapshot, "s") is None
    assert run(store.retrieve("s")).get_slot("district") == "山海关区"


class MaskingStore(WindowedSQLTrackerStore):
    """A store that writes phone numbers masked, like the production privacy store."""

    def _stored_form(self, event: Event) -> dict:
        data = event.as_dict()
        if data.get("event") == "slot" and data.get("name") == "phone" and data.get("value"):
            data["value"] = "***"
        return data


def test_the_snapshot_is_written_in_the_stores_stored_form(tmp_path: Path) -> None:
    store = MaskingStore(domain=domain(), dialect="sqlite", db=str(tmp_path / "t.db"), window_turns=1, window_slack=0)
    for turn in range(3):
        tracker = run(store.get_or_create_tracker("p"))
        tracker.update(ActionExecuted(ACTION_LISTEN_NAME))
        tracker.update(UserUttered(f"第{turn}句", intent={"name": "inform", "confidence": 1.0}))
        if turn == 0:
            tracker.update(SlotSet("phone", "13812345678"))
        tracker.update(ActionExecuted("utter_ok"))
        run(store.save(tracker))
    with store.session_scope() as session:
        snapshot = session.get(WindowSnapshot, "p")
        assert snapshot is not None
        assert "13812345678" not in snapshot.prefix and "***" in snapshot.prefix


def test_a_released_phone_is_masked_in_the_stored_rows_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The masking window store keeps the phone raw while the form needs it; the turn that sets it back to
    None masks the rows stored earlier, and later turns do not go over them again."""
    import json

    import sqlalchemy as sa

    from bot.tracker_privacy import MaskingWindowedSQLTrackerStore

    store = MaskingWindowedSQLTrackerStore(domain=domain(), dialect="sqlite", db=str(tmp_path / "t.db"))
    masked_for: list[set[str]] = []
    mask = store._mask_stored_slots
    monkeypatch.setattr(
        store, "_mask_stored_slots", lambda sender, names: (masked_for.append(names), mask(sender, names))
    )

    def turn(*events) -> None:
        tracker = run(store.get_or_create_tracker("p"))
        for event in (
            ActionExecuted(ACTION_LISTEN_NAME),
            UserUttered("嗯", {"name": "affirm", "confidence": 1.0}),
            *events,
        ):
            tracker.update(event)
        run(store.save(tracker))

    turn(SlotSet("phone", "13812345678"))
    turn(SlotSet("person_name", "王秀兰"))
    turn(SlotSet("phone", None), SlotSet("person_name", None))  # the request is saved: the form lets go
    turn()
    turn()
    with store.engine.connect() as conn:
        stored = [json.loads(d) for (d,) in conn.execute(sa.text("select data from events where sender_id = 'p'"))]
    values = [e.get("value") for e in stored if e.get("event") == "slot" and e.get("name") in ("phone", "person_name")]
    assert values == ["138****5678", "王**", None, None]
    assert masked_for == [{"phone", "person_name"}]  # once, in the turn of the release


@pytest.mark.parametrize("broker_class", [Broker, TurnBroker])
def test_a_save_whose_commit_went_through_before_the_connection_failed_publishes_its_events_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, broker_class: type
) -> None:
    """The retried attempt finds the turn already stored and inserts nothing; the events the first attempt
    stored are still published, once, in order."""
    import sqlalchemy as sa

    broker = broker_class()
    store = WindowedResilientSQLTrackerStore(
        domain=domain(), dialect="sqlite", db=str(tmp_path / "t.db"), event_broker=broker, window_turns=4
    )
    conversation = Conversation(random.Random(3))
    appended: list[Event] = []
    real_store = store._store_new_events
    failures = {"left": 0}

    def store_then_lose_the_connection(tracker, mark):
        real_store(tracker, mark)  # committed
        if failures["left"]:
            failures["left"] -= 1
            raise sa.exc.OperationalError("COMMIT", {}, Exception("server closed the connection unexpectedly"))

    monkeypatch.setattr(store, "_store_new_events", store_then_lose_the_connection)
    for turn in range(6):
        tracker = run(store.get_or_create_tracker("lost-ack"))
        if turn == 0:
            appended += list(tracker.events)
        events = conversation.next_turn()
        for event in events:
            tracker.update(event)
        failures["left"] = 1 if turn in (2, 4) else 0
        run(store.save(tracker))
        appended += events
    stored = run(store.retrieve_full_tracker("lost-ack"))
    assert [e.as_dict() for e in stored.events] == [e.as_dict() for e in appended]  # stored once
    published = [{k: v for k, v in e.items() if k != "sender_id"} for e in broker.published]
    assert published == [e.as_dict() for e in appended]  # published once, in order, the lost acks included
