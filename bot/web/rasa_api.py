"""The web app's only door into the Rasa server: its HTTP API (token auth) and our channel's operator route.

Blocking (requests); call it from a thread (`starlette.concurrency.run_in_threadpool`).
Transcripts are built here once and shown by the widget (history after reload), the operator console
and the staff desk, always with phone and ID numbers masked (bot.privacy.mask_text).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

import requests

from bot.privacy import mask_text
from bot.settings import Settings

CHANNEL_NAME = "qhd_socketio"  # bot.channels.socketio.CHANNEL_NAME, without importing Rasa here
TIMEOUT_SECONDS = 5.0


class RasaUnavailable(RuntimeError):
    """The Rasa server did not answer as expected; message_zh is safe to show to staff."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.message_zh = "智能助手服务暂时连不上，请稍后重试。"


def _mask(text: str) -> str:
    return mask_text(text)


class RasaClient:
    def __init__(self, cfg: Settings, session: requests.Session | None = None) -> None:
        self.base = cfg.rasa_url.rstrip("/")
        self.token = cfg.rasa_token
        self.http = session or requests.Session()

    def _call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        # The token travels only in the header (bot.channels.api_auth): a URL ends up in access logs.
        headers = {"Authorization": f"Bearer {self.token}"}
        try:
            resp = self.http.request(method, f"{self.base}{path}", headers=headers, timeout=TIMEOUT_SECONDS, **kwargs)
        except requests.RequestException as exc:
            raise RasaUnavailable(str(exc)) from exc
        if resp.status_code >= 500 or resp.status_code in (401, 403):
            raise RasaUnavailable(f"{method} {path}: HTTP {resp.status_code}")
        return resp

    @staticmethod
    def _conv(sender_id: str) -> str:
        return f"/conversations/{quote(sender_id, safe='')}"

    def tracker(self, sender_id: str) -> dict:
        resp = self._call("GET", self._conv(sender_id) + "/tracker")
        if resp.status_code != 200:
            raise RasaUnavailable(f"tracker: HTTP {resp.status_code}")
        return resp.json()

    def append_events(self, sender_id: str, events: list[dict]) -> dict:
        resp = self._call("POST", self._conv(sender_id) + "/tracker/events", json=events)
        if resp.status_code != 200:
            raise RasaUnavailable(f"append events: HTTP {resp.status_code}")
        return resp.json()

    def pause(self, sender_id: str) -> None:
        self.append_events(sender_id, [{"event": "pause"}])

    def resume(self, sender_id: str) -> None:
        self.append_events(sender_id, [{"event": "resume"}])

    def operator_message(self, sender_id: str, text: str, operator: str, mode: str | None = None) -> bool:
        """Speak into the resident's chat as `operator`; False when the conversation does not exist.
        `mode` ("operator" | "bot") tells the widget who answers from now on."""
        body = {"sender": sender_id, "text": text, "operator": operator}
        if mode:
            body["mode"] = mode
        resp = self._call("POST", f"/webhooks/{CHANNEL_NAME}/operator_message", json=body)
        if resp.status_code == 404:
            return False
        if resp.status_code != 200:
            raise RasaUnavailable(f"operator message: HTTP {resp.status_code}")
        return True


def _iso(ts: Any) -> str | None:
    try:
        return datetime.fromtimestamp(float(ts), tz=timezone.utc).isoformat()
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _card(data: Any) -> dict | None:
    """The answer card a bot message carried (see bot/channels/cards.py), every string masked, so a
    reloaded widget shows the same card; None when there is none."""
    custom = data.get("custom") if isinstance(data, dict) else None
    card = custom.get("card") if isinstance(custom, dict) else None
    if not isinstance(card, dict) or not isinstance(card.get("summary"), str):
        return None
    figures = [f for f in card.get("figures") or [] if isinstance(f, dict)]
    return {
        "summary": _mask(card["summary"]),
        "figures": [
            {"label": _mask(str(f.get("label", ""))), "value": _mask(str(f.get("value", "")))} for f in figures
        ],
        "next_step": _mask(str(card.get("next_step") or "")),
        "details": [_mask(str(d)) for d in card.get("details") or []],
    }


def _buttons(data: Any) -> list[dict]:
    if not isinstance(data, dict):
        return []
    raw = data.get("buttons") or data.get("quick_replies") or []
    out = []
    for b in raw if isinstance(raw, list) else []:
        if isinstance(b, dict) and b.get("title"):
            out.append({"title": str(b["title"]), "payload": str(b.get("payload") or b["title"])})
    return out


def transcript(tracker: dict, for_staff: bool = True) -> list[dict]:
    """Chat messages of a tracker in order: {role: user|bot|operator|system, text, time, buttons, card?}.

    Text is masked. `for_staff` adds system lines (takeover, hand back) and the operator's username;
    the resident's view only learns that a person ("人工客服") wrote.
    """
    messages: list[dict] = []
    for ev in tracker.get("events") or []:
        kind = ev.get("event")
        time_iso = _iso(ev.get("timestamp"))
        if kind == "user" and ev.get("text"):
            text = str(ev["text"])
            if text.startswith("/"):  # a button payload: show its title instead when we know it
                text = _payload_title(messages, text)
            messages.append({"role": "user", "text": _mask(text), "time": time_iso, "buttons": []})
        elif kind == "bot" and ev.get("text"):
            operator = (ev.get("metadata") or {}).get("operator")
            msg = {
                "role": "operator" if operator else "bot",
                "text": _mask(str(ev["text"])),
                "time": time_iso,
                "buttons": [] if operator else _buttons(ev.get("data")),
            }
            if operator and for_staff:
                msg["operator"] = str(operator)
            card = None if operator else _card(ev.get("data"))
            if card:
                msg["card"] = card
            messages.append(msg)
        elif for_staff and kind in ("pause", "resume"):
            text = "人工接管，智能助手暂停" if kind == "pause" else "交回智能助手"
            messages.append({"role": "system", "text": text, "time": time_iso, "buttons": []})
    return messages


def _payload_title(messages: list[dict], payload: str) -> str:
    for msg in reversed(messages):
        for b in msg.get("buttons") or []:
            if b.get("payload") == payload:
                return b["title"]
        if msg["role"] == "bot":
            break
    return payload


def latest_user_time(tracker: dict) -> float | None:
    times = [ev.get("timestamp") for ev in tracker.get("events") or [] if ev.get("event") == "user"]
    return max((float(t) for t in times if t is not None), default=None)
