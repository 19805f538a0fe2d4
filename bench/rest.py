"""The one place bench scripts send a REST turn (and add the integrator token once the channel needs it)."""
from __future__ import annotations

import os
from typing import Any

import requests

_session = requests.Session()


def rest_headers() -> dict[str, str]:
    """Headers for the REST channel; `Authorization: Bearer` when REST_TOKEN is set."""
    token = os.environ.get("REST_TOKEN")
    return {"Authorization": f"Bearer {token}"} if token else {}


def send_turn(base_url: str, sender: str, text: str, timeout: float = 60,
              session: requests.Session | None = None) -> list[dict[str, Any]]:
    """One REST turn: the bot's replies to `text` from `sender` (raises on an HTTP error)."""
    response = (session or _session).post(f"{base_url}/webhooks/rest/webhook", headers=rest_headers(),
                                          json={"sender": sender, "message": text}, timeout=timeout)
    response.raise_for_status()
    return response.json()
