"""A minimal Socket.IO v5 / Engine.IO v4 client for tests, over websocket or HTTP long-polling.

Why not python-socketio's client: its asyncio client needs an aiohttp newer than the one Rasa pins,
and its sync websocket client needs another package. This speaks just enough of the protocol to do what
the web widget does (connect with an auth token, emit `user_uttered`, read `bot_uttered`), which is what
the balancer must carry: websocket upgrades, and long-polling requests kept on one instance.

Packets: "0{open}" server hello, "2"/"3" ping/pong, "40{auth}" connect to namespace "/", "40{sid}"
accepted, "44{error}" refused, '42["event", data]' an event. Polling batches packets with "\\x1e".
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import requests
import websockets

RECORD_SEPARATOR = "\x1e"


class Refused(RuntimeError):
    """The server refused the Socket.IO connection (e.g. a bad token)."""


def _event(packet: str) -> tuple[str, Any] | None:
    if not packet.startswith("42"):
        return None
    name, *args = json.loads(packet[2:])
    return name, (args[0] if args else None)


class WebSocketClient:
    """Socket.IO over one websocket (transport=websocket: any instance behind the balancer)."""

    def __init__(self, base_url: str, token: str) -> None:
        self.url = base_url.replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket"
        self.token = token
        self.ws: Any = None

    async def __aenter__(self) -> WebSocketClient:
        self.ws = await websockets.connect(self.url, open_timeout=20)
        hello = await asyncio.wait_for(self.ws.recv(), 20)
        assert hello.startswith("0"), hello
        await self.ws.send("40" + json.dumps({"token": self.token}))
        while True:
            packet = await self._recv(20)
            if packet.startswith("40"):
                return self
            if packet.startswith("44"):
                raise Refused(packet[2:])

    async def __aexit__(self, *exc: object) -> None:
        await self.ws.close()

    async def _recv(self, timeout: float) -> str:
        while True:
            packet = await asyncio.wait_for(self.ws.recv(), timeout)
            if packet == "2":
                await self.ws.send("3")
                continue
            return packet

    async def emit(self, name: str, data: Any) -> None:
        await self.ws.send("42" + json.dumps([name, data], ensure_ascii=False))

    async def events(self, name: str, timeout: float, settle: float = 0.5) -> list[Any]:
        """Every `name` event until `settle` s pass without one (after the first) or `timeout` ends."""
        found: list[Any] = []
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            wait = min(settle, remaining) if found else remaining
            if wait <= 0:
                return found
            try:
                event = _event(await self._recv(wait))
            except asyncio.TimeoutError:  # not the builtin before Python 3.11
                return found
            if event and event[0] == name:
                found.append(event[1])


def polling_turn(base_url: str, token: str, text: str, timeout: float = 60) -> list[Any]:
    """One widget turn over HTTP long-polling (transport=polling: must stay on one instance)."""
    session = requests.Session()
    url = f"{base_url}/socket.io/"

    def get(sid: str | None = None) -> list[str]:
        params = {"EIO": "4", "transport": "polling", **({"sid": sid} if sid else {})}
        response = session.get(url, params=params, timeout=timeout)
        response.raise_for_status()
        return response.text.split(RECORD_SEPARATOR)

    def post(sid: str, packet: str) -> None:
        session.post(
            url, params={"EIO": "4", "transport": "polling", "sid": sid}, data=packet.encode("utf-8"), timeout=timeout
        ).raise_for_status()

    hello = get()[0]
    sid = json.loads(hello[1:])["sid"]
    post(sid, "40" + json.dumps({"token": token}))
    replies: list[Any] = []
    connected = False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for packet in get(sid):
            if packet == "2":
                post(sid, "3")
            elif packet.startswith("44"):
                raise Refused(packet[2:])
            elif packet.startswith("40") and not connected:
                connected = True
                post(sid, "42" + json.dumps(["user_uttered", {"message": text}], ensure_ascii=False))
            elif (event := _event(packet)) and event[0] == "bot_uttered":
                replies.append(event[1])
        if replies:
            return replies
    return replies
