"""Shared pieces of the issue-10 data tests (tests/security/test_*.py of the data classes, tests/faults):
one real Rasa + actions + web stack per test session, a scripted resident, and database read-backs.

Why a module singleton rather than a conftest fixture: tests/security is shared with other test files
that bring their own fixtures; the stack here is started on first use and stopped at exit, so every
file that needs it shares one Rasa process (a cold start costs a core for half a minute).
"""

from __future__ import annotations

import atexit
import re
import tempfile
import uuid
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, text

from tests.support.servers import Stack, require_model

REFERENCE = re.compile(r"QHD-\d{4}-(?:\d{6}|[0-9A-Z]{7})")
# Replies that end a flow: a saved request (or one parked in the outbox), a status, a refusal.
DONE_MARKERS = ("求助编号是", "求助 QHD-", "没有查到", "查询失败次数太多", "已补充到求助", "已经登记过同类求助")
HELP_ANSWERS = {
    "同意这样登记吗": "同意",
    "确认登记": "确认",
    "怎么称呼": "王秀兰",
    "手机号": "13812345678",
    "哪个区县": "青龙木头凳镇",
    "哪方面": "低保",
    "什么困难": "老伴瘫痪在床，一个月收入一千多，想申请低保",
    "急不急": "比较急",
}
PASSWORDS = {"st1": "staff-pass-data-1", "ad1": "admin-pass-data-1"}
_stack: Stack | None = None


def joined(replies: list[dict]) -> str:
    return "\n".join(r.get("text", "") for r in replies)


def new_sender() -> str:
    return f"sec-{uuid.uuid4().hex[:10]}"


def converse(
    stack: Stack,
    sender: str,
    opening: str,
    answers: dict[str, str],
    max_turns: int = 15,
    until: tuple[str, ...] = DONE_MARKERS,
) -> str:
    """Send `opening`, then answer each question containing a key of `answers`; returns the reply that
    ends the flow (or asks nothing we know)."""
    reply = joined(stack.say(sender, opening))
    for _ in range(max_turns):
        key = next((k for k in answers if k in reply), None)
        if key is None or any(marker in reply for marker in until):
            return reply
        reply = joined(stack.say(sender, answers[key]))
    pytest.fail(f"conversation did not finish; last reply: {reply}")


def register(stack: Stack, sender: str, **answers: str) -> str:
    """A resident registers a help request; returns the reference number told to them."""
    reply = converse(stack, sender, "我想登记一下求助", {**HELP_ANSWERS, **answers})
    match = REFERENCE.search(reply)
    assert match and "求助编号是" in reply, reply
    return match.group(0)


def app_db(stack: Stack):
    return create_engine(stack.env["DATABASE_URL"], future=True)


def rows(stack: Stack, sql: str, **params) -> list[dict]:
    engine = app_db(stack)
    try:
        with engine.connect() as connection:
            return [dict(r) for r in connection.execute(text(sql), params).mappings()]
    finally:
        engine.dispose()


def shared_stack() -> Stack:
    """Rasa + actions + web with the trained model, own SQLite files, two staff accounts."""
    global _stack
    if _stack is None:
        model = require_model()
        workdir = Path(tempfile.mkdtemp(prefix="qhd-secdata-"))
        stack = Stack.create(workdir, OUTBOX_PATH=str(workdir / "outbox.jsonl"))
        atexit.register(stack.stop_all)
        from bot.store import accounts

        for name, role in (("st1", "staff"), ("ad1", "admin")):
            accounts.create_account(name, PASSWORDS[name], role, url=stack.env["DATABASE_URL"])
        stack.start_actions()
        stack.start_rasa(model)
        stack.start_web()
        _stack = stack
    return _stack


def staff_session(stack: Stack, username: str = "st1") -> tuple[requests.Session, str]:
    """A logged-in browser-like session and its CSRF token."""
    session = requests.Session()
    token = csrf_of(session, stack)
    resp = session.post(
        f"{stack.web_url}/login",
        data={"username": username, "password": PASSWORDS[username], "csrf_token": token},
        allow_redirects=False,
        timeout=30,
    )
    assert resp.status_code == 303, resp.text
    return session, csrf_of(session, stack)


def csrf_of(session: requests.Session, stack: Stack) -> str:
    page = session.get(f"{stack.web_url}/login", timeout=30)
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
