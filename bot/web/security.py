"""Authentication, roles, CSRF and the login rate limit: the one place every route's guard lives.

Every route of the app is declared through `page()` / `api()` / `public()` below, so a route cannot
exist without saying who may call it (tests/unit/test_web_security.py walks the route table to check
that every non-public route refuses anonymous and wrong-role callers).

- Pages answer an anonymous caller with 302 to /login, a wrong role with 403 (a Chinese page).
- APIs answer 401 / 403 JSON.
- Every unsafe method (POST, PUT, PATCH, DELETE) needs the session's CSRF token: a hidden form field
  `csrf_token` for forms, the `X-CSRF-Token` header for JSON requests from pages.
"""
from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from functools import wraps
from typing import Any, Awaitable, Callable, Iterable, Optional

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

Endpoint = Callable[[Request], Awaitable[Response]]

# Who may do what. admin inherits every role. An account has one main role and may hold the policy roles
# besides (bot.store.rulelayer grants them; the store re-checks them at each rulebook action).
ROLES = ("operator", "staff", "admin", "policy_editor", "policy_approver")
LOGIN_TTL_SECONDS = 8 * 60 * 60
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


@dataclass(frozen=True)
class User:
    username: str
    role: str
    extra_roles: frozenset[str] = frozenset()

    def has_any(self, roles: Iterable[str]) -> bool:
        return self.role == "admin" or bool({self.role, *self.extra_roles} & set(roles))


def current_user(request: Request) -> Optional[User]:
    """The logged-in user from the signed session cookie, None when absent or expired."""
    data = request.session.get("user")
    if not isinstance(data, dict):
        return None
    if float(data.get("exp", 0)) < time.time():
        request.session.pop("user", None)
        return None
    if data.get("role") not in ROLES or not data.get("username"):
        return None
    extra = frozenset(r for r in data.get("roles") or () if r in ROLES)
    return User(str(data["username"]), str(data["role"]), extra)


def login_session(request: Request, username: str, role: str, extra_roles: Iterable[str] = ()) -> None:
    """Start a login session; a fresh CSRF token is issued so one from before login cannot be replayed."""
    request.session["user"] = {"username": username, "role": role, "roles": sorted(set(extra_roles) - {role}),
                               "exp": time.time() + LOGIN_TTL_SECONDS}
    request.session["csrf"] = secrets.token_urlsafe(32)


def logout_session(request: Request) -> None:
    request.session.pop("user", None)
    request.session["csrf"] = secrets.token_urlsafe(32)


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return str(token)


async def csrf_ok(request: Request) -> bool:
    expected = request.session.get("csrf")
    if not expected:
        return False
    sent = request.headers.get(CSRF_HEADER)
    if not sent:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()  # starlette caches it: the endpoint can read it again
            sent = form.get(CSRF_FIELD)
    return isinstance(sent, str) and hmac.compare_digest(sent.encode(), str(expected).encode())


def _forbidden_page(request: Request, message_zh: str, status: int) -> Response:
    from bot.web.templating import render  # late import: templating imports this module

    return render(request, "error.html", {"message": message_zh}, status_code=status)


def _guard(roles: tuple[str, ...], as_api: bool, endpoint: Endpoint) -> Endpoint:
    @wraps(endpoint)
    async def guarded(request: Request) -> Response:
        user = current_user(request)
        if roles:
            if user is None:
                if as_api:
                    return JSONResponse({"error": {"code": "unauthenticated", "message_zh": "请先登录。"}}, 401)
                return RedirectResponse(f"/login?next={request.url.path}", status_code=302)
            if not user.has_any(roles):
                msg = "您的账号没有权限访问这里。"
                if as_api:
                    return JSONResponse({"error": {"code": "forbidden", "message_zh": msg}}, 403)
                return _forbidden_page(request, msg, 403)
        if request.method in UNSAFE_METHODS and not await csrf_ok(request):
            msg = "页面已过期或请求来源不明，请刷新页面后重试。"
            if as_api:
                return JSONResponse({"error": {"code": "csrf", "message_zh": msg}}, 403)
            return _forbidden_page(request, msg, 403)
        request.state.user = user
        return await endpoint(request)

    guarded.required_roles = roles  # type: ignore[attr-defined]
    guarded.is_api = as_api  # type: ignore[attr-defined]
    return guarded


def page(*roles: str) -> Callable[[Endpoint], Endpoint]:
    """An HTML route for these roles (admin always allowed)."""
    assert roles and set(roles) <= set(ROLES)
    return lambda endpoint: _guard(tuple(roles), False, endpoint)


def api(*roles: str) -> Callable[[Endpoint], Endpoint]:
    """A JSON route for these roles (admin always allowed)."""
    assert roles and set(roles) <= set(ROLES)
    return lambda endpoint: _guard(tuple(roles), True, endpoint)


def public(as_api: bool = False) -> Callable[[Endpoint], Endpoint]:
    """A route anyone may call (resident widget, login). Unsafe methods still need the CSRF token."""
    return lambda endpoint: _guard((), as_api, endpoint)


class LoginRateLimiter:
    """Failed logins allowed per (username, client IP) and per IP within a sliding window.

    In memory, per process: right for the embedded profile (one web process). Several web processes
    behind a load balancer would each count separately; a shared store (Redis) would be needed then.
    """

    def __init__(self, per_user_ip: int = 5, per_ip: int = 20, window_seconds: float = 15 * 60,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.per_user_ip = per_user_ip
        self.per_ip = per_ip
        self.window = window_seconds
        self.clock = clock
        self._failures: dict[Any, deque] = {}
        self._lock = threading.Lock()

    def _recent(self, key: Any) -> deque:
        now = self.clock()
        q = self._failures.setdefault(key, deque())
        while q and now - q[0] > self.window:
            q.popleft()
        return q

    def blocked(self, username: str, ip: str) -> bool:
        with self._lock:
            return (len(self._recent((username.lower(), ip))) >= self.per_user_ip
                    or len(self._recent(ip)) >= self.per_ip)

    def failed(self, username: str, ip: str) -> None:
        with self._lock:
            now = self.clock()
            self._recent((username.lower(), ip)).append(now)
            self._recent(ip).append(now)

    def succeeded(self, username: str, ip: str) -> None:
        with self._lock:
            self._failures.pop((username.lower(), ip), None)
