"""Rasa's Redis lock store with atomic ticket operations, so two instances never serve one conversation
at the same time.

Why: Rasa 3.6's lock store changes a conversation's ticket lock by read-modify-write (GET, change in
Python, SET) with nothing in between to stop another process (RasaHQ/rasa#9213). When two messages of
one conversation reach two instances at the same moment, both can read "no lock", both issue ticket 0
and both proceed. Both then load the same tracker, and the SQL tracker store's save (which appends
"events beyond the number already stored") drops the events of whichever turn saves second: the
message disappears although its sender got HTTP 200. tests/production/test_cluster.py shows it.

Here every change to a lock is one optimistic Redis transaction (WATCH the key, read, change, MULTI/
SET or DEL/EXEC, retry when another process changed the key meanwhile). Releasing a ticket and deleting
the lock when nobody else waits are one transaction too, so a ticket issued in between is never
deleted with the lock. The storage format is Rasa's, so both classes can share a Redis during an update.

Off the event loop: a transaction is four round trips to Redis, two per turn (issue, clean up), and
Rasa runs them synchronously inside its event loop, so every other conversation of the process waited
for them (17 % of the loop's time at saturation, bench/results/profile_turn.md). `lock` runs both in a
worker thread; waiting for one's turn (`_acquire_lock`) stays Rasa's.

    lock_store:
      type: bot.production.lock_store.AtomicRedisLockStore
      url: ..., port: ..., db: ..., password: ..., key_prefix: ...   (as for `type: redis`)
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import redis
from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

logger = logging.getLogger(__name__)
T = TypeVar("T")
# What a change returns: the lock to store (None = delete the key) and the caller's result.
Change = Callable[[TicketLock | None], tuple[TicketLock | None, T]]


class AtomicRedisLockStore(RedisLockStore):
    """RedisLockStore whose ticket operations are Redis transactions."""

    def __init__(self, endpoint_config: EndpointConfig | None = None, **kwargs: Any) -> None:
        if endpoint_config is not None:  # how Rasa builds a lock store named by module path
            kwargs = {"host": endpoint_config.url or "localhost", **endpoint_config.kwargs, **kwargs}
        super().__init__(**kwargs)

    @asynccontextmanager
    async def lock(
        self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME, wait_time_in_seconds: float = 1
    ) -> AsyncIterator[TicketLock]:
        """Rasa's lock protocol (take a ticket, wait for it, always give it back), Redis work in a thread."""
        ticket = await asyncio.to_thread(self.issue_ticket, conversation_id, lock_lifetime)
        try:
            yield await self._acquire_lock(conversation_id, ticket, wait_time_in_seconds)
        finally:
            # a cancelled turn still gives its ticket back: the thread runs to its end either way
            await asyncio.to_thread(self.cleanup, conversation_id, ticket)

    def _atomically(self, conversation_id: str, change: Change) -> T:
        key = self.key_prefix + conversation_id
        with self.red.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    lock = TicketLock.from_dict(json.loads(raw)) if raw else None
                    new_lock, result = change(lock)
                    pipe.multi()
                    if new_lock is None:
                        pipe.delete(key)
                    else:
                        pipe.set(key, new_lock.dumps())
                    pipe.execute()
                    return result
                except redis.WatchError:
                    continue  # another process changed this lock between our read and write: redo

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        def change(lock: TicketLock | None) -> tuple[TicketLock, int]:
            lock = lock or self.create_lock(conversation_id)
            return lock, lock.issue_ticket(lock_lifetime)

        try:
            return self._atomically(conversation_id, change)
        except redis.RedisError as error:
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error

    def update_lock(self, conversation_id: str) -> None:
        def change(lock: TicketLock | None) -> tuple[TicketLock | None, None]:
            if lock is not None:
                lock.remove_expired_tickets()
            return lock, None

        self._atomically(conversation_id, change)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        def change(lock: TicketLock | None) -> tuple[TicketLock | None, None]:
            if lock is not None:
                lock.remove_ticket_for(ticket_number)
            return lock, None

        self._atomically(conversation_id, change)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        def change(lock: TicketLock | None) -> tuple[TicketLock | None, None]:
            if lock is None:
                return None, None
            lock.remove_ticket_for(ticket_number)
            return (lock if lock.is_someone_waiting() else None), None

        self._atomically(conversation_id, change)
