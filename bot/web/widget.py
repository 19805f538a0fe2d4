"""Resident widget doors: the server-minted conversation id and the history of that one conversation.

The id lives only in the signed session cookie; the browser gets a short-lived JWT for Rasa's socket
(bot.channels.socketio checks it) and can read back only the conversation its own cookie names. The
socket itself goes to this web app's origin, which forwards it to Rasa on loopback (bot.web.rasa_proxy).
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.conversation_ids import new_widget_id
from bot.web.rasa_api import RasaUnavailable, transcript
from bot.web.security import public
from bot.web.session import csrf_token
from bot.widget_token import TOKEN_TTL_SECONDS, mint_token

SESSION_KEY = "widget_sid"


def widget_sender(request: Request) -> str:
    """This browser's conversation id, minted on first use (never taken from the client)."""
    sid = request.session.get(SESSION_KEY)
    if not isinstance(sid, str) or len(sid) < 16:
        sid = new_widget_id()
        request.session[SESSION_KEY] = sid
    return sid


@public(as_api=True)
async def session_info(request: Request) -> Response:
    cfg = request.app.state.cfg
    sender_id = widget_sender(request)
    return JSONResponse(
        {
            "session_id": sender_id,
            "token": mint_token(sender_id, cfg.jwt_secret),
            "expires_in": TOKEN_TTL_SECONDS,
            "socket_path": "/socket.io",
            "csrf": csrf_token(request),  # for the 👍/👎 door (bot.web.review), which also checks the token
        },
        headers={"Cache-Control": "no-store"},
    )


@public(as_api=True)
async def history(request: Request) -> Response:
    sender_id = request.session.get(SESSION_KEY)
    if not isinstance(sender_id, str):
        return JSONResponse({"messages": [], "state": "bot"})
    try:
        tracker = await run_in_threadpool(request.app.state.rasa.tracker, sender_id)
    except RasaUnavailable as exc:
        return JSONResponse({"error": {"code": "rasa_unavailable", "message_zh": exc.message_zh}}, 503)
    state = "operator" if tracker.get("paused") else "bot"
    return JSONResponse(
        {"messages": transcript(tracker, for_staff=False), "state": state}, headers={"Cache-Control": "no-store"}
    )


def routes() -> list[Route]:
    return [
        Route("/widget/session", session_info, methods=["GET"]),
        Route("/widget/history", history, methods=["GET"]),
    ]
