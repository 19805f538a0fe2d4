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

Off the event loop: Rasa runs its lock calls synchronously inside its event loop, so every other
conversation of the process waited for them (17 % of the loop's time at saturation,
bench/results/profile_turn.md). `lock` runs the issue and the clean-up in a worker thread; waiting for
one's turn (`_acquire_lock`) stays Rasa's.

One round trip each: issuing a ticket and giving it back, the two operations of every turn, are Lua
scripts that Redis runs atomically (the same changes as `TicketLock`'s, the same JSON, with the
caller's clock for expiry as in Rasa), instead of optimistic transactions of four round trips each
(~5 % of a saturated instance's CPU went to the Redis client). The rarer operations keep the
transactions.

    lock_store:
      type: bot.production.lock_store.AtomicRedisLockStore
      url: ..., port: ..., db: ..., password: ..., key_prefix: ...   (as for `type: redis`)
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import redis
from rasa.core.lock import Ticket, TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

logger = logging.getLogger(__name__)
T = TypeVar("T")
# What a change returns: the lock to store (None = delete the key) and the caller's result.
Change = Callable[[TicketLock | None], tuple[TicketLock | None, T]]


# The unexpired tickets of a stored lock (KEYS[1]) at time ARGV[1], as their stored JSON strings and numbers.
_LIVE_TICKETS = """
local function live_tickets(raw, now)
    local kept, numbers = {}, {}
    if raw then
        local tickets = cjson.decode(raw)["tickets"]
        if type(tickets) == "table" then
            for _, text in ipairs(tickets) do
                local ticket = cjson.decode(text)
                if not (now > tonumber(ticket["expires"])) then
                    table.insert(kept, text)
                    table.insert(numbers, tonumber(ticket["number"]))
                end
            end
        end
    end
    return kept, numbers
end
local function stored_lock(raw, conversation_id, kept)
    local id = conversation_id
    if raw then id = cjson.decode(raw)["conversation_id"] end
    return '{"conversation_id": ' .. cjson.encode(id) .. ', "tickets": ' .. cjson.encode(kept) .. '}'
end
"""
# TicketLock.issue_ticket: drop expired tickets, append number last + 1 (0 when none) expiring at now + lifetime.
# Returns {number, 1 when no unexpired ticket was there before it (the caller is served at once), else 0}.
ISSUE_SCRIPT = (
    _LIVE_TICKETS
    + """
local raw = redis.call("GET", KEYS[1])
local now, lifetime = tonumber(ARGV[1]), tonumber(ARGV[2])
local kept, numbers = live_tickets(raw, now)
local number = 0
if #numbers > 0 then number = numbers[#numbers] + 1 end
local first_in_line = 0
if #kept == 0 then first_in_line = 1 end
table.insert(kept, string.format('{"number": %d, "expires": %.6f}', number, now + lifetime))
redis.call("SET", KEYS[1], stored_lock(raw, ARGV[3], kept))
return {number, first_in_line}
"""
)
# cleanup: drop expired tickets and the caller's; keep the lock only while someone still waits.
CLEANUP_SCRIPT = (
    _LIVE_TICKETS
    + """
local raw = redis.call("GET", KEYS[1])
if not raw then return 0 end
local kept, numbers = live_tickets(raw, tonumber(ARGV[1]))
local others = {}
for i, text in ipairs(kept) do
    if numbers[i] ~= tonumber(ARGV[2]) then table.insert(others, text) end
end
if #others == 0 then
    redis.call("DEL", KEYS[1])
else
    redis.call("SET", KEYS[1], stored_lock(raw, nil, others))
end
return #others
"""
)


class AtomicRedisLockStore(RedisLockStore):
    """RedisLockStore whose ticket operations are atomic in Redis (Lua scripts and transactions)."""

    def __init__(self, endpoint_config: EndpointConfig | None = None, **kwargs: Any) -> None:
        if endpoint_config is not None:  # how Rasa builds a lock store named by module path
            kwargs = {"host": endpoint_config.url or "localhost", **endpoint_config.kwargs, **kwargs}
        super().__init__(**kwargs)
        self._issue = self.red.register_script(ISSUE_SCRIPT)
        self._cleanup = self.red.register_script(CLEANUP_SCRIPT)

    @asynccontextmanager
    async def lock(
        self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME, wait_time_in_seconds: float = 1
    ) -> AsyncIterator[TicketLock]:
        """Rasa's lock protocol (take a ticket, wait for it, always give it back), Redis work in a thread.

        A ticket issued with no unexpired ticket before it is served at once, as Rasa's `_acquire_lock`
        would find on its first read; that read (a Redis round trip on the event loop) is skipped.
        """
        ticket, first_in_line = await asyncio.to_thread(self._take_ticket, conversation_id, lock_lifetime)
        try:
            if first_in_line:
                yield TicketLock(conversation_id, deque([Ticket(ticket, time.time() + lock_lifetime)]))
            else:
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
        return self._take_ticket(conversation_id, lock_lifetime)[0]

    def _take_ticket(self, conversation_id: str, lock_lifetime: float) -> tuple[int, bool]:
        """A new ticket's number, and whether no unexpired ticket was before it."""
        try:
            number, first_in_line = self._issue(
                keys=[self.key_prefix + conversation_id], args=[time.time(), lock_lifetime, conversation_id]
            )
        except redis.RedisError as error:
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error
        return int(number), bool(first_in_line)

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
        self._cleanup(keys=[self.key_prefix + conversation_id], args=[time.time(), ticket_number])
