"""Issue 10, class 8: logout and a disabled account end the session at once, including for a copy of
the session cookie taken before (HTTP, real web app)."""

from __future__ import annotations

import pytest
import requests

from bot.store import accounts
from tests.support.data_stack import shared_stack, staff_session

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def stack():
    return shared_stack()


def can_open_desk(stack, session: requests.Session) -> bool:
    response = session.get(f"{stack.web_url}/staff", allow_redirects=False, timeout=30)
    assert response.status_code in (200, 302), response.status_code
    return response.status_code == 200


def test_logout_ends_every_copy_of_the_session(stack):
    session, csrf = staff_session(stack)
    thief = requests.Session()
    thief.cookies.update(session.cookies)
    assert can_open_desk(stack, session) and can_open_desk(stack, thief)
    session.post(f"{stack.web_url}/logout", data={"csrf_token": csrf}, allow_redirects=False, timeout=30)
    assert not can_open_desk(stack, thief)
    assert not can_open_desk(stack, session)


def test_disabling_an_account_ends_its_open_session(stack):
    session, _ = staff_session(stack, "st1")
    assert can_open_desk(stack, session)
    accounts.set_active("st1", False, actor="admin:ad1", url=stack.env["DATABASE_URL"])
    try:
        assert not can_open_desk(stack, session)
    finally:
        accounts.set_active("st1", True, actor="admin:ad1", url=stack.env["DATABASE_URL"])
    assert not can_open_desk(stack, session)  # re-enabling does not revive the old session
