"""Rasa SQL tracker stores that write events masked (bot.privacy_events.for_tracker) and can forget a
conversation on request.

Why a subclass: Rasa's SQLTrackerStore serialises each new event inside `save`; the only seam that sees
every event on its way to the table is `_additional_events`, so that is where the masked copies are made.
The tracker held in memory during a turn keeps the raw values (the running form needs them); only what
is stored is masked.

    tracker_store:                                     # endpoints.yml (embedded profile, SQLite)
      type: bot.tracker_privacy.MaskingWindowedSQLTrackerStore

MaskingWindowedSQLTrackerStore adds the bounded loads of bot.tracker_window (a turn costs the same at
turn 200 as at turn 10); its snapshot of the state before the window is stored masked too.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import Event, SlotSet

from bot.learning.capture import remember_saved
from bot.privacy_events import FORM_SLOTS_KEPT, for_tracker, mask_slot
from bot.tracker_window import MARK_ATTRIBUTE, WindowedSQLTrackerStore

RECENT_EVENTS = 40
logger = logging.getLogger(__name__)


class MaskingMixin(SQLTrackerStore):
    """Mask every event on its way into the store; once the form has let go of a kept slot (set it to
    None), mask the raw values stored earlier for it as well. Mixed in before a SQL tracker store (its
    base only tells type checkers what `super()` is: the method order of the stores below is unchanged)."""

    def _additional_events(self, session: Any, tracker: Any) -> Iterator[Event]:
        for event in super()._additional_events(session, tracker):
            masked = Event.from_parameters(for_tracker(event.as_dict()))
            yield masked if masked is not None else event

    def _stored_form(self, event: Event) -> dict:
        """How the window store (bot.tracker_window) writes an event and a snapshot: masked."""
        return for_tracker(event.as_dict())

    async def save(self, tracker: Any) -> None:
        await super().save(tracker)
        remember_saved(tracker.sender_id, tracker.events)  # the learning capture reads this turn from here
        recent = _events_a_release_can_be_among(tracker)
        released = {e.key for e in recent if isinstance(e, SlotSet) and e.key in FORM_SLOTS_KEPT and e.value is None}
        released = {name for name in released if tracker.get_slot(name) is None}
        if released:
            in_db_thread = getattr(self, "_in_db_thread", None)  # the window store's: off the loop for a server
            try:
                if in_db_thread is not None:
                    await in_db_thread(self._mask_stored_slots, tracker.sender_id, released)
                else:
                    self._mask_stored_slots(tracker.sender_id, released)
            except Exception:  # the turn is saved; retention still covers these values
                logger.exception("could not mask the stored values of %s", sorted(released))

    def _mask_stored_slots(self, sender_id: str, names: set[str]) -> None:
        sql_event = self.SQLEvent
        with self.session_scope() as session:
            rows = (
                session.query(sql_event)
                .filter(sql_event.sender_id == sender_id, sql_event.type_name == SlotSet.type_name)
                .all()
            )
            for row in rows:
                data = json.loads(row.data)
                if data.get("name") in names and data.get("value") is not None:
                    masked = mask_slot(data["name"], data["value"])
                    if masked != data["value"]:
                        data["value"] = masked
                        row.data = json.dumps(data)
            session.commit()


def _events_a_release_can_be_among(tracker: Any) -> list[Event]:
    """The events of this turn when a window store loaded the tracker (those after the loaded ones), else
    the latest RECENT_EVENTS. Looking further back re-masked the same stored rows on every later turn:
    ~5 % of a saturated instance's CPU after each saved help request."""
    events = list(tracker.events)  # a deque: no slicing
    mark = getattr(tracker, MARK_ATTRIBUTE, None)
    return events[mark.loaded :] if mark is not None else events[-RECENT_EVENTS:]


class MaskingSQLTrackerStore(MaskingMixin, SQLTrackerStore):
    """Rasa's SQL tracker store, storing masked events."""


class MaskingWindowedSQLTrackerStore(MaskingMixin, WindowedSQLTrackerStore):
    """The embedded profile's store: bounded loads (bot.tracker_window), events and snapshots masked."""
