"""The one place bench scripts send a REST turn (and add the integrator token once the channel needs it)."""

from __future__ import annotations

import os
from typing import Any

import requests

_session = requests.Session()


def rest_headers(token: str | None = None) -> dict[str, str]:
    """`Authorization: Bearer` for the REST channel: the given token, else REST_TOKEN from the environment,
    else the one this checkout generated (bot.settings reads var/)."""
    if not token:
        token = os.environ.get("REST_TOKEN", "").strip()
    if not token:
        from bot.settings import settings

        token = settings().rest_token
    return {"Authorization": f"Bearer {token}"}


def send_turn(
    base_url: str,
    sender: str,
    text: str,
    timeout: float = 60,
    session: requests.Session | None = None,
    token: str | None = None,
) -> list[dict[str, Any]]:
    """One REST turn: the bot's replies to `text` from `sender` (raises on an HTTP error)."""
    response = (session or _session).post(
        f"{base_url}/webhooks/rest/webhook",
        headers=rest_headers(token),
        json={"sender": sender, "message": text},
        timeout=timeout,
    )
    response.raise_for_status()
    return response.json()
