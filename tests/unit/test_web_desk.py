"""Operator console and staff desk behaviour: takeover rules, operator replies, help requests on a caller's
behalf, the eligibility door, filters, the status workflow with audit, exports, and changed decisions."""

from __future__ import annotations

import csv
import io
import sys
import types

import pytest
from starlette.testclient import TestClient
from test_web_support import bot_event, login, user_event, web  # noqa: F401 - pytest fixtures, requested by parameter name

SENDER = "web-00112233445566778899"


def districts() -> list[str]:
    from bot.rulebook import default_rulebook

    return list(default_rulebook().districts)


def make_request(**over) -> dict:
    from bot.store import help_requests

    data = {
        "sender_id": SENDER,
        "name": "张三",
        "phone": "13812345678",
        "district": districts()[0],
        "category": "ask_temporary_assistance",
        "description": "家里老人住院，想问临时救助",
        "urgency": "normal",
        "entered_by": "resident",
        "consent": True,
    }
    data.update(over)
    return help_requests.create_request(data, actor="resident")


# ------------------------------------------------------------------ operator console
def test_takeover_reply_and_handback(web):
    app, fake = web
    fake.trackers[SENDER] = {"events": [user_event("我要找人工，电话13812345678")], "paused": False}
    client = TestClient(app)
    csrf = login(client, "op1")
    h = {"X-CSRF-Token": csrf}
    base = f"/api/operator/conversations/{SENDER}"

    early = client.post(base + "/message", json={"text": "您好"}, headers=h)
    assert early.status_code == 409  # replying as a person needs a takeover first

    assert client.post(base + "/takeover", headers=h).json() == {"state": "operator", "operator": "op1"}
    assert ("pause", SENDER) in fake.calls
    listing = client.get("/api/operator/conversations").json()["conversations"]
    assert [(c["sender_id"], c["state"], c["operator"]) for c in listing] == [(SENDER, "operator", "op1")]

    assert client.post(base + "/message", json={"text": "请问您住哪个区？"}, headers=h).status_code == 200
    assert ("operator_message", SENDER, "请问您住哪个区？", "op1", None) in fake.calls

    transcript = client.get(base + "/transcript").json()
    assert transcript["state"] == "operator" and "13812345678" not in str(transcript)

    other = TestClient(app)
    other_h = {"X-CSRF-Token": login(other, "op2")}
    assert other.post(base + "/takeover", headers=other_h).status_code == 409
    assert other.post(base + "/message", json={"text": "插话"}, headers=other_h).status_code == 409

    assert client.post(base + "/handback", headers=h).json() == {"state": "bot"}
    assert fake.calls[-1] == ("resume", SENDER)
    assert client.post(base + "/message", json={"text": "还在吗"}, headers=h).status_code == 409


def test_takeover_of_unknown_conversation_is_404(web):
    app, fake = web
    client = TestClient(app)
    h = {"X-CSRF-Token": login(client, "op1")}
    assert client.post("/api/operator/conversations/web-nobody/takeover", headers=h).status_code == 404
    assert not [c for c in fake.calls if c[0] == "pause"]


def test_operator_records_help_request_once_per_idempotency_key(web):
    app, _ = web
    client = TestClient(app)
    h = {"X-CSRF-Token": login(client, "op1")}
    body = {
        "name": "李四",
        "phone": "13900001111",
        "district": districts()[1],
        "category": "ask_medical_assistance",
        "description": "住院费用太高",
        "urgency": "urgent",
        "idempotency_key": "op-key-1",
        "sender_id": SENDER,
        "consent": True,
    }
    first = client.post("/api/operator/requests", json=body, headers=h)
    again = client.post("/api/operator/requests", json=body, headers=h)
    assert first.status_code == 200 and first.json()["reference_no"] == again.json()["reference_no"]
    from bot.store import help_requests

    stored = help_requests.get_request(first.json()["reference_no"])
    assert stored["entered_by"] == "operator:op1" and stored["sender_id"] == SENDER
    assert stored["consent_at"]  # the caller's consent is on record
    refused = client.post(
        "/api/operator/requests",
        json={**body, "consent": False, "idempotency_key": "k3", "phone": "13900002222"},
        headers=h,
    )
    assert refused.status_code == 400 and "来电人同意" in refused.json()["error"]["message_zh"]
    phones = [r["phone"] for r in help_requests.list_requests()]
    assert "13900001111" in phones and "13900002222" not in phones  # nothing stored without consent
    bad = client.post("/api/operator/requests", json={**body, "phone": "123", "idempotency_key": "k2"}, headers=h)
    assert bad.status_code == 400 and "电话" in bad.json()["error"]["message_zh"]


@pytest.fixture()
def fake_engine(monkeypatch):
    """A stand-in eligibility engine module with the contract's names (evaluate, CaseError, intake.check)."""
    module = types.ModuleType("bot.eligibility")

    class CaseError(Exception):
        def __init__(self, code, message_zh, field=None):
            super().__init__(message_zh)
            self.code, self.message_zh, self.field = code, message_zh, field

        def to_json(self):
            return {"error": {"code": self.code, "message_zh": self.message_zh, "field": self.field}}

    def evaluate(case, rulebook=None):
        if not case.get("household"):
            raise CaseError("empty_household", "家庭成员不能为空", "household")
        income = sum(m.get("monthly_income", 0) for m in case["household"]) / len(case["household"])
        return {"program": case["program"], "eligible": income < module.threshold, "rulebook_version": "test"}

    from bot.eligibility import present  # the real presenter words the fake outcome

    module.CaseError, module.evaluate, module.threshold, module.present = CaseError, evaluate, 500, present
    intake = types.ModuleType("bot.eligibility.intake")
    intake.check = lambda facts, rulebook=None: (facts, evaluate(facts))  # the doors' one entry point
    monkeypatch.setitem(sys.modules, "bot.eligibility", module)
    monkeypatch.setitem(sys.modules, "bot.eligibility.intake", intake)
    from bot.web import operator, staff

    for door in (operator, staff):  # the doors bound the engine's names when they were imported
        monkeypatch.setattr(door, "check", intake.check)
        monkeypatch.setattr(door, "CaseError", CaseError)
    return module


def test_eligibility_door_records_operator_checks_only(web, fake_engine):
    from bot.store.checks import check_summary

    app, _ = web
    case = {
        "program": "dibao",
        "district": districts()[0],
        "residence": "urban",
        "household": [{"relation": "self", "age": 50, "monthly_income": 300}],
    }
    op = TestClient(app)
    h = {"X-CSRF-Token": login(op, "op1")}
    ok = op.post(f"/api/eligibility?sender_id={SENDER}", json=case, headers=h)
    assert ok.status_code == 200 and ok.json()["eligible"] is True
    bad = op.post("/api/eligibility", json={**case, "household": []}, headers=h)
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "household"
    not_json = op.post("/api/eligibility", content=b"[1,2", headers={**h, "Content-Type": "application/json"})
    assert not_json.status_code == 400 and not_json.json()["error"]["message_zh"]

    staff = TestClient(app)
    sh = {"X-CSRF-Token": login(staff, "st1")}
    assert staff.post("/api/eligibility", json=case, headers=sh).status_code == 200
    assert check_summary() == [{"program": "dibao", "eligible": True, "count": 1}]


# ------------------------------------------------------------------ staff desk
def test_filters_and_search(web):
    app, _ = web
    d0, d1 = districts()[0], districts()[1]
    a = make_request(name="王五", district=d0, urgency="urgent")
    b = make_request(name="赵六", district=d1, category="ask_job_subsidy", phone="13700002222")
    client = TestClient(app)
    login(client, "st1")
    assert a["reference_no"] in client.get(f"/staff?district={d0}").text
    assert b["reference_no"] not in client.get(f"/staff?district={d0}").text
    assert b["reference_no"] in client.get("/staff?category=ask_job_subsidy").text
    assert a["reference_no"] not in client.get("/staff?q=赵六").text
    page = client.get("/staff?status=bogus&date_from=yesterday")
    assert page.status_code == 200 and "已忽略" in page.text and a["reference_no"] in page.text
    assert "13812345678" not in client.get("/staff").text  # the list shows masked phones


def test_status_workflow_with_note_assignee_and_audit(web):
    app, _ = web
    ref = make_request()["reference_no"]
    client = TestClient(app)
    csrf = login(client, "st1")
    url = f"/staff/requests/{ref}/status"
    no_csrf = client.post(url, data={"status": "in_progress"})
    assert no_csrf.status_code == 403
    skip = client.post(url, data={"status": "resolved", "csrf_token": csrf})
    assert skip.status_code == 400 and "不能从" in skip.text
    moved = client.post(
        url,
        data={"status": "in_progress", "note": "已电话联系", "assignee": "st1", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert moved.status_code == 303
    from bot.store import help_requests

    record = help_requests.get_request(ref)
    assert record["status"] == "in_progress" and record["assignee"] == "st1"
    assert {a["action"] for a in record["audit"]} >= {"create", "status", "assign", "note"}
    assert all(a["actor"] == "staff:st1" for a in record["audit"] if a["action"] != "create")
    detail = client.get(f"/staff/requests/{ref}").text
    assert "已电话联系" in detail and "13812345678" not in detail and "138****5678" in detail
    revealed = client.post(f"/staff/requests/{ref}/reveal", data={"csrf_token": csrf}).text
    assert "13812345678" in revealed  # on request, and audited
    assert help_requests.get_request(ref)["audit"][-1]["action"] == "phone_revealed"


def test_user_text_is_escaped_in_pages(web):
    app, _ = web
    ref = make_request(description='<script>alert("x")</script><img src=x onerror=alert(1)>')["reference_no"]
    client = TestClient(app)
    login(client, "st1")
    html = client.get(f"/staff/requests/{ref}").text
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html
    assert "<img src=x" not in html


def test_csv_and_xlsx_exports_parse_back(web):
    from openpyxl import load_workbook

    app, _ = web
    make_request(name='=HYPERLINK("http://x")', district=districts()[0])
    make_request(name="钱七", district=districts()[1], phone="13600003333")
    client = TestClient(app)
    login(client, "st1")
    resp = client.get(f"/staff/export.csv?district={districts()[1]}")
    assert resp.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(resp.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["编号", "登记时间", "姓名", "电话"]
    assert [r[2] for r in rows[1:]] == ["钱七"] and rows[1][3] != "13600003333" and rows[1][3].endswith("3333")
    every = list(csv.reader(io.StringIO(client.get("/staff/export.csv").content.decode("utf-8-sig"))))
    assert '\'=HYPERLINK("http://x")' in [r[2] for r in every[1:]]  # formula defused
    book = load_workbook(io.BytesIO(client.get("/staff/export.xlsx").content))
    sheet = book.active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][0] == "编号" and len(values) == 3
    assert {v[2] for v in values[1:]} == {"钱七", '\'=HYPERLINK("http://x")'}


def test_charts_count_requests(web):
    app, _ = web
    d0 = districts()[0]
    make_request(district=d0)
    make_request(district=d0, phone="13500004444")
    client = TestClient(app)
    login(client, "st1")
    html = client.get("/staff/charts").text
    assert "各区县求助数" in html and f">{d0}</text>" in html and ">2</text>" in html


def test_changed_decisions_lists_open_requests_whose_outcome_differs(web, fake_engine):
    app, _ = web
    case = {"program": "dibao", "household": [{"relation": "self", "monthly_income": 450}]}
    snap_yes = {"case": case, "result": {"program": "dibao", "eligible": True, "rulebook_version": "old"}}
    first = make_request(decision_snapshot=snap_yes)["reference_no"]
    fake_engine.threshold = 400  # the rule tightened: income 450 no longer qualifies, for every request
    changed = make_request(decision_snapshot=snap_yes, phone="13300005555")["reference_no"]
    closed = make_request(decision_snapshot=snap_yes, phone="13300006666")["reference_no"]
    from bot.store import help_requests

    help_requests.update_status(closed, "in_progress", "staff:st1")
    help_requests.update_status(closed, "resolved", "staff:st1")
    still_yes = make_request(
        phone="13300007777",
        decision_snapshot={"case": {**case, "household": [{"monthly_income": 100}]}, "result": {"eligible": True}},
    )["reference_no"]
    client = TestClient(app)
    login(client, "st1")
    html = client.get("/staff/review").text
    assert first in html and changed in html
    assert closed not in html and still_yes not in html
