"""The widget's conversation token: minted by the web app (bot.web.widget), checked by Rasa's socket
channel (bot.channels.socketio) and by the web app's feedback door (bot.web.review). One module so the
two processes agree on audience, algorithm and required claims; it imports neither Rasa nor Starlette.
"""

from __future__ import annotations

import time
from typing import Any

import jwt

TOKEN_AUDIENCE = "qhd-widget"
TOKEN_TTL_SECONDS = 15 * 60


def mint_token(sender_id: str, secret: str, ttl: int = TOKEN_TTL_SECONDS) -> str:
    now = int(time.time())
    return jwt.encode(
        {"sub": sender_id, "iat": now, "exp": now + ttl, "aud": TOKEN_AUDIENCE}, secret, algorithm="HS256"
    )


def verify_widget_token(token: Any, secret: str) -> str | None:
    """The conversation id a widget token is bound to, or None when the token is missing or invalid.

    Signature, expiry and presence of `sub` are all required: an unsigned or expired token is refused.
    """
    if not token or not isinstance(token, str) or not secret:
        return None
    try:
        payload = jwt.decode(
            token, secret, algorithms=["HS256"], audience=TOKEN_AUDIENCE, options={"require": ["sub", "exp", "aud"]}
        )
    except jwt.PyJWTError:
        return None
    sub = payload.get("sub")
    return sub if isinstance(sub, str) and 8 <= len(sub) <= 128 else None
