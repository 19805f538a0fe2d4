"""Operator, staff and admin accounts: argon2 password hashes, disabling, and the session cut-off.

Wrong passwords never lock an account (a stranger could take an operator off the hotline by typing five
of them); the web app slows callers down instead (bot.web.security.LoginThrottle). `failed_logins` still
counts them for the record. Logout, disabling and a new password set `sessions_valid_after`, which voids
every session issued before it (the web app asks `session_role` on each request).
"""

from __future__ import annotations

import re
from datetime import timezone
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.exc import IntegrityError

from bot.store.categories import ROLES
from bot.store.common import iso, utcnow, write_audit
from bot.store.db import session_scope
from bot.store.models import Account

_USERNAME = re.compile(r"[a-z0-9_.-]{3,32}")
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256

_hasher = PasswordHasher()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A hash to verify against for unknown usernames, so a wrong name costs as long as a wrong password."""
    return _hasher.hash("not-a-real-password")


def _record(row: Account) -> dict[str, Any]:
    """An account without its password hash."""
    return {
        "id": row.id,
        "username": row.username,
        "role": row.role,
        "role_zh": ROLES.get(row.role, row.role),
        "active": bool(row.active),
        "created_at": iso(row.created_at),
        "last_login_at": iso(row.last_login_at),
        "locked_until": iso(row.locked_until),
    }


def normalise_username(username: Any) -> str:
    """Lower-case, stripped username; ValueError (Chinese) when it does not fit the allowed pattern."""
    name = username.strip().lower() if isinstance(username, str) else ""
    if not _USERNAME.fullmatch(name):
        raise ValueError("用户名只能包含英文字母、数字、下划线、点或连字符，长度 3 到 32 个字符")
    return name


def _check_password(password: Any) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"密码太短：至少需要 {MIN_PASSWORD_LENGTH} 个字符")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValueError(f"密码太长：最多 {MAX_PASSWORD_LENGTH} 个字符")
    if not password.strip():
        raise ValueError("密码不能全是空格")
    return password


def create_account(
    username: str, password: str, role: str, actor: str = "system", url: str | None = None
) -> dict[str, Any]:
    """Create an active account with an argon2 hash of `password`; ValueError if the name is taken."""
    name = normalise_username(username)
    if role not in ROLES:
        raise ValueError("角色只能是：" + "、".join(f"{k}（{v}）" for k, v in ROLES.items()))
    password_hash = _hasher.hash(_check_password(password))
    try:
        with session_scope(url) as session:
            row = Account(
                username=name, password_hash=password_hash, role=role, active=True, created_at=utcnow(), failed_logins=0
            )
            session.add(row)
            session.flush()
            write_audit(session, actor, "account_create", None, {"username": name, "role": role})
            return _record(row)
    except IntegrityError:
        raise ValueError(f"用户名 {name} 已存在") from None


def verify(username: str, password: str, url: str | None = None) -> dict[str, Any] | None:
    """The account if `password` is right and the account is active, else None. A success resets the
    failure count and upgrades an outdated hash; a failure only counts (no lock: see the module doc)."""
    try:
        name = normalise_username(username)
    except ValueError:
        name = None
    if name is None or not isinstance(password, str) or len(password) > MAX_PASSWORD_LENGTH:
        _safe_verify(_dummy_hash(), "x")
        return None
    with session_scope(url) as session:
        row = session.execute(sa.select(Account).where(Account.username == name).with_for_update()).scalar_one_or_none()
        if row is None:
            _safe_verify(_dummy_hash(), password)
            return None
        if not _safe_verify(row.password_hash, password) or not row.active:
            row.failed_logins = (row.failed_logins or 0) + 1
            return None
        row.failed_logins, row.locked_until, row.last_login_at = 0, None, utcnow()
        if _hasher.check_needs_rehash(row.password_hash):
            row.password_hash = _hasher.hash(password)
        return _record(row)


def session_role(username: str, issued_at: float, url: str | None = None) -> str | None:
    """The account's current role if a session issued at `issued_at` (epoch seconds) is still good: the
    account exists, is active, and was not logged out / disabled / given a new password since."""
    try:
        name = normalise_username(username)
    except ValueError:
        return None
    with session_scope(url) as session:
        row = session.execute(
            sa.select(Account.role, Account.active, Account.sessions_valid_after).where(Account.username == name)
        ).one_or_none()
    if row is None or not row.active:
        return None
    if row.sessions_valid_after is not None:
        cutoff = row.sessions_valid_after.replace(tzinfo=timezone.utc).timestamp()
        if issued_at <= cutoff:
            return None
    return str(row.role)


def end_sessions(username: str, url: str | None = None) -> None:
    """Void every session of `username` issued until now (logout)."""
    name = normalise_username(username)
    with session_scope(url) as session:
        session.execute(sa.update(Account).where(Account.username == name).values(sessions_valid_after=utcnow()))


def record_login_throttled(username: str, address: str, failures: int, url: str | None = None) -> None:
    """Audit that a caller is being slowed down (the web app also logs it at WARNING)."""
    with session_scope(url) as session:
        write_audit(
            session,
            "system",
            "login_throttled",
            None,
            {"username": str(username)[:64], "address": str(address)[:64], "failures": int(failures)},
        )


def _safe_verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def get_account(username: str, url: str | None = None) -> dict[str, Any] | None:
    """The account (without hash), e.g. for the web app to re-check `active` on each request."""
    try:
        name = normalise_username(username)
    except ValueError:
        return None
    with session_scope(url) as session:
        row = session.execute(sa.select(Account).where(Account.username == name)).scalar_one_or_none()
        return _record(row) if row is not None else None


def list_accounts(url: str | None = None) -> list[dict[str, Any]]:
    """Every account, by username."""
    with session_scope(url) as session:
        return [_record(r) for r in session.execute(sa.select(Account).order_by(Account.username)).scalars()]


def set_active(username: str, active: bool, actor: str = "system", url: str | None = None) -> dict[str, Any]:
    """Disable (or re-enable) an account; a disabled account cannot log in. Audited."""
    name = normalise_username(username)
    with session_scope(url) as session:
        row = session.execute(sa.select(Account).where(Account.username == name)).scalar_one_or_none()
        if row is None:
            raise ValueError(f"用户 {name} 不存在")
        row.active = bool(active)
        if active:
            row.failed_logins, row.locked_until = 0, None
        else:
            row.sessions_valid_after = utcnow()
        write_audit(session, actor, "account_enable" if active else "account_disable", None, {"username": name})
        return _record(row)


def set_password(username: str, password: str, actor: str = "system", url: str | None = None) -> dict[str, Any]:
    """Replace an account's password (and lift a lock). Audited, without the password."""
    name = normalise_username(username)
    password_hash = _hasher.hash(_check_password(password))
    with session_scope(url) as session:
        row = session.execute(sa.select(Account).where(Account.username == name)).scalar_one_or_none()
        if row is None:
            raise ValueError(f"用户 {name} 不存在")
        row.password_hash, row.failed_logins, row.locked_until = password_hash, 0, None
        row.sessions_valid_after = utcnow()
        write_audit(session, actor, "account_password", None, {"username": name})
        return _record(row)
