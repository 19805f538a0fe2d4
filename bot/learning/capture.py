"""The capture hook Rasa's channel guard calls after every turn (bot.channels.guard.never_silent).

Why here: the guard wraps every channel's `on_new_message` inside the Rasa process, so it sees every
turn of every door (widget, REST) in one place, including the parse data (intent ranking) that the
action server never gets for turns that go to an utterance. The work runs as a separate task after the
reply has been sent: it takes the turn's events, applies bot.learning.rules, and writes in a worker
thread. Any failure is logged and swallowed — learning must never slow or break a resident's turn.

Where the events come from: our tracker stores hand each saved tracker's latest turn to
`remember_saved` (the events the rules read, as dicts: the user message and what followed it, the
CONTEXT_TURNS texts before it, the latest active-loop event before it). Reading the tracker back from
the database instead cost a second load and decode per turn (~2 ms of ~33, bench/results/profile_turn.md);
that read remains the fallback for a store that does not hand turns over.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from rasa.shared.core.events import ActiveLoop, BotUttered, Event, UserUttered
from rasa.shared.core.trackers import EventVerbosity
from sanic import Sanic

from bot.learning import rules
from bot.learning.store import record_turn

log = logging.getLogger(__name__)
_pending: set[asyncio.Task] = set()  # keep references so running tasks are not garbage-collected
MAX_REMEMBERED = 1024  # conversations whose saved turn waits for its capture (one process)
_saved: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()


def turn_events(events: Sequence[Event]) -> list[dict[str, Any]]:
    """The events `rules.last_turn` reads, as dicts: the latest user message and what followed it, the
    texts of the turns before it (up to CONTEXT_TURNS), and the latest active-loop event before it."""
    user = next((i for i in range(len(events) - 1, -1, -1) if isinstance(events[i], UserUttered)), None)
    if user is None:
        return []
    start, texts = user, 0
    while start > 0 and texts < rules.CONTEXT_TURNS:
        start -= 1
        if isinstance(events[start], (UserUttered, BotUttered)) and events[start].text:
            texts += 1
    loop = next((i for i in range(user - 1, -1, -1) if isinstance(events[i], ActiveLoop)), None)
    chosen = [events[loop]] if loop is not None and loop < start else []
    return [event.as_dict() for event in (*chosen, *events[start:])]


def remember_saved(sender_id: str, events: Sequence[Event]) -> None:
    """Keep a just-saved turn for its capture (called by our tracker stores; never raises)."""
    try:
        _saved[sender_id] = turn_events(list(events))  # the tracker's deque cannot be sliced
        _saved.move_to_end(sender_id)
        while len(_saved) > MAX_REMEMBERED:
            _saved.popitem(last=False)
    except Exception:  # the capture falls back to reading the store
        log.exception("could not keep the saved turn of %s", sender_id)


def store_turn(sender_id: str, events: list[dict], margin: float | None = None, url: str | None = None) -> list[str]:
    """Decide and store (blocking): the reasons the latest turn was captured ([] when it was not)."""
    turn = rules.last_turn(events)
    if turn is None:
        return []
    reasons = rules.capture_reasons(turn, rules.margin_setting() if margin is None else margin)
    if reasons:
        record_turn(sender_id, turn, reasons, url)
    return reasons


async def _tracker_events(sender_id: str) -> list[dict[str, Any]]:
    remembered = _saved.pop(sender_id, None)
    if remembered is not None:
        return remembered
    agent = Sanic.get_app().ctx.agent
    tracker = await agent.tracker_store.retrieve(sender_id)
    if tracker is None:
        return []
    return tracker.current_state(EventVerbosity.AFTER_RESTART).get("events") or []


async def _capture(sender_id: str) -> None:
    try:
        events = await _tracker_events(sender_id)
        if events:
            await asyncio.get_running_loop().run_in_executor(None, store_turn, sender_id, events)
    except Exception:  # learning is best effort; the resident's turn is already answered
        log.exception("learning capture failed for a turn of %s", sender_id)


def schedule_capture(sender_id: str) -> None:
    """Start the capture of `sender_id`'s latest turn in the background; never raises."""
    try:
        task = asyncio.get_running_loop().create_task(_capture(sender_id))
        _pending.add(task)
        task.add_done_callback(_pending.discard)
    except Exception:
        log.exception("could not schedule the learning capture")
