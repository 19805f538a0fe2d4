"""Who is logged in: the signed session cookie's user, its login lifetime and the session's CSRF token.

Kept apart from bot.web.security (the route guards) because both the guards and every rendered page
(bot.web.templating puts the user and the CSRF token into each template) need it, and the guards render
the error page: with these here, neither of those two modules has to import the other late.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass

from starlette.requests import Request

# Who may do what. admin inherits every role. An account has one main role and may hold the policy roles
# besides (bot.store.rulelayer grants them; the store re-checks them at each rulebook action).
ROLES = ("operator", "staff", "admin", "policy_editor", "policy_approver")
LOGIN_TTL_SECONDS = 8 * 60 * 60


@dataclass(frozen=True)
class User:
    username: str
    role: str
    extra_roles: frozenset[str] = frozenset()

    def has_any(self, roles: Iterable[str]) -> bool:
        return self.role == "admin" or bool({self.role, *self.extra_roles} & set(roles))


def current_user(request: Request) -> User | None:
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
    now = time.time()
    request.session["user"] = {
        "username": username,
        "role": role,
        "roles": sorted(set(extra_roles) - {role}),
        "exp": now + LOGIN_TTL_SECONDS,
        "iat": now,
    }
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
