"""Web app security: every route's role guard, CSRF, login rate limit, cookies, production refusal,
and the resident widget's server-minted, cookie-bound conversation id."""

from __future__ import annotations

import dataclasses
import time

import jwt
import pytest
from starlette.routing import Route
from starlette.testclient import TestClient
from test_web_support import FakeRasa, bot_event, csrf_of, login, user_event, web  # noqa: F401 - pytest fixtures, requested by parameter name

SAMPLE_PARAMS = {
    "sender": "web-0123456789abcdef",
    "ref": "QHD-2026-000001",
    "fmt": "csv",
    "id": "1",
    "pid": "dibao.standard.urban_monthly",
}


def guarded_routes(app):
    for route in app.routes:
        if isinstance(route, Route):
            path = route.path_format
            for key, value in SAMPLE_PARAMS.items():
                path = path.replace("{" + key + "}", value)
            for method in sorted(route.methods - {"HEAD"}):
                yield route, method, path


def test_every_route_declares_its_guard(web):
    app, _ = web
    for route, _, _ in guarded_routes(app):
        assert hasattr(route.endpoint, "required_roles"), f"{route.path} has no security guard"


def test_anonymous_caller_gets_login_redirect_or_401_everywhere_roles_are_required(web):
    app, _ = web
    client = TestClient(app)
    checked = 0
    for route, method, path in guarded_routes(app):
        if not route.endpoint.required_roles:
            continue
        resp = client.request(method, path, follow_redirects=False)
        if route.endpoint.is_api:
            assert resp.status_code == 401, (method, path, resp.status_code)
            assert resp.json()["error"]["code"] == "unauthenticated"
        else:
            assert resp.status_code == 302 and resp.headers["location"].startswith("/login"), (method, path)
        checked += 1
    assert checked >= 15


@pytest.mark.parametrize("username", ["op1", "st1"])
def test_wrong_role_is_refused_on_every_route_of_the_other_role(web, username):
    app, _ = web
    client = TestClient(app)
    csrf = login(client, username)
    role = "operator" if username == "op1" else "staff"
    refused = 0
    for route, method, path in guarded_routes(app):
        roles = route.endpoint.required_roles
        if not roles or role in roles:
            continue
        resp = client.request(method, path, headers={"X-CSRF-Token": csrf}, follow_redirects=False)
        assert resp.status_code == 403, (username, method, path, resp.status_code)
        refused += 1
    assert refused >= 5


def test_admin_may_use_both_desks(web):
    app, _ = web
    client = TestClient(app)
    login(client, "ad1")
    assert client.get("/operator").status_code == 200
    assert client.get("/staff").status_code == 200


def test_post_without_csrf_token_is_refused_and_with_it_accepted(web):
    app, fake = web
    fake.trackers["web-aaaabbbbccccdddd"] = {"events": [user_event("你好")], "paused": False}
    client = TestClient(app)
    csrf = login(client, "op1")
    url = "/api/operator/conversations/web-aaaabbbbccccdddd/takeover"
    refused = client.post(url)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "csrf"
    assert ("pause", "web-aaaabbbbccccdddd") not in fake.calls
    wrong = client.post(url, headers={"X-CSRF-Token": "not-the-token"})
    assert wrong.status_code == 403
    ok = client.post(url, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200 and ("pause", "web-aaaabbbbccccdddd") in fake.calls


def test_login_form_needs_csrf(web):
    app, _ = web
    client = TestClient(app)
    resp = client.post("/login", data={"username": "op1", "password": "operator-pass-1"})
    assert resp.status_code == 403
    assert client.get("/operator", follow_redirects=False).status_code == 302


def test_wrong_passwords_slow_the_caller_down_but_never_lock_the_account(web):
    app, _ = web
    client = TestClient(app)
    limiter = app.state.limiter
    for _ in range(limiter.free + 1):
        resp = client.post("/login", data={"username": "st1", "password": "wrong", "csrf_token": csrf_of(client)})
        assert resp.status_code == 401 and "不正确" in resp.text
    slowed = client.post(
        "/login",
        data={"username": "st1", "password": "staff-pass-1", "csrf_token": csrf_of(client)},
        follow_redirects=False,
    )
    assert slowed.status_code == 429 and "秒后再试" in slowed.text
    # the account itself is not locked: once the wait is over the right password works
    limiter._state.clear()
    ok = client.post(
        "/login",
        data={"username": "st1", "password": "staff-pass-1", "csrf_token": csrf_of(client)},
        follow_redirects=False,
    )
    assert ok.status_code == 303


def test_throttle_grows_exponentially_caps_per_kind_and_forgets():
    from bot.web.security import LoginThrottle

    now = [0.0]
    throttle = LoginThrottle(
        free=2, base=1.0, max_wait_address=100.0, max_wait_account=8.0, forget_after=1000.0, clock=lambda: now[0]
    )
    waits = []
    for _ in range(10):
        throttle.failed("a", "1.1.1.1")
        waits.append(throttle.wait_seconds("a", "1.1.1.1"))
    assert waits == [0.0, 0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 100.0]
    # the same account from another address waits only the account's cap (slowed, not locked out)
    assert throttle.wait_seconds("A", "2.2.2.2") == 8.0
    assert throttle.wait_seconds("b", "2.2.2.2") == 0.0
    now[0] = 1001.0
    assert throttle.wait_seconds("a", "1.1.1.1") == 0.0


def test_throttle_state_is_bounded():
    from bot.web.security import LoginThrottle

    throttle = LoginThrottle(max_keys=50)
    for i in range(1000):
        throttle.failed(f"user{i}", f"10.0.{i // 256}.{i % 256}")
    assert len(throttle) == 50


def test_alerts_at_first_slow_down_and_each_doubling():
    from bot.web.security import LoginThrottle

    throttle = LoginThrottle(free=3)
    assert [n for n in range(1, 50) if throttle.should_alert(n)] == [5, 10, 20, 40]


def test_disabled_account_and_logout_end_sessions_at_once(web):
    from bot.store import accounts

    app, _ = web
    client = TestClient(app)
    csrf = login(client, "st1")
    copied = dict(client.cookies)
    assert client.get("/staff", follow_redirects=False).status_code == 200
    accounts.set_active("st1", False)
    assert client.get("/staff", follow_redirects=False).status_code == 302
    accounts.set_active("st1", True)
    csrf = login(client, "st1")
    copied = dict(client.cookies)
    assert client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    thief = TestClient(app, cookies=copied)  # a copy of the cookie taken before logout
    assert thief.get("/staff", follow_redirects=False).status_code == 302


def test_session_cookie_is_httponly_and_samesite(web):
    app, _ = web
    resp = TestClient(app).get("/login")
    cookie = resp.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert resp.headers["x-frame-options"] == "DENY"


def test_login_ignores_offsite_next(web):
    app, _ = web
    client = TestClient(app)
    resp = client.post(
        "/login",
        data={
            "username": "op1",
            "password": "operator-pass-1",
            "next": "//evil.example/x",
            "csrf_token": csrf_of(client),
        },
        follow_redirects=False,
    )
    assert resp.headers["location"] == "/operator"


def test_production_without_secrets_refuses_to_start():
    from bot.settings import settings
    from bot.web.app import ConfigurationError, create_app

    cfg = dataclasses.replace(settings(), production=True, web_secret="", jwt_secret="x" * 40, rasa_token="t")
    with pytest.raises(ConfigurationError, match="WEB_SECRET"):
        create_app(cfg, rasa=FakeRasa())


def test_widget_session_is_minted_by_server_and_bound_to_the_cookie(web):
    from bot.channels.socketio import verify_widget_token

    app, _ = web
    secret = app.state.cfg.jwt_secret
    alice, bob = TestClient(app), TestClient(app)
    a1 = alice.get("/widget/session").json()
    a2 = alice.get("/widget/session?session_id=web-bob").json()
    b1 = bob.get("/widget/session").json()
    assert a1["session_id"] == a2["session_id"] != b1["session_id"]
    assert verify_widget_token(a2["token"], secret) == a1["session_id"]
    assert verify_widget_token(a1["token"], "another-secret-of-enough-length!!") is None
    expired = jwt.encode({"sub": a1["session_id"], "exp": int(time.time()) - 5, "aud": "qhd-widget"}, secret)
    assert verify_widget_token(expired, secret) is None
    no_aud = jwt.encode({"sub": a1["session_id"], "exp": int(time.time()) + 60}, secret)
    assert verify_widget_token(no_aud, secret) is None


def test_widget_history_only_shows_the_cookie_owners_conversation(web):
    app, fake = web
    alice, bob = TestClient(app), TestClient(app)
    alice_id = alice.get("/widget/session").json()["session_id"]
    bob.get("/widget/session")
    fake.trackers[alice_id] = {"events": [user_event("我的电话是13812345678"), bot_event("收到")], "paused": False}
    mine = alice.get("/widget/history").json()["messages"]
    assert [m["role"] for m in mine] == ["user", "bot"]
    assert "13812345678" not in mine[0]["text"] and "5678" in mine[0]["text"]
    theirs = bob.get(f"/widget/history?session_id={alice_id}").json()["messages"]
    assert theirs == []
    assert ("tracker", alice_id) not in [c for c in fake.calls if c[0] == "tracker"][1:]


def test_widget_history_hides_operator_names(web):
    app, fake = web
    client = TestClient(app)
    sid = client.get("/widget/session").json()["session_id"]
    fake.trackers[sid] = {
        "events": [user_event("转人工"), bot_event("我来帮您", metadata={"operator": "op1"})],
        "paused": True,
    }
    data = client.get("/widget/history").json()
    assert data["state"] == "operator"
    assert data["messages"][1]["role"] == "operator" and "op1" not in str(data)


def test_widget_history_restores_an_answer_card_masked(web):
    app, fake = web
    client = TestClient(app)
    sid = client.get("/widget/session").json()["session_id"]
    card = {
        "summary": "初步判断：可能符合低保条件。",
        "figures": [{"label": "家庭人均月收入", "value": "800元"}],
        "next_step": "留下电话13812345678，工作人员回电。",
        "details": ["收入低于标准（依据：某文件）"],
    }
    fake.trackers[sid] = {
        "events": [
            user_event("能吃低保吗"),
            bot_event("初步判断：可能符合低保条件。……", data={"custom": {"card": card}}),
            bot_event("还有别的问题吗？"),
        ],
        "paused": False,
    }
    messages = client.get("/widget/history").json()["messages"]
    restored = messages[1]["card"]
    assert restored["summary"] == "初步判断：可能符合低保条件。"
    assert restored["figures"] == [{"label": "家庭人均月收入", "value": "800元"}]
    assert restored["details"] == ["收入低于标准（依据：某文件）"]
    assert "13812345678" not in restored["next_step"] and "5678" in restored["next_step"]
    assert "card" not in messages[2]
