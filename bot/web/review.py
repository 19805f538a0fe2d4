"""Learning-loop doors of the web app (issue 14).

- POST /widget/feedback: a resident's 👍/👎 on one bot answer. The conversation comes from the signed
  session cookie AND must equal the `sub` of the widget token sent as Bearer (so neither a stolen cookie
  nor a token alone is enough); the answer must exist in that conversation's tracker; votes per
  conversation are capped (bot.learning.store). CSRF as for every unsafe request.
- POST /api/operator/conversations/{sender}/flag: an operator marks a user message as misunderstood.
- GET /staff/learning: the review inbox (grouped, most frequent first, with context).
- POST /staff/learning/label: label one group (an intent, out of scope, or an uncovered topic with a
  note) and mark it done; audited.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from typing import Any

import yaml
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from bot.learning.rules import SOURCES_ZH, group_items
from bot.learning.store import FeedbackRefused, label_group, open_items, record_flag, record_vote
from bot.settings import REPO_ROOT
from bot.topics import INTENT_LABELS_ZH
from bot.web.operator import _sender
from bot.web.operator import error as _json_error
from bot.web.rasa_api import RasaUnavailable
from bot.web.security import api, page, public
from bot.web.templating import render
from bot.web.widget import SESSION_KEY
from bot.widget_token import verify_widget_token

MAX_BODY_BYTES = 4096
INBOX_GROUPS = 100
NOT_LABELS = {"nlu_fallback"}


@lru_cache(maxsize=1)
def intent_choices() -> list[tuple[str, str]]:
    """(intent, label) for every intent of domain.yml a reviewer may choose (stop included)."""
    domain = yaml.safe_load((REPO_ROOT / "domain.yml").read_text(encoding="utf-8")) or {}
    names = [i if isinstance(i, str) else next(iter(i)) for i in domain.get("intents") or []]
    return [(n, INTENT_LABELS_ZH.get(n, n)) for n in names if n not in NOT_LABELS]


async def _small_json(request: Request) -> dict | None:
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        return None
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


async def _record(request: Request, sender: str, record: Callable[..., dict], *args: Any) -> Any:
    """Run a store function (record_vote / record_flag) against `sender`'s tracker as Rasa has it now;
    the stored row, or the JSON error response."""
    try:
        tracker = await run_in_threadpool(request.app.state.rasa.tracker, sender)
        return await run_in_threadpool(record, sender, tracker.get("events") or [], *args)
    except RasaUnavailable as exc:
        return _json_error("rasa_unavailable", exc.message_zh, 503)
    except FeedbackRefused as exc:
        return _json_error("refused", exc.message_zh, exc.status)
    except ValueError as exc:
        return _json_error("bad_request", str(exc), 400)


@public(as_api=True)
async def widget_feedback(request: Request) -> Response:
    sender = request.session.get(SESSION_KEY)
    auth = request.headers.get("authorization", "")
    token_sub = verify_widget_token(
        auth[7:] if auth.lower().startswith("bearer ") else None, request.app.state.cfg.jwt_secret
    )
    if not isinstance(sender, str) or token_sub != sender:
        return _json_error("forbidden", "只能评价您自己对话里的回答。", 403)
    data = await _small_json(request)
    if data is None or not isinstance(data.get("text"), str) or data.get("vote") not in ("up", "down"):
        return _json_error("bad_request", "评价内容不正确。", 400)
    reason = data.get("reason") if isinstance(data.get("reason"), str) else None
    outcome = await _record(request, sender, record_vote, data["text"][:4000], data["vote"], reason)
    if isinstance(outcome, Response):
        return outcome
    return JSONResponse({"ok": True, "message_zh": "谢谢您的反馈！"})


@api("operator")
async def operator_flag(request: Request) -> Response:
    sender = _sender(request)
    data = await _small_json(request)
    if not sender or data is None:
        return _json_error("bad_request", "请求不正确。", 400)
    try:
        when = datetime.fromisoformat(str(data.get("time") or "")).timestamp()
    except ValueError:
        return _json_error("bad_request", "消息时间不正确。", 400)
    note = data.get("note") if isinstance(data.get("note"), str) else None
    item = await _record(request, sender, record_flag, when, request.state.user.username, note)
    if isinstance(item, Response):
        return item
    return JSONResponse({"ok": True, "id": item["id"], "message_zh": "已记下，业务人员会复核。"})


def _inbox_context() -> dict[str, Any]:
    groups = group_items(open_items())
    return {
        "groups": groups[:INBOX_GROUPS],
        "total_groups": len(groups),
        "sources_zh": SOURCES_ZH,
        "intents": intent_choices(),
        "intent_zh": dict(intent_choices()),
    }


@page("staff")
async def inbox(request: Request) -> Response:
    ctx = await run_in_threadpool(_inbox_context)
    done = request.query_params.get("done")
    ctx["flash"] = f"已标注 {done} 条消息。" if done and done.isdigit() else None
    return render(request, "staff_learning.html", ctx)


@page("staff")
async def label(request: Request) -> Response:
    form = await request.form()
    ids = [int(v) for v in form.getlist("ids") if str(v).isdigit()]
    choice = str(form.get("label") or "")
    note = str(form.get("note") or "").strip() or None
    hard = form.get("hard") == "1"
    allowed = [name for name, _ in intent_choices()]
    try:
        count = await run_in_threadpool(
            label_group, ids, choice, f"staff:{request.state.user.username}", allowed, note, hard
        )
    except ValueError as exc:
        ctx = await run_in_threadpool(_inbox_context)
        ctx["error"] = str(exc)
        return render(request, "staff_learning.html", ctx, 400)
    return RedirectResponse(f"/staff/learning?done={count}", status_code=303)


def routes() -> list[Route]:
    return [
        Route("/widget/feedback", widget_feedback, methods=["POST"]),
        Route("/api/operator/conversations/{sender}/flag", operator_flag, methods=["POST"]),
        Route("/staff/learning", inbox, methods=["GET"]),
        Route("/staff/learning/label", label, methods=["POST"]),
    ]
