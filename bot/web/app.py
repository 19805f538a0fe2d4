"""The web app: resident widget, operator console, staff review desk and their JSON API.

`create_app(settings=None)` builds the Starlette app; `main(argv)` serves it with uvicorn on
settings().web_host / web_port (`python -m bot.web`). Every route is declared in the modules below
through bot.web.security's `page` / `api` / `public` guards.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from urllib.parse import urlparse

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.limits import MAX_BODY_BYTES
from bot.local_secrets import SecretError
from bot.logs import setup_logging
from bot.settings import Settings, SettingsError
from bot.settings import settings as load_settings
from bot.store import accounts
from bot.store.db import upgrade_database
from bot.store.rulelayer import roles_of
from bot.web import analytics, metrics_route, operator, review, rulebook_pages, staff, widget
from bot.web.body_limit import BodySizeLimit
from bot.web.rasa_api import RasaClient
from bot.web.rasa_proxy import RasaProxy
from bot.web.security import LoginThrottle, end_session, public
from bot.web.session import login_session
from bot.web.templating import render

logger = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).resolve().parent / "static"
SESSION_COOKIE = "qhd_session"
SESSION_MAX_AGE = 12 * 60 * 60


class SecurityHeaders:
    """Headers every answer carries: no MIME sniffing, no framing of app pages, same-origin referrers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_static = scope.get("path", "").startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "same-origin")
                if not is_static:
                    headers.setdefault("X-Frame-Options", "DENY")
            await send(message)

        await self.app(scope, receive, send_with_headers)


class ConfigurationError(RuntimeError):
    """The app refuses to start (production without secrets)."""


def check_production_secrets(cfg: Settings) -> None:
    if not cfg.production:
        return
    missing = [
        name
        for name, value in (
            ("WEB_SECRET", cfg.web_secret),
            ("JWT_SECRET", cfg.jwt_secret),
            ("RASA_TOKEN", cfg.rasa_token),
        )
        if not value
    ]
    if missing:
        raise ConfigurationError(f"生产模式下必须设置 {', '.join(missing)}，拒绝启动。")


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths after login (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or urlparse(target).netloc:
        return "/"
    return target


def _home_for(role: str) -> str:
    return "/staff" if role == "staff" else "/operator"


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@public()
async def login_page(request: Request) -> Response:
    return render(request, "login.html", {"next": _safe_next(request.query_params.get("next"))})


@public()
async def login_submit(request: Request) -> Response:
    form = await request.form()
    username = str(form.get("username", "")).strip()[:64]
    password = str(form.get("password", ""))[:256]
    next_url = _safe_next(str(form.get("next", "")))
    limiter: LoginThrottle = request.app.state.limiter
    ip = _client_ip(request)
    ctx = {"next": next_url, "username": username}
    wait = limiter.wait_seconds(username, ip)
    if wait > 0:
        return render(request, "login.html", {**ctx, "error": f"尝试太频繁，请 {int(wait) + 1} 秒后再试。"}, 429)
    if not username or not password:
        return render(request, "login.html", {**ctx, "error": "请输入用户名和密码。"}, 400)
    account = await run_in_threadpool(accounts.verify, username, password)
    if not account:
        failures = limiter.failed(username, ip)
        if limiter.should_alert(failures):
            logger.warning("login slowed down: %d wrong passwords for account %r or from %s", failures, username, ip)
            await run_in_threadpool(accounts.record_login_throttled, username, ip, failures)
        return render(request, "login.html", {**ctx, "error": "用户名或密码不正确。"}, 401)
    limiter.succeeded(username, ip)
    role = str(account.get("role", ""))
    name = str(account.get("username", username))
    login_session(request, name, role, await run_in_threadpool(roles_of, name))
    return RedirectResponse(next_url if next_url != "/" else _home_for(role), status_code=303)


@public()
async def logout(request: Request) -> Response:
    await end_session(request)
    return RedirectResponse("/login", status_code=303)


@public()
async def demo_page(request: Request) -> Response:
    return render(request, "demo.html")


@public(as_api=True)
async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def routes(proxy: RasaProxy) -> list:
    return [
        *proxy.routes(),  # socket.io and the REST webhook, forwarded to Rasa on loopback
        Route("/", demo_page),
        Route("/healthz", healthz),
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login_submit, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        *widget.routes(),
        *operator.routes(),
        *rulebook_pages.routes(),
        *staff.routes(),
        *metrics_route.routes(),
        *review.routes(),
        *analytics.routes(),
        Mount("/static", app=StaticFiles(directory=str(STATIC_DIR)), name="static"),
    ]


async def _not_found(request: Request, exc: Exception) -> Response:
    if request.url.path.startswith("/api/") or request.url.path.startswith("/widget/"):
        return JSONResponse({"error": {"code": "not_found", "message_zh": "没有找到。"}}, 404)
    return render(request, "error.html", {"message": "页面不存在。"}, 404)


async def _server_error(request: Request, exc: Exception) -> Response:
    logger.exception("unhandled error on %s", request.url.path)
    if request.url.path.startswith("/api/") or request.url.path.startswith("/widget/"):
        return JSONResponse({"error": {"code": "server_error", "message_zh": "系统出了点问题，请稍后重试。"}}, 500)
    return render(request, "error.html", {"message": "系统出了点问题，请稍后重试。"}, 500)


def create_app(settings: Settings | None = None, rasa: RasaClient | None = None) -> Starlette:
    cfg = settings or load_settings()
    check_production_secrets(cfg)
    proxy = RasaProxy(cfg.rasa_url)
    app = Starlette(
        routes=routes(proxy),
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(BodySizeLimit, max_bytes=MAX_BODY_BYTES),
            Middleware(
                SessionMiddleware,
                secret_key=cfg.web_secret,
                session_cookie=SESSION_COOKIE,
                max_age=SESSION_MAX_AGE,
                same_site="lax",
                https_only=cfg.production,
            ),
        ],
        exception_handlers={404: _not_found, 500: _server_error},
    )
    app.state.cfg = cfg
    app.state.rasa = rasa or RasaClient(cfg)
    app.state.limiter = LoginThrottle()

    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.web", description="秦皇岛热线 网页端（居民咨询、坐席、审核）")
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    parser.add_argument("--no-migrate", action="store_true", help="不自动升级数据库")
    args = parser.parse_args(argv)
    try:
        setup_logging()
        cfg = load_settings()
        app = create_app(cfg)
    except (ConfigurationError, SecretError, SettingsError) as exc:
        print(str(exc))
        return 2
    if not args.no_migrate:
        upgrade_database(cfg.database_url)
    uvicorn.run(
        app,
        host=args.host or cfg.web_host,
        port=args.port or cfg.web_port,
        log_level="warning",
        proxy_headers=False,
        # the widget's socket (bot.web.rasa_proxy); wsproto: rasa pins a websockets uvicorn cannot use
        ws="wsproto",
        ws_max_size=MAX_BODY_BYTES,
    )
    return 0
