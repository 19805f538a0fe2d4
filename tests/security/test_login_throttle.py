"""Issue 10, class 11 (login): wrong passwords slow the caller down instead of locking the account, the
slow-down is announced (WARNING log line + audit entry), over HTTP against the real web app."""

from __future__ import annotations

import time

import pytest
import requests

from tests.support.data_stack import PASSWORDS, csrf_of, rows, shared_stack

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def stack():
    return shared_stack()


def attempt(stack, session: requests.Session, password: str) -> requests.Response:
    return session.post(
        f"{stack.web_url}/login",
        data={"username": "st1", "password": password, "csrf_token": csrf_of(session, stack)},
        allow_redirects=False,
        timeout=30,
    )


def wait_out(response: requests.Response) -> None:
    import re

    seconds = int(re.search(r"请 (\d+) 秒后再试", response.text).group(1))
    assert seconds <= 60  # the account's wait is capped: slowed, never locked for a quarter of an hour
    time.sleep(seconds)


def test_wrong_passwords_slow_down_but_never_lock_the_operator_out(stack):
    session = requests.Session()
    statuses = []
    for _ in range(7):  # more than the five that used to lock the account
        response = attempt(stack, session, "not-the-password")
        if response.status_code == 429:
            assert "秒后再试" in response.text
            wait_out(response)
            response = attempt(stack, session, "not-the-password")
        statuses.append(response.status_code)
    assert statuses == [401] * 7
    slowed = attempt(stack, session, PASSWORDS["st1"])
    assert slowed.status_code == 429  # even the right password waits its turn...
    wait_out(slowed)
    assert attempt(stack, session, PASSWORDS["st1"]).status_code == 303  # ...and then works: no lock
    alerts = rows(stack, "select detail from qhd_audit_entries where action = 'login_throttled'")
    assert alerts and "st1" in str(alerts[0]["detail"])
    log = (stack.workdir / "web.log").read_text(errors="replace")
    assert "login slowed down: 5 wrong passwords for account 'st1'" in log  # logged with logger.warning
