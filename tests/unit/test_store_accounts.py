"""Accounts (argon2, lock-out, disabling), the users CLI, handoff states and eligibility-check records."""

from __future__ import annotations

import io

import pytest
from test_store_support import count, store_url  # noqa: F401 - pytest fixtures, requested by parameter name

from bot.store import accounts, checks, conversations
from bot.store import cli as users_cli
from bot.store.db import session_scope
from bot.store.models import Account, AuditEntry

PASSWORD = "长城-Great-Wall-2026"


def test_password_is_stored_as_argon2_and_verified(store_url: str) -> None:
    created = accounts.create_account("Li.Wei", PASSWORD, "staff", url=store_url)
    assert created["username"] == "li.wei" and "password_hash" not in created
    with session_scope(store_url) as session:
        stored = session.query(Account).one().password_hash
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    ok = accounts.verify("LI.WEI", PASSWORD, url=store_url)
    assert ok is not None and ok["role"] == "staff" and ok["last_login_at"] is not None
    assert accounts.verify("li.wei", PASSWORD + "x", url=store_url) is None
    assert accounts.verify("nobody", PASSWORD, url=store_url) is None
    assert accounts.verify("", PASSWORD, url=store_url) is None


def test_account_rules(store_url: str) -> None:
    accounts.create_account("zhang", PASSWORD, "operator", url=store_url)
    for args in (
        ("zhang", PASSWORD, "operator"),
        ("ab", PASSWORD, "staff"),
        ("wang", "short", "staff"),
        ("wang", PASSWORD, "boss"),
        ("王五", PASSWORD, "staff"),
    ):
        with pytest.raises(ValueError):
            accounts.create_account(*args, url=store_url)
    assert [a["username"] for a in accounts.list_accounts(url=store_url)] == ["zhang"]


def test_disabled_account_cannot_log_in(store_url: str) -> None:
    accounts.create_account("zhang", PASSWORD, "operator", url=store_url)
    accounts.set_active("zhang", False, actor="admin:root", url=store_url)
    assert accounts.verify("zhang", PASSWORD, url=store_url) is None
    accounts.set_active("zhang", True, url=store_url)
    assert accounts.verify("zhang", PASSWORD, url=store_url) is not None
    assert count(store_url, AuditEntry, AuditEntry.action == "account_disable") == 1


def test_wrong_passwords_never_lock_the_account(store_url: str) -> None:
    accounts.create_account("zhang", PASSWORD, "operator", url=store_url)
    for _ in range(20):
        assert accounts.verify("zhang", "wrong-password-123", url=store_url) is None
    assert accounts.verify("zhang", PASSWORD, url=store_url) is not None  # a stranger cannot lock it


def test_sessions_end_at_logout_disable_and_password_change(store_url: str) -> None:
    import time

    accounts.create_account("zhang", PASSWORD, "operator", url=store_url)
    issued = time.time()
    assert accounts.session_role("zhang", issued, url=store_url) == "operator"
    accounts.end_sessions("zhang", url=store_url)
    assert accounts.session_role("zhang", issued, url=store_url) is None
    later = time.time() + 0.01
    assert accounts.session_role("zhang", later, url=store_url) == "operator"
    accounts.set_password("zhang", PASSWORD + "!", url=store_url)
    assert accounts.session_role("zhang", later, url=store_url) is None
    accounts.set_active("zhang", False, url=store_url)
    assert accounts.session_role("zhang", time.time() + 1, url=store_url) is None
    assert accounts.session_role("nobody", time.time(), url=store_url) is None


def test_users_cli_add_list_disable(
    store_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", store_url)
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert users_cli.main(["add", "zhao", "--role", "staff", "--password-stdin"]) == 0
    assert accounts.verify("zhao", PASSWORD, url=store_url)["role"] == "staff"
    assert users_cli.main(["list"]) == 0
    assert "zhao" in capsys.readouterr().out
    assert users_cli.main(["disable", "zhao"]) == 0
    assert accounts.verify("zhao", PASSWORD, url=store_url) is None
    assert users_cli.main(["disable", "nobody"]) == 2
    assert "不存在" in capsys.readouterr().err
    assert users_cli.main(["add", "qian", "--role", "king", "--password-stdin"]) == 2


def test_users_cli_interactive_passwords_must_match(
    store_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", store_url)
    tty = io.StringIO()
    monkeypatch.setattr(tty, "isatty", lambda: True)
    monkeypatch.setattr("sys.stdin", tty)
    typed = iter([PASSWORD, PASSWORD + "typo"])
    monkeypatch.setattr(users_cli.getpass, "getpass", lambda prompt: next(typed))
    assert users_cli.main(["add", "sun", "--role", "operator"]) == 2
    assert "不一致" in capsys.readouterr().err
    assert accounts.get_account("sun", url=store_url) is None


def test_conversation_states(store_url: str) -> None:
    assert conversations.get_state("s1", url=store_url) is None
    waiting = conversations.set_state("s1", "waiting", reason="居民要求人工，电话13812345678", url=store_url)
    assert waiting["state"] == "waiting" and "13812345678" not in waiting["reason"]
    with pytest.raises(ValueError):
        conversations.set_state("s1", "operator", url=store_url)  # who took it over?
    with pytest.raises(ValueError):
        conversations.set_state("s1", "paused", url=store_url)
    conversations.set_state("s1", "operator", operator="zhang", url=store_url)
    conversations.set_state("s2", "waiting", url=store_url)
    assert conversations.get_state("s1", url=store_url)["operator"] == "zhang"
    assert [s["sender_id"] for s in conversations.list_states(state="waiting", url=store_url)] == ["s2"]
    back = conversations.set_state("s1", "bot", operator="zhang", url=store_url)
    assert back["state"] == "bot" and back["operator"] is None
    assert len(conversations.list_states(url=store_url)) == 2


def test_eligibility_checks_are_recorded_and_summarised(store_url: str) -> None:
    result = {"program": "dibao", "eligible": True, "rulebook_version": "abc123"}
    first = checks.record_check("s1", "dibao", {"program": "dibao"}, result, "resident", url=store_url)
    second = checks.record_check(
        "s2", "dibao", {"program": "dibao"}, {**result, "eligible": None}, "resident", url=store_url
    )
    checks.record_check(None, "job_subsidy", {}, {"eligible": False}, "operator:zhang", url=store_url)
    assert second > first
    summary = {(r["program"], r["eligible"]): r["count"] for r in checks.check_summary(url=store_url)}
    assert summary == {("dibao", True): 1, ("dibao", None): 1, ("job_subsidy", False): 1}
    with pytest.raises(ValueError):
        checks.record_check("s1", "dibao", {}, {"eligible": "maybe"}, "resident", url=store_url)
    with pytest.raises(ValueError):
        checks.record_check("s1", "dibao", {"x": object()}, {"eligible": True}, "resident", url=store_url)
