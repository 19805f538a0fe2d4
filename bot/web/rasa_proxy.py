"""The residents' only way to Rasa: the web app forwards socket.io and the REST webhook, nothing else.

Rasa listens on loopback (RASA_HOST, 127.0.0.1): its HTTP API reads every conversation and loads models,
so it must never share an address with the widget. The widget connects to the web app's own origin; this
module forwards

- `/socket.io/` — Engine.IO long-polling (GET/POST) and websocket — to Rasa's socket.io channel
  (bot.channels.socketio checks the widget token there), and
- `POST /webhooks/rest/webhook` — integrators; Rasa's channel checks their Bearer token (bot.channels.rest),

with bodies (bot.web.body_limit) and websocket messages capped at MAX_BODY_BYTES. The web app's own
cookies are never sent to Rasa, and no other Rasa path is reachable through the web app. aiohttp (already a Rasa dependency)
is the client for both HTTP and websocket.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import aiohttp
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from bot.limits import MAX_BODY_BYTES

logger = logging.getLogger(__name__)
SOCKETIO_PATH = "/socket.io/"
REST_WEBHOOK_PATH = "/webhooks/rest/webhook"
# Engine.IO holds a long-polling GET for up to its ping interval + timeout (25 s + 20 s by default).
UPSTREAM_TIMEOUT_S = 90
FORWARDED_REQUEST_HEADERS = ("content-type", "accept", "authorization", "user-agent")
FORWARDED_RESPONSE_HEADERS = ("content-type", "content-encoding", "cache-control")
UNAVAILABLE_ZH = "智能助手暂时连不上，请稍后再试。"


class RasaProxy:
    """Forwards the two public Rasa doors to `upstream` (http://127.0.0.1:5005)."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=UPSTREAM_TIMEOUT_S), auto_decompress=False
            )
        return self._session

    def _url(self, path: str, query: bytes, scheme: str = "http") -> str:
        base = self.upstream if scheme == "http" else "ws" + self.upstream.removeprefix("http")
        return f"{base}{path}" + (f"?{query.decode('latin-1')}" if query else "")

    async def http(self, request: Request) -> Response:
        try:
            body = await request.body()  # at most MAX_BODY_BYTES (bot.web.body_limit)
        except ClientDisconnect:
            return Response(status_code=400)
        headers = {k: v for k, v in request.headers.items() if k.lower() in FORWARDED_REQUEST_HEADERS}
        if request.client:
            headers["X-Forwarded-For"] = request.client.host
        try:
            async with self.session.request(
                request.method,
                self._url(request.url.path, request.scope["query_string"]),
                data=body,
                headers=headers,
                allow_redirects=False,
            ) as upstream:
                content = await upstream.read()
                kept = {k: v for k, v in upstream.headers.items() if k.lower() in FORWARDED_RESPONSE_HEADERS}
                return Response(content, status_code=upstream.status, headers=kept)
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            logger.warning("Rasa unreachable for %s %s: %s", request.method, request.url.path, error)
            return JSONResponse({"error": {"code": "rasa_unavailable", "message_zh": UNAVAILABLE_ZH}}, 502)

    async def websocket(self, client: WebSocket) -> None:
        url = self._url(client.url.path, client.scope["query_string"], scheme="ws")
        try:
            upstream = await self.session.ws_connect(url, max_msg_size=MAX_BODY_BYTES, autoping=True)
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            logger.warning("Rasa websocket unreachable: %s", error)
            await client.close(code=1011)
            return
        await client.accept()
        to_rasa = asyncio.ensure_future(_client_to_upstream(client, upstream))
        to_client = asyncio.ensure_future(_upstream_to_client(upstream, client))
        _, pending = await asyncio.wait({to_rasa, to_client}, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        await upstream.close()
        try:
            await client.close()
        except (RuntimeError, WebSocketDisconnect):
            pass  # the browser has already gone

    def routes(self) -> list:
        return [
            Route(SOCKETIO_PATH, _declared_public(self.http), methods=["GET", "POST"]),
            WebSocketRoute(SOCKETIO_PATH, self.websocket),
            Route(REST_WEBHOOK_PATH, _declared_public(self.http), methods=["POST"]),
        ]


def _declared_public(endpoint: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """Mark a forwarded door as public (bot.web.security's declaration) without its CSRF check.

    CSRF protects cookie-authorised requests; these carry no authority of the web app: no cookie is
    forwarded, and Rasa authorises them itself (the widget's token, the integrator's Bearer token).
    """

    async def forwarded(request: Request) -> Response:
        return await endpoint(request)

    forwarded.required_roles = ()  # type: ignore[attr-defined]  # the declaration bot.web.security reads
    forwarded.is_api = True  # type: ignore[attr-defined]  # (attributes on the function, as its decorators set)
    return forwarded


async def _client_to_upstream(client: WebSocket, upstream: aiohttp.ClientWebSocketResponse) -> None:
    try:
        while True:
            message = await client.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("text") is not None:
                await upstream.send_str(message["text"])
            elif message.get("bytes") is not None:
                await upstream.send_bytes(message["bytes"])
    except (WebSocketDisconnect, ConnectionError, RuntimeError):
        return


async def _upstream_to_client(upstream: aiohttp.ClientWebSocketResponse, client: WebSocket) -> None:
    try:
        async for message in upstream:
            if message.type == aiohttp.WSMsgType.TEXT:
                await client.send_text(message.data)
            elif message.type == aiohttp.WSMsgType.BINARY:
                await client.send_bytes(message.data)
            else:
                return
    except (WebSocketDisconnect, ConnectionError, RuntimeError):
        return
