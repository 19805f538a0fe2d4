"""Rasa's SQL tracker store, made to ride out a database restart instead of forgetting a conversation.

Why: Rasa wraps every tracker store in a fail-safe wrapper. When a read fails it returns "no tracker"
and the turn is processed as a brand-new conversation (form, slots and history silently gone); when
a write fails the events go to an in-memory store on that one process only. After a PostgreSQL restart
every pooled connection is dead, so without help the next turns on each instance hit exactly that.

This subclass (a) checks a pooled connection before using it (`pool_pre_ping`), and (b) retries a
read or a write that failed for a connection reason for up to TRACKER_DB_RETRY_SECONDS (default 20),
waiting asynchronously so other conversations keep moving. A retried write is safe: Rasa's save
recounts what is stored and inserts only the missing events, in one transaction. Events are published
to the event broker once per save, not once per attempt.

    tracker_store:
      type: bot.production.tracker_store.ResilientSQLTrackerStore
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import sessionmaker

from bot.settings import env_settings
from bot.tracker_privacy import MaskingMixin
from bot.tracker_window import WindowedSQLMixin

logger = logging.getLogger(__name__)
T = TypeVar("T")
_streamed: contextvars.ContextVar[bool] = contextvars.ContextVar("qhd_tracker_streamed", default=False)


def retry_window_s() -> float:
    """TRACKER_DB_RETRY_SECONDS (bot.settings, default 20): how long a tracker call waits for PostgreSQL."""
    return max(0.0, env_settings().tracker_db_retry_seconds)


def is_connection_error(error: BaseException) -> bool:
    """True for failures a reconnect can cure (server restarting, connection dropped)."""
    if isinstance(error, (OperationalError, InterfaceError)):
        return True
    return isinstance(error, DBAPIError) and bool(error.connection_invalidated)


class ResilientSQLTrackerStore(SQLTrackerStore):
    """SQLTrackerStore with connection checks and a bounded retry on connection errors."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        url = self.engine.url.render_as_string(hide_password=False)
        self.engine.dispose()
        self.engine = sa.create_engine(url, pool_pre_ping=True, **create_engine_kwargs(url))
        self.sessionmaker = sessionmaker(bind=self.engine)
        self.retry_seconds = retry_window_s()

    async def _retrying(self, what: str, operation: Callable[[], Awaitable[T]]) -> T:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.retry_seconds
        delay = 0.2
        while True:
            try:
                return await operation()
            except Exception as error:
                if not is_connection_error(error) or loop.time() + delay > deadline:
                    raise
                logger.warning("tracker store %s failed (%s); retrying in %.1f s", what, type(error).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        return await self._retrying("read", lambda: SQLTrackerStore.retrieve(self, sender_id))

    async def retrieve_full_tracker(self, conversation_id: str) -> DialogueStateTracker | None:
        return await self._retrying("read", lambda: SQLTrackerStore.retrieve_full_tracker(self, conversation_id))

    async def keys(self) -> Iterable[str]:
        return await self._retrying("read", lambda: SQLTrackerStore.keys(self))

    async def stream_events(self, tracker: DialogueStateTracker) -> None:
        if _streamed.get():
            return  # a retried save: these events were published by the first attempt
        await super().stream_events(tracker)
        _streamed.set(True)

    async def save(self, tracker: DialogueStateTracker) -> None:
        async def attempt() -> None:
            # the next class's save: Rasa's, or bot.tracker_window's (which stores off the event loop)
            await super(ResilientSQLTrackerStore, self).save(tracker)

        token = _streamed.set(False)
        try:
            await self._retrying("write", attempt)
        finally:
            _streamed.reset(token)


class MaskingResilientSQLTrackerStore(MaskingMixin, ResilientSQLTrackerStore):
    """The production tracker store: resilient, and storing masked events (bot/tracker_privacy.py)."""


class WindowedResilientSQLTrackerStore(ResilientSQLTrackerStore, WindowedSQLMixin):
    """Bounded loads (bot.tracker_window) with the retry on connection errors around them.

    The retrying class comes first, so its retry and once-only publishing wrap the mixin's hooks.
    """


class WindowedMaskingResilientSQLTrackerStore(MaskingMixin, ResilientSQLTrackerStore, WindowedSQLMixin):
    """The production tracker store: resilient, bounded loads, events and window snapshots stored masked."""
