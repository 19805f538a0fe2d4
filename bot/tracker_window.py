"""A SQL tracker store whose turn cost does not grow with the conversation's length.

Why: Rasa 3.6's SQLTrackerStore reads, JSON-decodes and replays every event since the session start on
every turn; the policies then build a state for every prior action (`tracker.past_states`, O(n)) and the
action server receives the whole tracker. A 200-turn chat cost ~5x a fresh one (bench/results/).

What: after a save, once a conversation holds more than `window_turns + window_slack` user messages in
memory, we store a *snapshot* for it (table `qhd_tracker_window`): the id of the last event before its
latest `window_turns` user turns (the cut) and a few synthetic events that restore the state at the cut —
the non-initial slot values, the active loop (and whether it was interrupted or rejected), a pending
follow-up action, and `ConversationPaused`. A later turn loads only the snapshot plus the events after
the cut, so the tracker the processor, the policies and the action server see is bounded. Every event
is still stored once, in Rasa's own `events` table, and `retrieve_full_tracker` (the HTTP API's
GET tracker, exports) still returns the whole history.

What stays the same: slots, active loop, paused state, latest message and action, and the states of the
latest turns (MemoizationPolicy's max_history 5; rules are short "..." snippets) — checked against
the full tracker in tests/unit/test_tracker_window.py. What differs: the window's first state has no
previous action, so a `conversation_start` rule could only match if it were longer than
`window_turns` user turns; and an action reading `tracker.events` sees the window (actions/common.py
reads this turn's events, the latest slot change and up to MAX_CLARIFICATIONS user messages back).

A new session (SessionStarted after the cut) drops the snapshot's state, as Rasa would. A save of a
tracker this store did not load (e.g. PUT /tracker/events) deletes the snapshot and uses Rasa's save.

Off the event loop: with a database server (PostgreSQL), the mixin's reads and writes run in a worker
thread (`_in_db_thread`), so one conversation's wait for the database no longer stalls every other
conversation of the process; SQLite stays on the loop.

Composition: `WindowedSQLMixin` overrides Rasa's internal `_retrieve` and `_stream_new_events` hooks and
`save` (store in the thread, then publish what was stored, one message per turn), so a class that wraps
`retrieve`/`save` (retries, masking) can be put before it: `WindowedResilientSQLTrackerStore` is the
production store with retries. Every event row and snapshot is written through `_stored_form`, which a
masking store overrides (bot.tracker_privacy.MaskingMixin). Its reads and writes are Core statements
built once per store, not ORM queries (`_statements`).

    tracker_store:
      type: bot.tracker_window.WindowedSQLTrackerStore
      window_turns: 10      # TRACKER_WINDOW_TURNS / TRACKER_WINDOW_SLACK (default 4) override
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import (
    ActionExecuted,
    ActionExecutionRejected,
    ActiveLoop,
    ConversationPaused,
    Event,
    FollowupAction,
    LoopInterrupted,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.slots import Slot
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.orm import declarative_base

from bot.settings import env_settings

logger = logging.getLogger(__name__)

DEFAULT_WINDOW_TURNS = 10
DEFAULT_WINDOW_SLACK = 4
MARK_ATTRIBUTE = "_qhd_window"
PUBLISH_FROM_ATTRIBUTE = "_qhd_publish_from"  # set by a save's storing, taken by its publishing
T = TypeVar("T")

_Base = declarative_base()


class WindowSnapshot(_Base):  # type: ignore[misc, valid-type]  # declarative_base() is untyped in SQLAlchemy 1.4
    """Where a conversation's window starts and the state at that point (synthetic events, JSON)."""

    __tablename__ = "qhd_tracker_window"
    sender_id = sa.Column(sa.String(255), primary_key=True)
    cut_id = sa.Column(sa.Integer, nullable=False)
    prefix = sa.Column(sa.Text, nullable=False)


@dataclass
class WindowMark:
    """What a windowed tracker was loaded from, so a save stores exactly the events appended since."""

    loaded: int  # events in the tracker at load (synthetic prefix included)
    prefix_len: int  # synthetic events at its start
    last_id: int  # id of the last stored event that was loaded (0: none)
    ids: list[int] = field(default_factory=list)  # ids of the loaded stored events, in order


# --- the pure part: where to cut and what state to restore ---------------------------------------
def state_events(tracker: DialogueStateTracker, timestamp: float | None) -> list[Event]:
    """Synthetic events that give a fresh tracker `tracker`'s slots, loop, follow-up and paused state."""
    events: list[Event] = []
    for name, slot in tracker.slots.items():
        if slot.value != slot.initial_value:
            events.append(SlotSet(name, slot.value, timestamp=timestamp))
    loop = tracker.active_loop
    if loop is not None and loop.name:
        events.append(ActiveLoop(loop.name, timestamp=timestamp))
        if loop.is_interrupted:
            events.append(LoopInterrupted(True, timestamp=timestamp))
        if loop.rejected:
            events.append(ActionExecutionRejected(loop.name, timestamp=timestamp))
    if tracker.followup_action:
        events.append(FollowupAction(tracker.followup_action, timestamp=timestamp))
    if tracker.is_paused():
        events.append(ConversationPaused(timestamp=timestamp))
    return events


def window_start(events: Sequence[Event], window_turns: int) -> int:
    """Index where the latest `window_turns` user turns begin (at the action_listen before the message)."""
    user_positions = [i for i, e in enumerate(events) if isinstance(e, UserUttered)]
    if len(user_positions) < window_turns:
        return 0
    return turn_start(events, user_positions[-window_turns])


def turn_start(events: Sequence[Event], user_position: int) -> int:
    """The action_listen right before the user message at `user_position` (or the message itself)."""
    previous = events[user_position - 1] if user_position else None
    if isinstance(previous, ActionExecuted) and previous.action_name == ACTION_LISTEN_NAME:
        return user_position - 1
    return user_position


def loop_activation_start(events: Sequence[Event], start: int, loop_name: str) -> int | None:
    """Where the turn that activated `loop_name` (still active at `start`) begins; None if before events[0].

    Rasa collapses a form's happy path back to the loop's previous execution (`applied_events`), so
    the window must reach back to that activation for its states to match the full history's.
    """
    activation = next(
        (i for i in range(start - 1, -1, -1) if isinstance(events[i], ActiveLoop) and events[i].name == loop_name), None
    )
    if activation is None:
        return None
    users = [i for i in range(activation, -1, -1) if isinstance(events[i], UserUttered)]
    return turn_start(events, users[0]) if users else None


def state_at(
    sender_id: str, slots: Sequence[Slot], prefix: Sequence[Event], events: Sequence[Event], start: int
) -> DialogueStateTracker:
    return DialogueStateTracker.from_events(sender_id, [*prefix, *events[:start]], slots)


def plan_cut(
    sender_id: str, slots: Sequence[Slot], prefix: Sequence[Event], events: Sequence[Event], window_turns: int
) -> tuple[int, list[Event]] | None:
    """(start, new prefix): keep events[start:] behind a synthetic prefix restoring the state there.

    None when the window cannot move (too few turns, or a form active since before events[0]).
    """
    start = window_start(events, window_turns)
    if start <= 0:
        return None
    before = state_at(sender_id, slots, prefix, events, start)
    if before.active_loop_name:
        start = loop_activation_start(events, start, before.active_loop_name) or 0
        if start <= 0:
            return None
        before = state_at(sender_id, slots, prefix, events, start)
    return start, state_events(before, events[start - 1].timestamp)


def user_turns(events: Sequence[Event]) -> int:
    return sum(1 for e in events if isinstance(e, UserUttered))


@dataclass(frozen=True)
class _WindowStatements:
    """The window store's SQL, built once per store (see `WindowedSQLMixin._statements`)."""

    snapshot: Any
    delete_snapshot: Any
    session_events: Any
    count_session: Any
    events_after: Any
    count_after: Any
    insert_event: Any
    update_snapshot: Any
    insert_snapshot: Any

    @classmethod
    def build(cls, events: sa.Table) -> _WindowStatements:
        sender = sa.bindparam("sender")
        snapshots = WindowSnapshot.__table__
        # Rasa's `_event_query`: the events since the latest SessionStarted, or all of them without one
        session_start = (
            sa.select(sa.func.max(events.c.timestamp))
            .where(events.c.sender_id == sender, events.c.type_name == SessionStarted.type_name)
            .scalar_subquery()
        )
        in_session = (
            events.c.sender_id == sender,
            sa.or_(events.c.timestamp >= session_start, session_start.is_(None)),
        )
        return cls(
            snapshot=sa.select(snapshots.c.cut_id, snapshots.c.prefix).where(snapshots.c.sender_id == sender),
            delete_snapshot=snapshots.delete().where(snapshots.c.sender_id == sender),
            session_events=sa.select(events.c.id, events.c.data).where(*in_session).order_by(events.c.id),
            count_session=sa.select(sa.func.count(events.c.id)).where(*in_session),
            events_after=sa.select(events.c.id, events.c.data)
            .where(events.c.sender_id == sender, events.c.id > sa.bindparam("cut"))
            .order_by(events.c.id),
            count_after=sa.select(sa.func.count(events.c.id)).where(
                events.c.sender_id == sender, events.c.id > sa.bindparam("last")
            ),
            insert_event=events.insert(),
            update_snapshot=snapshots.update()
            .where(snapshots.c.sender_id == sa.bindparam("for_sender"))
            .values(cut_id=sa.bindparam("new_cut"), prefix=sa.bindparam("new_prefix")),
            insert_snapshot=snapshots.insert(),
        )


# --- the store ------------------------------------------------------------------------------------
class WindowedSQLMixin(SQLTrackerStore):
    """Bounded tracker loads for Rasa's SQLTrackerStore (see the module docstring)."""

    def __init__(
        self,
        *args: Any,
        window_turns: int | str = DEFAULT_WINDOW_TURNS,
        window_slack: int | str = DEFAULT_WINDOW_SLACK,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        # The settings win, so the conversation tests can run every flow through a tiny window.
        env = env_settings()
        turns, slack = env.tracker_window_turns, env.tracker_window_slack
        self.window_turns = max(1, int(window_turns if turns is None else turns))
        self.window_slack = max(0, int(window_slack if slack is None else slack))
        try:
            _Base.metadata.create_all(self.engine)
        except sa.exc.DBAPIError:
            # Several instances starting at once race on PostgreSQL's catalog; the loser finds it there.
            if not sa.inspect(self.engine).has_table(WindowSnapshot.__tablename__):
                raise

    async def _in_db_thread(self, work: Callable[..., T], *args: Any) -> T:
        """Run blocking database work off the event loop where the database is a server.

        Rasa's SQL store talks to the database synchronously inside its coroutines, so while PostgreSQL
        answers, the whole Rasa process waits: no other conversation's NLU or policies run. In a worker
        thread the wait overlaps with other turns (the driver releases the GIL while it waits). SQLite
        is a file in this process: its calls stay on the loop (one pooled connection, WAL)."""
        store: SQLTrackerStore = self
        if store.engine.dialect.name == "sqlite":
            return work(*args)
        return await asyncio.to_thread(work, *args)

    async def _retrieve(self, sender_id: str, fetch_events_from_all_sessions: bool) -> DialogueStateTracker | None:
        if fetch_events_from_all_sessions:
            return await super()._retrieve(sender_id, True)
        store: SQLTrackerStore = self
        snapshot_cut, prefix, ids, data = await self._in_db_thread(self._read_window, sender_id)
        if snapshot_cut is not None:
            started = [i for i, d in enumerate(data) if d.get("event") == SessionStarted.type_name]
            if started:  # a new session began after the cut: its state starts afresh, as in Rasa
                prefix, data, ids = [], data[started[-1] :], ids[started[-1] :]
        if not data and not prefix or not store.domain:
            return None
        tracker = DialogueStateTracker.from_dict(sender_id, [*prefix, *data], store.domain.slots)
        setattr(
            tracker,
            MARK_ATTRIBUTE,
            WindowMark(
                loaded=len(prefix) + len(data),
                prefix_len=len(prefix),
                last_id=ids[-1] if ids else (snapshot_cut or 0),
                ids=ids,
            ),
        )
        return tracker

    def _read_window(self, sender_id: str) -> tuple[int | None, list[dict], list[int], list[dict]]:
        """The snapshot's cut and prefix (None, [] without one), then the ids and data of the events after it."""
        sql = self._statements()
        with self.engine.connect() as conn:
            snapshot = conn.execute(sql.snapshot, {"sender": sender_id}).first()
            if snapshot is None:
                rows = conn.execute(sql.session_events, {"sender": sender_id}).all()
                cut, prefix = None, []
            else:
                rows = conn.execute(sql.events_after, {"sender": sender_id, "cut": snapshot.cut_id}).all()
                cut, prefix = snapshot.cut_id, json.loads(snapshot.prefix)
        return cut, prefix, [row.id for row in rows], [json.loads(row.data) for row in rows]

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Store the turn's new events in one transaction (in `_in_db_thread`), then publish them.

        Rasa publishes first and stores second, and must read what is stored to know what is new: a second
        transaction per turn. A tracker this store loaded knows where the stored events end, so the count,
        the insert and the window move share one transaction, and the broker gets exactly the events that
        were stored, as one message where it can take one (bot.production.masking_broker). A tracker we
        did not load keeps Rasa's order and Rasa's count."""
        store: SQLTrackerStore = self
        mark: WindowMark | None = getattr(tracker, MARK_ATTRIBUTE, None)
        if mark is None:
            await self.stream_events(tracker)
            await self._in_db_thread(self._store_unloaded, tracker)
            return
        await self._in_db_thread(self._store_new_events, tracker, mark)
        # The events from the first one this save found unstored: an attempt whose commit went through but
        # whose connection failed before it could say so is retried (ResilientSQLTrackerStore), and the
        # retry finds nothing new, yet the first attempt's events still have to be published.
        first_unsaved = tracker.__dict__.pop(PUBLISH_FROM_ATTRIBUTE, len(tracker.events))
        if first_unsaved < len(tracker.events) and store.event_broker is not None:
            new_events = list(itertools.islice(tracker.events, first_unsaved, len(tracker.events)))
            await self._stream_new_events(store.event_broker, new_events, tracker.sender_id)

    def _store_new_events(self, tracker: DialogueStateTracker, mark: WindowMark) -> None:
        """Insert the events not stored yet (one INSERT, in their order) and move the window. Events an
        earlier or retried save stored (counted after the loaded ones) are skipped; where this save's
        unstored events began is kept on the tracker until `save` has published them."""
        sql = self._statements()
        with self.engine.begin() as conn:
            stored_since = conn.execute(sql.count_after, {"sender": tracker.sender_id, "last": mark.last_id}).scalar()
            unsaved = mark.loaded + int(stored_since or 0)
            earlier = tracker.__dict__.get(PUBLISH_FROM_ATTRIBUTE, unsaved)
            tracker.__dict__[PUBLISH_FROM_ATTRIBUTE] = min(earlier, unsaved)
            new_events = list(itertools.islice(tracker.events, unsaved, len(tracker.events)))
            if new_events:  # ids ascend as the rows are listed
                conn.execute(sql.insert_event, [self._event_row(tracker.sender_id, e) for e in new_events])
            self._move_window(conn, tracker, mark)

    def _event_row(self, sender_id: str, event: Event) -> dict[str, Any]:
        """The `events` row Rasa's store would write for this event (through `_stored_form`)."""
        data = self._stored_form(event)
        return {
            "sender_id": sender_id,
            "type_name": event.type_name,
            "timestamp": data.get("timestamp"),
            "intent_name": ((data.get("parse_data") or {}).get("intent") or {}).get("name"),
            "action_name": data.get("name"),
            "data": json.dumps(data),
        }

    def _store_unloaded(self, tracker: DialogueStateTracker) -> None:
        """A tracker this store did not load (a new conversation, PUT /tracker/events): the snapshot no
        longer describes what it holds, so it goes, and Rasa's count (the events of the latest session
        in the table) decides which events are new."""
        sql = self._statements()
        with self.engine.begin() as conn:
            conn.execute(sql.delete_snapshot, {"sender": tracker.sender_id})
            stored = int(conn.execute(sql.count_session, {"sender": tracker.sender_id}).scalar() or 0)
            new_events = list(itertools.islice(tracker.events, stored, len(tracker.events)))
            if new_events:
                conn.execute(sql.insert_event, [self._event_row(tracker.sender_id, e) for e in new_events])

    async def _stream_new_events(self, event_broker: Any, new_events: list[Event], sender_id: str) -> None:
        """Rasa's publishing, one message per turn where the broker offers `publish_many`."""
        publish_many = getattr(event_broker, "publish_many", None)
        if publish_many is None:
            return await super()._stream_new_events(event_broker, new_events, sender_id)
        publish_many([{"sender_id": sender_id, **event.as_dict()} for event in new_events])
        return None

    def _move_window(self, conn: sa.engine.Connection, tracker: DialogueStateTracker, mark: WindowMark) -> None:
        """Store a new snapshot once more than window_turns + window_slack user turns are in memory."""
        events = list(tracker.events)
        prefix, stored = events[: mark.prefix_len], events[mark.prefix_len :]
        if user_turns(stored) <= self.window_turns + self.window_slack:
            return
        plan = plan_cut(
            tracker.sender_id,
            self.domain.slots,
            prefix,
            stored,
            self.window_turns,
        )
        if plan is None or plan[0] > len(mark.ids):  # the cut must fall on an event whose id we know
            return
        start, new_prefix = plan
        values = {
            "sender_id": tracker.sender_id,
            "cut_id": mark.ids[start - 1],
            "prefix": json.dumps([self._stored_form(e) for e in new_prefix]),
        }
        sql = self._statements()
        changed = {"for_sender": values["sender_id"], "new_cut": values["cut_id"], "new_prefix": values["prefix"]}
        if conn.execute(sql.update_snapshot, changed).rowcount == 0:
            conn.execute(sql.insert_snapshot, values)

    def _statements(self) -> _WindowStatements:
        """The store's SQL, built once: SQLAlchemy then finds each compiled statement by the object's
        memoised cache key instead of walking a freshly built ORM query every turn (~7 % of the CPU of
        a saturated instance went to those walks and the ORM session around them)."""
        statements: _WindowStatements | None = self.__dict__.get("_qhd_statements")
        if statements is None:
            store: SQLTrackerStore = self
            statements = self.__dict__["_qhd_statements"] = _WindowStatements.build(store.SQLEvent.__table__)
        return statements

    def _stored_form(self, event: Event) -> dict:
        """How an event is written to the database; a store that masks events must mask here too, so
        the snapshot holds exactly what a full load of the stored events would give."""
        return event.as_dict()


class WindowedSQLTrackerStore(WindowedSQLMixin, SQLTrackerStore):
    """The embedded profile's store: Rasa's SQLTrackerStore with bounded loads.

    For SQLite, `sqlite_synchronous: NORMAL` switches the file to write-ahead logging with one fsync per
    checkpoint instead of two per commit (a commit cost 33-43 ms on the loaded test machine,
    bench/results/profile_turn.md). An application crash loses nothing; a power cut or OS crash can
    lose the latest turns, never the file. Left out, Rasa's settings stay.
    """

    def __init__(self, *args: Any, sqlite_synchronous: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if sqlite_synchronous and self.engine.dialect.name == "sqlite":
            # Rasa opens SQLite without a pool: in WAL mode every close of the last connection would
            # checkpoint and fsync. One pooled connection, used only by Rasa's event-loop thread.
            url = self.engine.url
            self.engine.dispose()
            self.engine = sa.create_engine(url, poolclass=sa.pool.SingletonThreadPool)
            self.sessionmaker = sa.orm.sessionmaker(bind=self.engine)
            use_wal(self.engine, str(sqlite_synchronous))


def use_wal(engine: sa.engine.Engine, synchronous: str) -> None:
    """Write-ahead logging and the given `synchronous` level on every new SQLite connection."""
    if synchronous.upper() not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
        raise ValueError(f"sqlite_synchronous must be OFF, NORMAL, FULL or EXTRA, not {synchronous!r}")

    @sa.event.listens_for(engine, "connect")
    def _pragmas(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous.upper()}")
        cursor.close()

    engine.dispose()
