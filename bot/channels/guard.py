"""Never leave a resident without an answer.

When a custom action fails (the action server is restarting, a database is down), Rasa logs the error,
drops that action's events and sends nothing: the resident sees silence and may think the request was
saved. Channels wrap `on_new_message` with `never_silent`, which counts what the bot sent for the
message and, if it sent nothing while the conversation is not paused (a paused conversation is silent
on purpose, waiting for an operator), tells the resident that nothing was lost and what to do.

The same holds when handling the message raises: the lock store (Redis), the tracker store (the
database) or the event broker (RabbitMQ) can fail before or after the bot answered. Rasa's channels
then log the error and answer with nothing; the guard catches it, logs it once, and still says the
notice (unless the answer was already sent, in which case the resident heard the bot).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import OutputChannel, UserMessage
from sanic import Sanic

from bot import metrics
from bot.learning.capture import schedule_capture

log = logging.getLogger(__name__)

NOTICE_ZH = (
    "抱歉，系统刚才没有处理完您的消息，您说过的内容都还在。请稍等一会儿再发一次（比如「重新提交」），或者说「转人工」。"
)


class CountingOutputChannel(OutputChannel):
    """Passes every message through to the real channel and counts them."""

    def __init__(self, inner: OutputChannel) -> None:
        self.inner = inner
        self.sent = 0

    @classmethod
    def name(cls) -> str:  # pragma: no cover - the instance's name is the inner channel's
        return "counting"

    def __getattr__(self, item: str) -> Any:
        return getattr(self.inner, item)

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        self.sent += 1
        await self.inner.send_response(recipient_id, message)


async def _paused(sender_id: str) -> bool:
    try:
        agent = Sanic.get_app().ctx.agent
        tracker = await agent.tracker_store.retrieve(sender_id)
        return bool(tracker and tracker.is_paused())
    except Exception:  # if we cannot tell, speaking up is the safer mistake
        log.exception("could not read the tracker of %s", sender_id)
        return False


async def _tell(channel: OutputChannel, sender_id: str) -> None:
    try:
        await channel.send_text_message(sender_id, NOTICE_ZH)
    except Exception:  # the channel itself is gone; nothing more we can do here
        log.exception("could not send the notice to %s", sender_id)


def never_silent(on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Callable[[UserMessage], Awaitable[Any]]:
    # lazy: rasa_speedups imports rasa.core.actions, i.e. TensorFlow (+3,400 modules, 4-7 s here). Rasa has
    # loaded it before it asks for a blueprint; whoever imports this module for its names does not need it.
    from bot import rasa_speedups  # noqa: PLC0415 - lazy import, reason above

    metrics.observe_process()  # Rasa loads the channels once at start: logs set-up, metrics port,
    rasa_speedups.install()  # and the action-call speed-up

    async def handle(message: UserMessage) -> Any:
        counting = CountingOutputChannel(message.output_channel)
        message.output_channel = counting
        result = None
        try:
            with metrics.turn(message.input_channel or "unknown"):
                result = await on_new_message(message)
        except asyncio.CancelledError:
            raise
        except Exception:  # lock store, tracker store or broker down: still answer
            log.exception("handling a message of %s failed", message.sender_id)
            if counting.sent == 0:
                await _tell(counting.inner, message.sender_id)
            return result
        if counting.sent == 0 and not await _paused(message.sender_id):
            log.warning("no reply for a message of %s: telling the resident", message.sender_id)
            await _tell(counting.inner, message.sender_id)
        schedule_capture(message.sender_id)  # issue 14: review what may have been misunderstood, off the hot path
        return result

    return handle
