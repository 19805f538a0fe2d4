"""Jinja2 rendering with autoescape on, the CSRF token and the logged-in user in every template."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from bot.eligibility import present
from bot.privacy import mask_phone
from bot.web.labels import (
    CATEGORIES,
    CONVERSATION_STATES,
    PROGRAM_ZH,
    SPEAKERS,
    STATUSES,
    URGENCIES,
    console_labels,
    eligible_zh,
    local_time,
)
from bot.web.session import csrf_token, current_user

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


def _mask_phone(value: object) -> str:
    return mask_phone(str(value)) if value else ""


_env = Environment(
    loader=FileSystemLoader(str(TEMPLATES_DIR)),
    autoescape=select_autoescape(["html", "xml", "svg"], default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["local_time"] = local_time
_env.globals.update(
    STATES=CONVERSATION_STATES,
    STATUSES=STATUSES,
    URGENCIES=URGENCIES,
    CATEGORIES=CATEGORIES,
    SPEAKERS=SPEAKERS,
    CONSOLE_LABELS=console_labels(),
    PROGRAMS=PROGRAM_ZH,
    eligible_zh=eligible_zh,
    mask_phone=_mask_phone,
    verdict_card=present.card,
)


def render(request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200) -> HTMLResponse:
    ctx = {"request": request, "user": current_user(request), "csrf_token": csrf_token(request)}
    ctx.update(context or {})
    return HTMLResponse(
        _env.get_template(name).render(ctx), status_code=status_code, headers={"Cache-Control": "no-store"}
    )
