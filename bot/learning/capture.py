"""The capture hook Rasa's channel guard calls after every turn (bot.channels.guard.never_silent).

Why here: the guard wraps every channel's `on_new_message` inside the Rasa process, so it sees every
turn of every door (widget, REST) in one place, including the parse data (intent ranking) that the
action server never gets for turns that go to an utterance. The work runs as a separate task after the
reply has been sent: it reads the tracker, applies bot.learning.rules, and writes in a worker thread.
Any failure is logged and swallowed — learning must never slow or break a resident's turn.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa.shared.core.trackers import EventVerbosity
from sanic import Sanic

from bot.learning import rules
from bot.learning.store import record_turn

log = logging.getLogger(__name__)
_pending: set[asyncio.Task] = set()  # keep references so running tasks are not garbage-collected


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
    except Exception:  # noqa: BLE001 - learning is best effort; the resident's turn is already answered
        log.exception("learning capture failed for a turn of %s", sender_id)


def schedule_capture(sender_id: str) -> None:
    """Start the capture of `sender_id`'s latest turn in the background; never raises."""
    try:
        task = asyncio.get_running_loop().create_task(_capture(sender_id))
        _pending.add(task)
        task.add_done_callback(_pending.discard)
    except Exception:  # noqa: BLE001
        log.exception("could not schedule the learning capture")
