"""Rasa's RabbitMQ event broker, publishing masked events only (bot.privacy_events.for_broker).

Why: every queue bound to the exchange receives every event; names and phone numbers must not travel
there. The analytics consumer needs intents and actions, which stay.

    event_broker:
      type: bot.production.masking_broker.MaskingPikaEventBroker
"""

from __future__ import annotations

from typing import Any

from rasa.core.brokers.pika import PikaEventBroker

from bot.privacy_events import for_broker


class MaskingPikaEventBroker(PikaEventBroker):
    def publish(self, event: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        super().publish(for_broker(event), headers=headers)
