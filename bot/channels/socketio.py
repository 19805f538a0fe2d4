"""Socket.IO input channel whose conversation id is minted by the web app, never by the browser.

Rasa's stock socketio channel with `session_persistence: true` trusts whatever `session_id` the client
sends, so anyone who learns (or guesses) an id can read and write that conversation. Here the web app
mints the id, keeps it in its signed session cookie and hands the widget a short-lived JWT
(HS256 with JWT_SECRET, `sub` = the id). This channel:

- refuses a connection without a valid token;
- binds the socket to the token's `sub` and joins that room (all tabs of one browser share it);
- ignores any `session_id` the client sends: `session_request` confirms the bound id, and every
  `user_uttered` is processed with the bound id as sender;
- adds `POST /webhooks/qhd_socketio/operator_message` (Bearer RASA_TOKEN; body {sender, text, operator, mode?}) so the web app's operator
  console can speak into a conversation: the text is emitted to the room and appended to the tracker
  as a BotUttered event with metadata {"operator": username}, so transcripts keep it.

Referenced from credentials.yml as `bot.channels.socketio.BoundSocketIOInput`.
"""

from __future__ import annotations

import hmac
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOOutput
from rasa.shared.core.events import BotUttered
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncRedisManager, AsyncServer
from socketio.exceptions import ConnectionRefusedError as SocketRefused

from bot import rasa_workers
from bot.channels.cards import card_message
from bot.channels.guard import never_silent
from bot.channels.startup import prepare_rasa_process
from bot.limits import MAX_BODY_BYTES, MAX_MESSAGE_CHARS, TOO_LONG_ZH
from bot.settings import env_settings, settings
from bot.widget_token import verify_widget_token

logger = logging.getLogger(__name__)

CHANNEL_NAME = "qhd_socketio"


async def _maybe_await(value: Any) -> Any:
    """python-socketio changed some room helpers from sync to async across 5.x releases."""
    return await value if inspect.isawaitable(value) else value


class CardSocketIOOutput(SocketIOOutput):
    """Rasa's socket.io output, except that a message with a card reaches the widget as ONE message
    `{text, card, quick_replies?}` instead of text fragments followed by a separate custom message."""

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        merged = card_message(message)
        if merged is None:
            await super().send_response(recipient_id, message)
            return
        payload: dict[str, Any] = {"text": merged["text"], "card": merged["card"]}
        if merged["buttons"]:
            payload["quick_replies"] = [
                {"content_type": "text", "title": b.get("title"), "payload": b.get("payload")}
                for b in merged["buttons"]
            ]
        await self._send_message(recipient_id, payload)

    async def send_custom_json(self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any) -> None:
        # Rasa's version passes the JSON as keyword arguments to `emit`, which fails unless it happens to
        # hold `data`; a message that is not a card is sent as `{"custom": ...}` (the widget ignores it).
        await self._send_message(recipient_id, {"custom": json_message})


class BoundSocketIOInput(InputChannel):
    """socket.io channel bound to server-minted session ids (see module docstring)."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        """How Rasa builds the channel from credentials.yml: the Rasa process's start-up runs first."""
        prepare_rasa_process()
        credentials = credentials or {}
        origins = credentials.get("cors_allowed_origins")
        return cls(
            user_message_evt=credentials.get("user_message_evt", "user_uttered"),
            bot_message_evt=credentials.get("bot_message_evt", "bot_uttered"),
            socketio_path=credentials.get("socketio_path", "/socket.io"),
            cors_allowed_origins=origins if origins else None,
        )

    def __init__(
        self,
        user_message_evt: str = "user_uttered",
        bot_message_evt: str = "bot_uttered",
        socketio_path: str = "/socket.io",
        cors_allowed_origins: list | None = None,
        jwt_secret: str | None = None,
        operator_token: str | None = None,
    ) -> None:
        self.user_message_evt = user_message_evt
        self.bot_message_evt = bot_message_evt
        self.socketio_path = socketio_path
        # None: accept any origin (the token is what authorises); a list restricts browsers further.
        self.cors_allowed_origins = cors_allowed_origins
        self._jwt_secret = jwt_secret
        self._operator_token = operator_token
        self.sio: AsyncServer | None = None

    @property
    def jwt_secret(self) -> str:
        return self._jwt_secret if self._jwt_secret is not None else settings().jwt_secret

    @property
    def operator_token(self) -> str:
        return self._operator_token if self._operator_token is not None else settings().rasa_token

    def get_output_channel(self) -> SocketIOOutput | None:
        return CardSocketIOOutput(self.sio, self.bot_message_evt) if self.sio else None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        on_new_message = never_silent(on_new_message)
        # Several Rasa instances (production profile): rooms live in Redis, so an emit on one instance
        # reaches a widget connected to another. One instance: rooms in memory.
        redis_url = env_settings().socketio_redis_url
        sio = AsyncServer(
            async_mode="sanic",
            # Several workers behind one port (bot.rasa_workers): a long-polling session is kept by the one
            # process that opened it, and each poll may reach another worker, so only websocket (one
            # connection, one worker) works; a polling client is refused at once, not failed at random.
            transports=["websocket"] if rasa_workers.sanic_workers() > 1 else ["polling", "websocket"],
            cors_allowed_origins=self.cors_allowed_origins if self.cors_allowed_origins else [],
            client_manager=AsyncRedisManager(redis_url) if redis_url else None,
            max_http_buffer_size=MAX_BODY_BYTES,  # a packet larger than this closes the connection
        )
        self.sio = sio
        bp = SocketBlueprint(sio, self.socketio_path, "qhd_socketio_webhook", __name__)
        bp.listener("after_server_start")(rasa_workers.serving)  # this worker has its model: count it

        async def bound_id(sid: str) -> str | None:
            session = await sio.get_session(sid)
            return session.get("sender_id") if session else None

        @bp.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @sio.on("connect")
        async def connect(sid: str, environ: dict, auth: dict | None = None) -> bool:
            token = auth.get("token") if isinstance(auth, dict) else None
            sender_id = verify_widget_token(token, self.jwt_secret)
            if sender_id is None:
                logger.info("socket.io connection %s refused: missing or invalid widget token", sid)
                raise SocketRefused("invalid_token")
            # The client's address (set by our proxy in front, else the peer) limits status look-ups per address.
            address = environ.get("HTTP_X_REAL_IP") or environ.get("REMOTE_ADDR")
            await sio.save_session(sid, {"sender_id": sender_id, "address": address})
            await _maybe_await(sio.enter_room(sid, sender_id))
            return True

        @sio.on("session_request")
        async def session_request(sid: str, data: Any = None) -> None:
            # Whatever the client asks for, it gets the conversation its token is bound to.
            sender_id = await bound_id(sid)
            if sender_id:
                await sio.emit("session_confirm", sender_id, room=sid)

        @sio.on(self.user_message_evt)
        async def handle_message(sid: str, data: Any = None) -> None:
            sender_id = await bound_id(sid)
            if not sender_id or not isinstance(data, dict):
                return
            text = data.get("message")
            if not isinstance(text, str) or not text.strip():
                return
            output = CardSocketIOOutput(sio, self.bot_message_evt)
            if len(text) > MAX_MESSAGE_CHARS:
                await output.send_text_message(sender_id, TOO_LONG_ZH)
                return
            message = UserMessage(
                text.strip(),
                output,
                sender_id,
                input_channel=self.name(),
                metadata={"channel": "web_widget", "client_address": (await sio.get_session(sid)).get("address")},
            )
            await on_new_message(message)

        @bp.route("/operator_message", methods=["POST"])
        async def operator_message(request: Request) -> HTTPResponse:
            auth = request.headers.get("Authorization", "")
            expected = f"Bearer {self.operator_token}"
            if not self.operator_token or not hmac.compare_digest(auth.encode(), expected.encode()):
                return response.json({"error": "unauthorized"}, status=401)
            body = request.json if isinstance(request.json, dict) else {}
            sender = body.get("sender")
            text = body.get("text")
            operator = body.get("operator")
            if not all(isinstance(v, str) and v.strip() for v in (sender, text, operator)):
                return response.json({"error": "sender, text and operator are required"}, status=400)
            text = text.strip()
            if len(text) > MAX_MESSAGE_CHARS * 2:
                return response.json({"error": "text too long"}, status=400)
            agent = request.app.ctx.agent
            if agent is None or agent.processor is None:
                return response.json({"error": "no model loaded"}, status=503)
            if not await agent.tracker_store.exists(sender):
                return response.json({"error": "unknown conversation"}, status=404)
            async with agent.lock_store.lock(sender):
                tracker = await agent.processor.get_tracker(sender)
                tracker.update(BotUttered(text, data={}, metadata={"operator": operator}))
                await agent.processor.save_tracker(tracker)
            payload: dict[str, Any] = {"text": text, "operator": True}
            if body.get("mode") in ("operator", "bot"):
                payload["mode"] = body["mode"]  # tells the widget who answers from now on
            await sio.emit(self.bot_message_evt, payload, room=sender)
            return response.json({"status": "sent"})

        return bp
