"""Issue 10, class 10: personal data. Staff see masked phones unless they reveal (audited); the tracker
stores no raw phone in what residents typed; the consent is recorded with the request; one person's data
can be exported and erased everywhere, tracker included (REST + HTTP, real servers)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import create_engine, text

from tests.support.data_stack import converse, joined, new_sender, register, rows, shared_stack, staff_session

pytestmark = pytest.mark.timeout(900)
PHONE = "13512348765"


@pytest.fixture(scope="module")
def stack():
    return shared_stack()


@pytest.fixture(scope="module")
def registered(stack):
    sender = new_sender()
    return sender, register(stack, sender, 手机号=PHONE)


def tracker_events(stack, sender: str) -> list[dict]:
    engine = create_engine(stack.env["TRACKER_DB_URL"])
    try:
        with engine.connect() as connection:
            return [
                json.loads(r[0])
                for r in connection.execute(
                    text("select data from events where sender_id = :s order by id"), {"s": sender}
                )
            ]
    finally:
        engine.dispose()


def test_notice_comes_before_name_and_phone_and_consent_is_recorded(stack, registered):
    _, reference = registered
    first = joined(stack.say(new_sender(), "我想登记一下求助"))
    assert "同意" in first and "保存多久" in first and "谁能看" in first and "怎么称呼" not in first
    row = rows(stack, "select consent_at from qhd_help_requests where reference_no = :r", r=reference)[0]
    assert row["consent_at"] is not None


def test_declining_the_notice_keeps_nothing(stack):
    sender = new_sender()
    joined(stack.say(sender, "我想登记一下求助"))
    reply = joined(stack.say(sender, "不同意"))
    assert "不登记" in reply and "怎么称呼" not in reply
    follow = joined(stack.say(sender, "你好"))
    assert "怎么称呼" not in follow


def test_tracker_keeps_no_raw_phone_once_the_request_is_saved(stack, registered):
    sender, _ = registered
    events = tracker_events(stack, sender)
    assert events, "no tracker events stored"
    assert PHONE not in json.dumps(events, ensure_ascii=False)
    assert any("135****8765" in json.dumps(e, ensure_ascii=False) for e in events)


def test_staff_see_a_masked_phone_and_reveal_it_with_an_audit_entry(stack, registered):
    _, reference = registered
    session, csrf = staff_session(stack)
    page = session.get(f"{stack.web_url}/staff/requests/{reference}", timeout=30)
    assert page.status_code == 200 and PHONE not in page.text and "135****8765" in page.text
    assert "显示完整号码" in page.text
    revealed = session.post(f"{stack.web_url}/staff/requests/{reference}/reveal", data={"csrf_token": csrf}, timeout=30)
    assert revealed.status_code == 200 and PHONE in revealed.text
    audit = rows(
        stack,
        "select a.actor from qhd_audit_entries a join qhd_help_requests r on r.id = a.request_id"
        " where r.reference_no = :r and a.action = 'phone_revealed'",
        r=reference,
    )
    assert [a["actor"] for a in audit] == ["staff:st1"]
    forged = session.post(f"{stack.web_url}/staff/requests/{reference}/reveal", data={"csrf_token": "x"}, timeout=30)
    assert forged.status_code == 403 and PHONE not in forged.text


def test_export_then_erase_one_person_everywhere(stack):
    sender = new_sender()
    reference = register(stack, sender, 手机号="13511112222")
    converse(stack, sender, f"查一下求助进度 {reference}", {"后四位": "2222"})
    session, csrf = staff_session(stack)
    exported = session.post(
        f"{stack.web_url}/staff/privacy",
        timeout=60,
        data={"csrf_token": csrf, "reference_no": reference, "action": "export"},
    )
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("application/json")
    data = exported.json()
    assert [r["reference_no"] for r in data["help_requests"]] == [reference] and data["conversation_events"]
    refused = session.post(
        f"{stack.web_url}/staff/privacy",
        timeout=60,
        data={"csrf_token": csrf, "phone": "13511112222", "action": "erase", "confirm": ""},
    )
    assert refused.status_code == 400 and rows(
        stack, "select id from qhd_help_requests where reference_no = :r", r=reference
    )
    erased = session.post(
        f"{stack.web_url}/staff/privacy",
        timeout=60,
        data={"csrf_token": csrf, "phone": "135 1111 2222", "action": "erase", "confirm": "删除"},
    )
    assert erased.status_code == 200 and "已删除" in erased.text
    assert rows(stack, "select id from qhd_help_requests where phone = '13511112222'") == []
    assert tracker_events(stack, sender) == []
    audit = rows(stack, "select actor, action from qhd_audit_entries where action like 'personal_data_%'")
    assert ("staff:st1", "personal_data_export") in [(a["actor"], a["action"]) for a in audit]
    assert ("staff:st1", "personal_data_erase") in [(a["actor"], a["action"]) for a in audit]
