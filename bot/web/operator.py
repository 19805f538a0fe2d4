"""Operator console: live conversation list, masked transcripts, takeover / hand back, replies as a
person, eligibility checks and help requests on a caller's behalf, canned answers from the rulebook.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.answers import topic_figures
from bot.eligibility import CaseError, present
from bot.eligibility.intake import check
from bot.privacy import mask_text
from bot.rulebook import default_rulebook
from bot.store import checks, conversations, help_requests, outbox
from bot.web import tracker_db
from bot.web.labels import CATEGORIES, PROGRAM_ZH, URGENCIES, topic_intents
from bot.web.rasa_api import RasaUnavailable, latest_user_time, transcript
from bot.web.security import api, page
from bot.web.templating import render

SENDER_RE = re.compile(r"^[A-Za-z0-9_.:@-]{1,128}$")
MAX_REPLY_CHARS = 1000
TAKEOVER_GREETING_ZH = "您好，我是人工客服，现在由我为您服务。"
HANDBACK_NOTICE_ZH = "人工客服已结束本次服务，智能助手继续为您服务。如还需要人工，请说「转人工」。"


def error(code: str, message_zh: str, status: int, field: str | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message_zh": message_zh, "field": field}}, status)


def _epoch(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, datetime):
        return value.timestamp()
    try:
        return datetime.fromisoformat(str(value)).timestamp()
    except ValueError:
        return None


def _mask(text: str | None) -> str | None:
    return mask_text(text) if text else text


def district_choices() -> list[str]:
    """The districts offered in the console's and the desk's forms (none if the rulebook cannot load)."""
    try:
        return list(default_rulebook().districts)
    except Exception:  # noqa: BLE001 - the console still works (without district choices) if the rulebook is broken
        return []


def list_conversations(tracker_db_url: str) -> list[dict]:
    """Our conversation-state rows merged with every sender in Rasa's tracker store, most urgent first."""
    merged: dict[str, dict] = {}
    for row in tracker_db.recent_senders(tracker_db_url):
        merged[row["sender_id"]] = {
            "sender_id": row["sender_id"],
            "state": "bot",
            "operator": None,
            "last_time": row["last_time"],
            "preview": _mask(row["last_user_text"]),
        }
    for row in conversations.list_states():
        sender = row.get("sender_id")
        if not sender:
            continue
        item = merged.setdefault(sender, {"sender_id": sender, "last_time": None, "preview": None})
        item["state"] = row.get("state") or "bot"
        item["operator"] = row.get("operator")
        item["reason"] = row.get("reason")
        updated = _epoch(row.get("updated_at"))
        if updated and (item["last_time"] or 0) < updated:
            item["last_time"] = updated
    order = {"waiting": 0, "operator": 1, "bot": 2}
    return sorted(merged.values(), key=lambda c: (order.get(c["state"], 3), -(c["last_time"] or 0)))


def _sender(request: Request) -> str | None:
    sender = request.path_params.get("sender", "")
    return sender if SENDER_RE.match(sender) else None


async def _json_body(request: Request) -> dict | None:
    try:
        body = await request.json()
    except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser goes
        return None
    return body if isinstance(body, dict) else None


@page("operator")
async def console(request: Request) -> Response:
    return render(
        request,
        "operator.html",
        {
            "outbox": await run_in_threadpool(outbox.pending_summary),
            "districts": district_choices(),
            "topics": [(t, CATEGORIES[t]) for t in topic_intents()],
            "categories": list(CATEGORIES.items()),
            "urgencies": list(URGENCIES.items()),
            "programs": list(PROGRAM_ZH.items()),
        },
    )


@api("operator")
async def conversations_json(request: Request) -> Response:
    items = await run_in_threadpool(list_conversations, request.app.state.cfg.tracker_db_url)
    return JSONResponse({"conversations": items, "me": request.state.user.username})


@api("operator")
async def transcript_json(request: Request) -> Response:
    sender = _sender(request)
    if not sender:
        return error("bad_sender", "会话编号不正确。", 400)
    try:
        tracker = await run_in_threadpool(request.app.state.rasa.tracker, sender)
    except RasaUnavailable as exc:
        return error("rasa_unavailable", exc.message_zh, 503)
    state = await run_in_threadpool(conversations.get_state, sender) or {}
    return JSONResponse(
        {
            "sender_id": sender,
            "state": state.get("state") or ("operator" if tracker.get("paused") else "bot"),
            "operator": state.get("operator"),
            "paused": bool(tracker.get("paused")),
            "messages": transcript(tracker, for_staff=True),
            "last_user_time": latest_user_time(tracker),
        }
    )


async def _existing_tracker(request: Request, sender: str) -> dict | None:
    tracker = await run_in_threadpool(request.app.state.rasa.tracker, sender)
    return tracker if tracker.get("events") else None


@api("operator")
async def takeover(request: Request) -> Response:
    sender = _sender(request)
    if not sender:
        return error("bad_sender", "会话编号不正确。", 400)
    me = request.state.user.username
    current = await run_in_threadpool(conversations.get_state, sender) or {}
    if current.get("state") == "operator" and current.get("operator") not in (None, me):
        return error("taken", f"该会话已由 {current.get('operator')} 接管。", 409)
    rasa = request.app.state.rasa
    try:
        if await _existing_tracker(request, sender) is None:
            return error("not_found", "没有这个会话。", 404)
        await run_in_threadpool(rasa.pause, sender)
        await run_in_threadpool(conversations.set_state, sender, "operator", me, "takeover")
        await run_in_threadpool(rasa.operator_message, sender, TAKEOVER_GREETING_ZH, me, "operator")
    except RasaUnavailable as exc:
        return error("rasa_unavailable", exc.message_zh, 503)
    return JSONResponse({"state": "operator", "operator": me})


@api("operator")
async def handback(request: Request) -> Response:
    sender = _sender(request)
    if not sender:
        return error("bad_sender", "会话编号不正确。", 400)
    user = request.state.user
    current = await run_in_threadpool(conversations.get_state, sender) or {}
    if (
        current.get("state") == "operator"
        and current.get("operator") not in (None, user.username)
        and user.role != "admin"
    ):
        return error("taken", f"该会话由 {current.get('operator')} 负责，只有他本人可以交回。", 409)
    rasa = request.app.state.rasa
    try:
        if await _existing_tracker(request, sender) is None:
            return error("not_found", "没有这个会话。", 404)
        await run_in_threadpool(rasa.operator_message, sender, HANDBACK_NOTICE_ZH, user.username, "bot")
        await run_in_threadpool(rasa.resume, sender)
        await run_in_threadpool(conversations.set_state, sender, "bot", user.username, "handback")
    except RasaUnavailable as exc:
        return error("rasa_unavailable", exc.message_zh, 503)
    return JSONResponse({"state": "bot"})


@api("operator")
async def send_message(request: Request) -> Response:
    sender = _sender(request)
    body = await _json_body(request)
    if not sender or body is None:
        return error("bad_request", "请求格式不正确。", 400)
    text = str(body.get("text") or "").strip()
    if not text:
        return error("empty", "请输入要发送的内容。", 400, "text")
    if len(text) > MAX_REPLY_CHARS:
        return error("too_long", f"一次最多发送{MAX_REPLY_CHARS}字。", 400, "text")
    me = request.state.user.username
    current = await run_in_threadpool(conversations.get_state, sender) or {}
    if current.get("state") != "operator" or current.get("operator") != me:
        return error("not_taken", "请先接管该会话，再以人工身份回复。", 409)
    try:
        sent = await run_in_threadpool(request.app.state.rasa.operator_message, sender, text, me)
    except RasaUnavailable as exc:
        return error("rasa_unavailable", exc.message_zh, 503)
    if not sent:
        return error("not_found", "没有这个会话。", 404)
    return JSONResponse({"status": "sent"})


@api("operator", "staff")
async def eligibility(request: Request) -> Response:
    """The engine's HTTP door: body = the case JSON of the contract, answer = its result JSON."""
    body = await _json_body(request)
    if body is None:
        return error("invalid_json", "测算信息格式不正确（需要一个 JSON 对象）。", 400)
    try:
        case, result = await run_in_threadpool(check, body)
    except CaseError as exc:
        return JSONResponse(exc.to_json(), 400)
    user = request.state.user
    if user.role in ("operator", "admin"):
        sender = request.query_params.get("sender_id") or ""
        sender = sender if SENDER_RE.match(sender) else f"operator:{user.username}"
        await run_in_threadpool(
            checks.record_check, sender, case.get("program"), case, result, f"operator:{user.username}"
        )
    return JSONResponse({**result, "card": present.card(result)})


@api("operator")
async def create_help_request(request: Request) -> Response:
    body = await _json_body(request)
    if body is None:
        return error("bad_request", "请求格式不正确。", 400)
    me = request.state.user.username
    snapshot = body.get("decision_snapshot")
    data = {
        "sender_id": str(body.get("sender_id") or f"operator:{me}")[:128],
        "name": str(body.get("name") or "").strip(),
        "phone": str(body.get("phone") or "").strip(),
        "district": str(body.get("district") or "").strip(),
        "township": str(body.get("township") or "").strip(),
        "category": str(body.get("category") or "").strip(),
        "description": str(body.get("description") or "").strip(),
        "urgency": str(body.get("urgency") or "normal"),
        "decision_snapshot": snapshot if isinstance(snapshot, dict) else None,
        "entered_by": f"operator:{me}",
        "consent": body.get("consent") is True,  # the caller agreed on the phone (the console's checkbox)
    }
    key = body.get("idempotency_key")
    try:
        record = await run_in_threadpool(
            help_requests.create_request, data, f"operator:{me}", str(key)[:64] if key else None
        )
    except ValueError as exc:
        return error("invalid", str(exc), 400)
    return JSONResponse({"reference_no": record.get("reference_no"), "status": record.get("status")})


@api("operator")
async def canned(request: Request) -> Response:
    intent = request.query_params.get("intent", "")
    if intent not in topic_intents():
        return error("unknown_topic", "请选择一个咨询主题。", 400, "intent")
    district = request.query_params.get("district") or None
    residence = request.query_params.get("residence") or None
    if residence not in (None, "urban", "rural"):
        residence = None
    parts = await run_in_threadpool(topic_figures, intent, district, residence)
    text = "\n".join(p for p in (parts.get("figures"), parts.get("contact")) if p)
    return JSONResponse(
        {
            "intent": intent,
            "label": CATEGORIES[intent],
            "text": text,
            "figures": parts.get("figures"),
            "contact": parts.get("contact"),
        }
    )


def routes() -> list[Route]:
    conv = "/api/operator/conversations/{sender}"
    return [
        Route("/operator", console, methods=["GET"]),
        Route("/api/operator/conversations", conversations_json, methods=["GET"]),
        Route(conv + "/transcript", transcript_json, methods=["GET"]),
        Route(conv + "/takeover", takeover, methods=["POST"]),
        Route(conv + "/handback", handback, methods=["POST"]),
        Route(conv + "/message", send_message, methods=["POST"]),
        Route("/api/operator/requests", create_help_request, methods=["POST"]),
        Route("/api/canned", canned, methods=["GET"]),
        Route("/api/eligibility", eligibility, methods=["POST"]),
    ]
