"""Authentication, roles, CSRF and the login rate limit: the one place every route's guard lives.

Every route of the app is declared through `page()` / `api()` / `public()` below, so a route cannot
exist without saying who may call it (tests/unit/test_web_security.py walks the route table to check
that every non-public route refuses anonymous and wrong-role callers).

- Pages answer an anonymous caller with 302 to /login, a wrong role with 403 (a Chinese page).
- APIs answer 401 / 403 JSON.
- Every unsafe method (POST, PUT, PATCH, DELETE) needs the session's CSRF token: a hidden form field
  `csrf_token` for forms, the `X-CSRF-Token` header for JSON requests from pages.
- The session cookie is signed, not stored: a copy of it would outlive a logout. So every guarded request
  asks the accounts table whether the account is still active and whether the session was issued after
  the account's last logout / disabling / password change (`accounts.session_role`); the role comes from
  the table too, so a changed role applies at once.
- Wrong passwords slow the caller down (`LoginThrottle`), per address and per account, instead of locking
  the account: a stranger cannot take an operator off the hotline by typing five wrong passwords.

Who is logged in (the session cookie's user, roles, CSRF token) is read and written by bot.web.session,
which the page templates use too.
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from functools import wraps

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from bot.store import accounts
from bot.web.session import ROLES, User, current_user, logout_session
from bot.web.templating import render

Endpoint = Callable[[Request], Awaitable[Response]]
log = logging.getLogger(__name__)

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


async def end_session(request: Request) -> None:
    """Log out for good: the account's sessions issued until now are void everywhere, so a copied cookie
    stops working at the same moment as this browser's."""
    user = current_user(request)
    logout_session(request)
    if user is not None:
        await run_in_threadpool(accounts.end_sessions, user.username)


async def _checked_user(request: Request) -> User | None:
    """The session's user if the account is still active and the session still valid; the role is the
    account's current one. Ends the session otherwise."""
    user = current_user(request)
    if user is None:
        return None
    issued = float(request.session.get("user", {}).get("iat", 0))
    role = await run_in_threadpool(accounts.session_role, user.username, issued)
    if role is None:
        logout_session(request)
        return None
    return User(user.username, role, user.extra_roles)  # the policy roles: the store re-checks them per action


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
    return render(request, "error.html", {"message": message_zh}, status_code=status)


def _guard(roles: tuple[str, ...], as_api: bool, endpoint: Endpoint) -> Endpoint:
    @wraps(endpoint)
    async def guarded(request: Request) -> Response:
        user = await _checked_user(request) if roles else current_user(request)
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


class LoginThrottle:
    """Exponential slow-down after wrong passwords, per client address and per account.

    The first `free` failures cost nothing; each further failure doubles the wait before the next attempt
    is even checked (`base` seconds, then twice that, ...), up to `max_wait_address` for an address and
    `max_wait_account` for an account. The account's cap is short on purpose: failures from strangers
    slow its owner down by at most that much, never lock them out. A success clears the pair.
    State is bounded: at most `max_keys` keys (least recently failed dropped first), and a key is
    forgotten `forget_after` seconds after its last failure. In memory, per web process.
    """

    def __init__(
        self,
        free: int = 3,
        base: float = 1.0,
        max_wait_address: float = 15 * 60,
        max_wait_account: float = 60.0,
        forget_after: float = 60 * 60,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.free, self.base = free, base
        self.max_wait = {"address": max_wait_address, "account": max_wait_account}
        self.forget_after, self.max_keys, self.clock = forget_after, max_keys, clock
        self._state: OrderedDict[tuple[str, str], tuple[int, float]] = OrderedDict()  # key -> (failures, last)
        self._lock = threading.Lock()

    def _keys(self, username: str, address: str) -> list[tuple[str, str]]:
        return [("address", address), ("account", username.strip().lower())]

    def _entry(self, key: tuple[str, str], now: float) -> tuple[int, float]:
        entry = self._state.get(key)
        if entry is None or now - entry[1] > self.forget_after:
            self._state.pop(key, None)
            return 0, now
        return entry

    def _delay(self, kind: str, failures: int) -> float:
        over = failures - self.free
        return 0.0 if over <= 0 else min(self.base * (2 ** (over - 1)), self.max_wait[kind])

    def wait_seconds(self, username: str, address: str) -> float:
        """How long this caller must wait before a login attempt is checked (0 = now)."""
        with self._lock:
            now = self.clock()
            waits = []
            for key in self._keys(username, address):
                failures, last = self._entry(key, now)
                if failures:
                    waits.append(last + self._delay(key[0], failures) - now)
            return max([0.0, *waits])

    def failed(self, username: str, address: str) -> int:
        """Count a wrong password; returns the larger failure count of the two keys (for alerting)."""
        with self._lock:
            now = self.clock()
            worst = 0
            for key in self._keys(username, address):
                failures = self._entry(key, now)[0] + 1
                self._state[key] = (failures, now)
                self._state.move_to_end(key)
                worst = max(worst, failures)
            while len(self._state) > self.max_keys:
                self._state.popitem(last=False)
            return worst

    def succeeded(self, username: str, address: str) -> None:
        with self._lock:
            for key in self._keys(username, address):
                self._state.pop(key, None)

    def __len__(self) -> int:
        return len(self._state)

    def should_alert(self, failures: int) -> bool:
        """Alert when a caller first gets slowed down and at every doubling after that (5, 10, 20 ...)
        rather than on every failure, so an attack leaves a readable trail, not a flood."""
        threshold = self.free + 2
        return (
            failures >= threshold
            and (failures // threshold) & ((failures // threshold) - 1) == 0
            and failures % threshold == 0
        )
