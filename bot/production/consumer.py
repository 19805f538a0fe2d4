"""Analytics consumer: Rasa's RabbitMQ event stream -> rows in qhd_analytics_events (staff charts).

Rasa's pika event broker publishes every new tracker event as JSON (`sender_id` plus the event's
dict) to a fanout exchange bound to our durable queue; our masking broker publishes a saved turn's
events as one JSON array of those objects (bot/production/masking_broker.py). Both shapes are read.
This process reads that queue, keeps only the events the staff charts need (user turns with their
intent, bot actions, session starts, handoff pauses and resumes) and writes them in batches through
the store's `AnalyticsEvent` model.

No event is lost on the way: a batch is acknowledged to RabbitMQ only after its database transaction
committed; when the database is down the batch is handed back (nack + requeue) and retried. A
redelivered event (consumer killed between commit and acknowledgement) is written once only when the
model has a unique `event_key` column: inserts then skip a key already stored. Without it such a
redelivery makes a duplicate row, never a missing one.

Message text is never copied: slots and texts can hold names, phone and ID numbers.

    python -m bot.production.consumer            # runs until SIGINT / SIGTERM
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import logging
import signal
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import aio_pika
from sqlalchemy import exc, insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.logs import setup_logging
from bot.metrics import metrics, serve_from_env
from bot.production.config import ProductionConfig
from bot.settings import env_settings
from bot.store import db
from bot.store.models import AnalyticsEvent

logger = logging.getLogger(__name__)

# Rasa event types worth a row; everything else (bot texts, slots, featurisation) is skipped.
KEPT_EVENTS = {"user", "action", "session_started", "pause", "resume", "restart"}

# The name we write each value under, and other column names the store model may use for it. Values
# without a column of their own go into the model's JSON `payload` column when it has one.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "sender_id": ("conversation_id",),
    "event_type": ("type", "type_name"),
    "intent": ("intent_name",),
    "confidence": ("intent_confidence",),
    "action_name": ("action",),
    "timestamp": ("at", "occurred_at"),
    "channel": ("input_channel",),
    "event_key": ("dedup_key",),
}
PAYLOAD_COLUMN = "payload"


def event_key(event: dict) -> str:
    """Stable identity of one tracker event, so a redelivered message is written once."""
    parts = [str(event.get(k, "")) for k in ("sender_id", "event", "timestamp", "name")]
    parse = event.get("parse_data") or {}
    parts.append(str((parse.get("intent") or {}).get("name", "")))
    return hashlib.sha1("|".join(parts).encode("utf-8")).hexdigest()


def event_to_row(event: dict) -> dict[str, Any] | None:
    """The analytics row for one published Rasa event, or None when the charts do not need it."""
    kind = event.get("event")
    sender = event.get("sender_id")
    if kind not in KEPT_EVENTS or not isinstance(sender, str) or not sender:
        return None
    try:
        ts = float(event.get("timestamp"))
    except (TypeError, ValueError):
        return None
    row: dict[str, Any] = {
        "sender_id": sender[:255],
        "event_type": kind,
        "intent": None,
        "confidence": None,
        "action_name": None,
        "timestamp": datetime.fromtimestamp(ts, tz=timezone.utc).replace(tzinfo=None),
        "channel": None,
        "event_key": event_key(event),
    }
    if kind == "user":
        parse = event.get("parse_data") or {}
        intent = parse.get("intent") or {}
        row["intent"] = intent.get("name")
        conf = intent.get("confidence")
        row["confidence"] = float(conf) if isinstance(conf, (int, float)) else None
        row["channel"] = event.get("input_channel")
    elif kind == "action":
        row["action_name"] = event.get("name")
    return row


def events_in(body: bytes) -> list[dict] | None:
    """The events one message carries: a single event (Rasa's own broker) or the JSON array of a saved
    turn's events (bot.production.masking_broker); None for a body that is neither (logged, not retried)."""
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if isinstance(payload, dict):
        return [payload]
    if isinstance(payload, list) and payload and all(isinstance(event, dict) for event in payload):
        return payload
    return None


RowWriter = Callable[[list[dict]], int]


class StoreWriter:
    """Writes analytics rows through the store helper's AnalyticsEvent model (bot.store.models).

    Only the columns the model declares are filled (see COLUMN_ALIASES), so the consumer and the model
    can evolve separately; a missing model is reported at start, not on the first event.
    """

    def __init__(self, url: str | None = None) -> None:
        self.url = url or db.database_url()
        self.table = AnalyticsEvent.__table__
        self.engine = db.engine_for(self.url)
        names = set(self.table.columns.keys())
        self.mapping: dict[str, str] = {}
        for ours, others in COLUMN_ALIASES.items():
            for candidate in (ours, *others):
                if candidate in names:
                    self.mapping[ours] = candidate
                    break
        self.has_payload = PAYLOAD_COLUMN in names and PAYLOAD_COLUMN not in self.mapping.values()
        missing = {"sender_id", "event_type", "timestamp"} - set(self.mapping)
        if missing:
            raise RuntimeError(f"AnalyticsEvent lacks columns for {sorted(missing)}")
        key_col = self.mapping.get("event_key")
        self.dedupe = bool(
            key_col
            and (
                self.table.columns[key_col].unique
                or any(
                    getattr(c, "columns", None) is not None and list(c.columns.keys()) == [key_col]
                    for c in self.table.constraints
                )
            )
        )

    def to_values(self, row: dict) -> dict:
        """One analytics row -> column values of the model (unmapped values into `payload`)."""
        values = {self.mapping[k]: v for k, v in row.items() if k in self.mapping}
        if self.has_payload:
            extra = {k: v for k, v in row.items() if k not in self.mapping and v is not None}
            values[PAYLOAD_COLUMN] = extra or None
        return values

    def __call__(self, rows: list[dict]) -> int:
        if not rows:
            return 0
        values = [self.to_values(row) for row in rows]
        statement = self._insert()
        with self.engine.begin() as conn:
            result = conn.execute(statement, values)
        return result.rowcount if result.rowcount is not None and result.rowcount >= 0 else len(values)

    def _insert(self):
        if not self.dedupe:
            return insert(self.table)
        if self.engine.dialect.name == "postgresql":
            return pg_insert(self.table).on_conflict_do_nothing(index_elements=[self.mapping["event_key"]])
        if self.engine.dialect.name == "sqlite":
            return sqlite_insert(self.table).on_conflict_do_nothing(index_elements=[self.mapping["event_key"]])
        return insert(self.table)


@dataclass
class Stats:
    received: int = 0
    written: int = 0
    skipped: int = 0
    retried_batches: int = 0


class AnalyticsConsumer:
    """Reads the events queue in batches; acknowledges a batch only after it is written."""

    def __init__(
        self,
        amqp_url: str,
        queue: str,
        exchange: str,
        writer: RowWriter,
        batch_size: int = 200,
        flush_seconds: float = 1.0,
        retry_seconds: float = 2.0,
        heartbeat: Path | None = None,
    ) -> None:
        self.amqp_url = amqp_url
        self.queue_name = queue
        self.exchange_name = exchange
        self.writer = writer
        self.batch_size = batch_size
        self.flush_seconds = flush_seconds
        self.retry_seconds = retry_seconds
        self.heartbeat = heartbeat  # touched every loop: the container health check reads its age
        self.stats = Stats()
        self._inbox: asyncio.Queue = asyncio.Queue()
        self.ready = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> Stats:
        connection = await aio_pika.connect_robust(self.amqp_url)
        try:
            channel = await connection.channel()
            await channel.set_qos(prefetch_count=self.batch_size * 2)
            # Same declaration as Rasa's broker (fanout, not durable) so either may come first; the
            # queue is durable so events wait here while this consumer is down.
            exchange = await channel.declare_exchange(self.exchange_name, aio_pika.ExchangeType.FANOUT)
            queue = await channel.declare_queue(self.queue_name, durable=True)
            await queue.bind(exchange, "")
            tag = await queue.consume(self._inbox.put)
            self.ready.set()
            logger.info("analytics consumer reading queue %s", self.queue_name)
            while not stop.is_set():
                if self.heartbeat is not None:
                    self.heartbeat.touch()
                batch = await self._next_batch(stop)
                if batch:
                    await self._handle(batch)
            await queue.cancel(tag)
            # Messages fetched but not handled go back to the queue when the channel closes.
        finally:
            await connection.close()
        return self.stats

    async def _next_batch(self, stop: asyncio.Event) -> list:
        """Up to batch_size messages, waiting at most flush_seconds for the first ones. Messages already
        delivered are taken without a timer each (`asyncio.wait_for` starts a task per call)."""
        batch = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.flush_seconds
        while len(batch) < self.batch_size and not stop.is_set():
            if not self._inbox.empty():
                batch.append(self._inbox.get_nowait())
                continue
            timeout = deadline - loop.time()
            if timeout <= 0:
                break
            try:
                batch.append(await asyncio.wait_for(self._inbox.get(), timeout))
            except asyncio.TimeoutError:  # not the builtin before Python 3.11
                break
        return batch

    async def _handle(self, messages: list) -> None:
        rows: list[dict] = []
        skipped = 0
        for message in messages:
            message_rows, message_skipped = rows_from_body(message.body)
            rows.extend(message_rows)
            skipped += message_skipped
        try:
            written = await asyncio.to_thread(self._write, rows)
        except Exception:  # database down or refusing: hand everything back, try again later
            logger.exception("analytics batch of %d rows not written; requeued", len(rows))
            self.stats.retried_batches += 1
            await messages[-1].nack(multiple=True, requeue=True)
            await asyncio.sleep(self.retry_seconds)
            return
        self.stats.received += len(rows) + skipped
        self.stats.skipped += skipped
        self.stats.written += written
        await messages[-1].ack(multiple=True)
        counted = metrics().analytics_events
        counted.labels(outcome="written").inc(written)
        counted.labels(outcome="skipped").inc(len(rows) + skipped - written)

    def _write(self, rows: list[dict]) -> int:
        """Write the batch; when the database refuses its content (not its connection), write the rows one
        by one and drop only the ones it refuses, so one poisonous event cannot block the queue forever."""
        try:
            return self.writer(rows)
        except Exception as error:  # sorted into transient (raise) and content (below)
            if is_transient(error):
                raise
            logger.warning("analytics batch refused by the database (%s); writing row by row", type(error).__name__)
        written = 0
        for row in rows:
            try:
                written += self.writer([row])
            except Exception as error:
                if is_transient(error):
                    raise
                logger.error("analytics event refused by the database and dropped (%s)", type(error).__name__)
                self.stats.skipped += 1
        return written


def is_transient(error: BaseException) -> bool:
    """A failure of the connection (retry the batch later) rather than of the rows' content."""
    if isinstance(error, (OSError, exc.OperationalError, exc.InterfaceError, exc.DisconnectionError, exc.TimeoutError)):
        return True
    return isinstance(error, exc.DBAPIError) and bool(error.connection_invalidated)


def rows_from_body(body: bytes) -> tuple[list[dict], int]:
    """The analytics rows of one message and how many of its events were skipped. Anything malformed (a
    body that is not JSON events, an event whose fields have unexpected types or impossible values) is
    skipped, and acknowledged with its batch, instead of stopping the consumer."""
    events = events_in(body)
    if events is None:
        return [], 1
    rows: list[dict] = []
    for event in events:
        try:
            row = event_to_row(event)
        except (AttributeError, TypeError, ValueError, OverflowError, OSError) as error:
            logger.warning("malformed analytics event skipped: %s", type(error).__name__)
            row = None
        if row is not None:
            rows.append(row)
    return rows, len(events) - len(rows)


def build_from_env() -> AnalyticsConsumer:
    config = ProductionConfig.from_env()
    return AnalyticsConsumer(
        config.rabbitmq_url,
        config.events_queue,
        config.events_exchange,
        StoreWriter(config.app_db_url),
        heartbeat=env_settings().consumer_heartbeat_file,
    )


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="RabbitMQ 事件 -> 统计表 (qhd_analytics_events)")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(list(argv) if argv is not None else None)
    setup_logging(args.log_level)
    serve_from_env()
    consumer = build_from_env()

    async def _run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        stats = await consumer.run(stop)
        logger.info("analytics consumer stopped: %s", stats)

    asyncio.run(_run())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
