"""Rasa's RabbitMQ event broker, publishing masked events only (bot.privacy_events.for_broker), one
message per saved turn.

Why masked: every queue bound to the exchange receives every event; names and phone numbers must not
travel there. The analytics consumer needs intents and actions, which stay.

Why one message per turn: Rasa publishes every event of a turn (8-15) as its own AMQP message. Each
costs the Rasa process an asyncio task and a frame round through aiormq, and the consumer a delivery,
an acknowledgement window slot and a decode: together ~6 ms of CPU per turn on the 2-core machine
(bench/turn_cpu.py), about a sixth of what Rasa itself spends on the turn. The tracker stores of
bot.tracker_window hand a saved turn's events over at once (`publish_many`): the message body is then a
JSON array of the same event objects Rasa would have published one by one (each with its `sender_id`).
The analytics consumer reads both shapes. Anything else that calls `publish` still sends one event.

    event_broker:
      type: bot.production.masking_broker.MaskingPikaEventBroker
"""

from __future__ import annotations

from typing import Any

from rasa.core.brokers.pika import PikaEventBroker

from bot.privacy_events import for_broker

Published = dict[str, Any] | list[dict[str, Any]]


class MaskingPikaEventBroker(PikaEventBroker):
    def publish(self, event: Published, headers: dict[str, str] | None = None) -> None:
        """One message: an event, or a list of events (a replayed batch from Rasa's unpublished buffer)."""
        masked = [for_broker(e) for e in event] if isinstance(event, list) else for_broker(event)
        super().publish(masked, headers=headers)  # type: ignore[arg-type]  # Rasa's JSON body takes a list too

    def publish_many(self, events: list[dict[str, Any]]) -> None:
        """The events of one saved turn, in their order, as one message."""
        if events:
            self.publish(list(events))
