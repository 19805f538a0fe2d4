"""Never leave a resident without an answer.

When a custom action fails (the action server is restarting, a database is down), Rasa logs the error,
drops that action's events and sends nothing: the resident sees silence and may think the request was
saved. Channels wrap `on_new_message` with `never_silent`, which counts what the bot sent for the
message and, if it sent nothing while the conversation is not paused (a paused conversation is silent
on purpose, waiting for an operator), tells the resident that nothing was lost and what to do.
"""
from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable, Dict, Text

from rasa.core.channels.channel import OutputChannel, UserMessage

from bot.learning.capture import schedule_capture

log = logging.getLogger(__name__)

NOTICE_ZH = "抱歉，系统刚才没有处理完您的消息，您说过的内容都还在。请稍等一会儿再发一次（比如「重新提交」），或者说「转人工」。"


class CountingOutputChannel(OutputChannel):
    """Passes every message through to the real channel and counts them."""

    def __init__(self, inner: OutputChannel) -> None:
        self.inner = inner
        self.sent = 0

    @classmethod
    def name(cls) -> Text:  # pragma: no cover - the instance's name is the inner channel's
        return "counting"

    def __getattr__(self, item: str) -> Any:
        return getattr(self.inner, item)

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        self.sent += 1
        await self.inner.send_response(recipient_id, message)


async def _paused(sender_id: Text) -> bool:
    try:
        from sanic import Sanic

        agent = Sanic.get_app().ctx.agent
        tracker = await agent.tracker_store.retrieve(sender_id)
        return bool(tracker and tracker.is_paused())
    except Exception:  # noqa: BLE001 - if we cannot tell, speaking up is the safer mistake
        log.exception("could not read the tracker of %s", sender_id)
        return False


def never_silent(on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Callable[[UserMessage], Awaitable[Any]]:
    async def handle(message: UserMessage) -> Any:
        counting = CountingOutputChannel(message.output_channel)
        message.output_channel = counting
        result = await on_new_message(message)
        if counting.sent == 0 and not await _paused(message.sender_id):
            log.warning("no reply for a message of %s: telling the resident", message.sender_id)
            await counting.inner.send_text_message(message.sender_id, NOTICE_ZH)
        schedule_capture(message.sender_id)  # issue 14: review what may have been misunderstood, off the hot path
        return result

    return handle
