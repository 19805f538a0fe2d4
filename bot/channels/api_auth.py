"""Rasa's HTTP API token in the `Authorization: Bearer` header, never in the query string.

Rasa 3.6 reads its `--auth-token` only from the `?token=` query parameter, so every call of the web app
(and of any operator tool) wrote the token into access logs, nginx's included. Installed when Rasa loads
our channels (before it builds its routes), this wraps Rasa's `requires_auth` so that:

- `Authorization: Bearer <RASA_TOKEN>` (compared in constant time) authorises a call;
- a `token` query parameter is refused (401) even when it is right: a token in a URL is a leaked token;
- anything else is refused (401). (Rasa's JWT option is not used by this project.)
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from functools import wraps
from inspect import isawaitable
from typing import Any

from sanic import response
from sanic.request import Request

from bot.settings import settings

NOT_AUTHENTICATED_ZH = "缺少或错误的令牌：请在请求头中带上 Authorization: Bearer <RASA_TOKEN>。"
TOKEN_IN_URL_ZH = "令牌不能放在网址里（会被记进访问日志）：请改用请求头 Authorization: Bearer <令牌>。"


def bearer_token(request: Request) -> str:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def token_matches(provided: str, expected: str | None) -> bool:
    return bool(expected) and bool(provided) and hmac.compare_digest(provided.encode(), str(expected).encode())


def requires_auth(app: Any, token: str | None = None) -> Callable:
    """A drop-in for rasa.server.requires_auth: the Bearer header against RASA_TOKEN, nothing else.

    The expected token is `--auth-token` when given, else RASA_TOKEN from our settings, so the launchers
    need not put it on the command line (where `ps` shows it to every user of the machine). There is no
    "authentication disabled" path: without a token every call is refused.
    """

    def decorator(handler: Callable) -> Callable:
        @wraps(handler)
        async def decorated(request: Request, *args: Any, **kwargs: Any) -> Any:
            if "token" in request.args:
                return _refused("TokenInUrl", TOKEN_IN_URL_ZH)
            if not token_matches(bearer_token(request), token or settings().rasa_token):
                return _refused("NotAuthenticated", NOT_AUTHENTICATED_ZH)
            result = handler(request, *args, **kwargs)
            return await result if isawaitable(result) else result

        return decorated

    return decorator


def _refused(reason: str, message_zh: str) -> Any:
    return response.json(
        {"version": "", "status": "failure", "reason": reason, "message": message_zh, "code": 401}, status=401
    )


def install() -> None:
    # lazy: rasa.server brings TensorFlow (4-7 s here); Rasa has imported it before it builds the channels,
    # and the REST channel imports this module for bearer_token / token_matches only
    import rasa.server  # noqa: PLC0415 - lazy import, reason above

    rasa.server.requires_auth = requires_auth  # create_app looks it up when it builds the routes
