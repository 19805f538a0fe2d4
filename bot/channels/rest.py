"""Rasa's REST channel (same URL, /webhooks/rest/webhook) for integrators, closed to strangers.

Rasa's stock RestInput trusts any caller and any `sender`: a stranger could continue a widget
conversation by its id and read its read-back, and a message without `sender` joined one shared
conversation "default". This channel (see ../shared/contracts/conversation.md):

- answers 401 without `Authorization: Bearer <REST_TOKEN>`, before any conversation is touched;
- refuses a missing or empty `sender` (400) and any id of the widget's shape (403: the widget's ids are
  minted by the web app, bot.conversation_ids), so a REST caller can only reach its own conversations;
- answers a message longer than MAX_MESSAGE_CHARS with a Chinese request to split it, unprocessed;
- never answers with silence (bot.channels.guard);
- answers a message with a card as one entry whose `text` is the full answer (bot.channels.cards).

The reply is Rasa's: a JSON list of bot messages. Client-chosen `input_channel` and `metadata` are not
taken over into the tracker (the channel is "rest").
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import rasa_workers
from bot.channels.api_auth import bearer_token, token_matches
from bot.channels.cards import CardCollectingChannel
from bot.channels.guard import never_silent
from bot.channels.startup import prepare_rasa_process
from bot.conversation_ids import MAX_SENDER_CHARS, is_widget_id
from bot.limits import MAX_MESSAGE_CHARS, TOO_LONG_ZH
from bot.settings import settings

logger = logging.getLogger(__name__)
UNAUTHORIZED_ZH = "缺少或错误的接口令牌：请在请求头中带上 Authorization: Bearer <REST_TOKEN>。"
NO_SENDER_ZH = f"请求缺少 sender（会话编号，1 到 {MAX_SENDER_CHARS} 个字符）。"
NO_MESSAGE_ZH = "请求缺少 message（消息文字）。"
WIDGET_SENDER_ZH = "这个会话编号属于网页聊天窗口，REST 接口不能使用。请换一个您自己的编号。"


def _refusal(status: int, code: str, message_zh: str) -> HTTPResponse:
    return response.json({"error": {"code": code, "message_zh": message_zh}}, status=status)


def check_request(body: Any, authorization_token: str, rest_token: str) -> tuple[HTTPResponse | None, str, str]:
    """(refusal or None, sender, text): every check that must pass before a conversation is touched."""
    if not token_matches(authorization_token, rest_token):
        return _refusal(401, "unauthorized", UNAUTHORIZED_ZH), "", ""
    body = body if isinstance(body, dict) else {}
    sender, text = body.get("sender"), body.get("message")
    if not isinstance(sender, str) or not sender.strip() or len(sender) > MAX_SENDER_CHARS:
        return _refusal(400, "bad_sender", NO_SENDER_ZH), "", ""
    if is_widget_id(sender):
        return _refusal(403, "widget_sender", WIDGET_SENDER_ZH), "", ""
    if not isinstance(text, str) or not text.strip():
        return _refusal(400, "bad_message", NO_MESSAGE_ZH), "", ""
    return None, sender.strip(), text.strip()


def _one_entry_per_card(
    on_new_message: Callable[[UserMessage], Awaitable[Any]],
) -> Callable[[UserMessage], Awaitable[Any]]:
    async def handle(message: UserMessage) -> Any:
        message.output_channel = CardCollectingChannel(message.output_channel)
        return await on_new_message(message)

    return handle


class GuardedRestInput(RestInput):
    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> GuardedRestInput:
        """How Rasa builds the channel from credentials.yml: the Rasa process's start-up runs first."""
        prepare_rasa_process()
        return cls()

    def __init__(self, rest_token: str | None = None) -> None:
        self._rest_token = rest_token

    @property
    def rest_token(self) -> str:
        return self._rest_token if self._rest_token is not None else settings().rest_token

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        handle = _one_entry_per_card(never_silent(on_new_message))
        bp = Blueprint("custom_webhook_GuardedRestInput", __name__)
        bp.listener("after_server_start")(rasa_workers.serving)  # this worker has its model: count it

        @bp.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @bp.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                body = request.json
            except Exception:  # noqa: BLE001 - Sanic raises its own error for bad JSON
                body = None
            refusal, sender, text = check_request(body, bearer_token(request), self.rest_token)
            if refusal is not None:
                return refusal
            if len(text) > MAX_MESSAGE_CHARS:
                return response.json([{"recipient_id": sender, "text": TOO_LONG_ZH}])
            collector = CollectingOutputChannel()
            try:
                await handle(
                    UserMessage(text, collector, sender, input_channel=self.name(), metadata={"channel": "rest"})
                )
            except Exception:  # as Rasa's RestInput: log, answer what was collected
                logger.exception("REST message of %s failed", sender)
            return response.json(collector.messages)

        return bp
