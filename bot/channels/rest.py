"""Rasa's REST channel (same URL, /webhooks/rest/webhook) that never answers with silence (see guard)
and answers a message with a card as one entry whose `text` is the full answer (see cards)."""
from __future__ import annotations

from typing import Any, Awaitable, Callable

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint

from bot.channels.cards import CardCollectingChannel
from bot.channels.guard import never_silent


def _one_entry_per_card(on_new_message: Callable[[UserMessage], Awaitable[Any]]
                        ) -> Callable[[UserMessage], Awaitable[Any]]:
    async def handle(message: UserMessage) -> Any:
        message.output_channel = CardCollectingChannel(message.output_channel)
        return await on_new_message(message)

    return handle


class GuardedRestInput(RestInput):
    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        return super().blueprint(_one_entry_per_card(never_silent(on_new_message)))
