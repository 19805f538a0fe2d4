"""The rulebook page through the real app (TestClient): filters, a refused proposal keeps its input, four
eyes on approval, the approval page's list of flipped decisions, and the new figure on the page."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient
from test_web_support import login, web  # noqa: F401 - pytest fixtures, requested by parameter name

PARAM = "dibao.standard.urban_monthly"
DOC_NO = "秦民字〔2025〕12号"
FORM = {
    "parameter_id": PARAM,
    "value": "900",
    "unit": "元/人/月",
    "kind": "exact",
    "effective_from": "2026-01-01",
    "district": "海港区",
    "residence": "",
    "doc_no": DOC_NO,
    "doc_title": "关于调整城市低保标准的通知",
    "doc_date": "2025-12-10",
    "doc_url": "",
    "note": "",
}
HOUSEHOLD = {
    "program": "dibao",
    "district": "海港区",
    "residence": "urban",
    "household": [{"monthly_income": 1000, "income_type": "wage", "age": 40}] * 3,
}


@pytest.fixture()
def layered(web, monkeypatch):
    from bot.rulebook import current
    from bot.store import rulelayer

    monkeypatch.setenv("POLICY_LAYER", "on")
    monkeypatch.setattr(current, "REFRESH_SECONDS", 0.0)
    current.forget_layer()
    rulelayer.grant_role("st1", "policy_editor")
    yield web
    current.forget_layer()


def _seed_open_request() -> str:
    from bot.eligibility import evaluate
    from bot.store import help_requests

    record = help_requests.create_request(
        {
            "sender_id": "flip-1",
            "name": "周桂兰",
            "phone": "13812340099",
            "district": "海港区",
            "category": "ask_dibao_eligibility",
            "description": "一家三口每月三千",
            "decision_snapshot": {"case": HOUSEHOLD, "result": evaluate(dict(HOUSEHOLD))},
            "consent": True,
        },
        actor="resident",
    )
    return record["reference_no"]


def test_filters_show_only_the_flagged_rows(layered):
    app, _ = layered
    client = TestClient(app)
    login(client, "st1")
    page = client.get("/staff/rulebook", params={"show": "missing"})
    assert page.status_code == 200
    rows = re.findall(r"<tr data-pid=.*?</tr>", page.text, re.S)
    assert rows and all("未找到" in row for row in rows)
    every = re.findall(r"<tr data-pid=", client.get("/staff/rulebook").text)
    assert len(every) > len(rows)
    odd = client.get("/staff/rulebook", params={"on": "2026-99-01", "district": "火星"})
    assert "已改用今天" in odd.text and "已显示全市数值" in odd.text


def test_propose_refuse_keep_input_then_four_eyes_and_the_flip_list(layered):
    app, _ = layered
    reference = _seed_open_request()
    editor = TestClient(app)
    csrf = login(editor, "st1")
    refused = editor.post("/staff/rulebook/proposals", data={**FORM, "value": "500", "csrf_token": csrf})
    assert refused.status_code == 400
    assert re.search(r'id="proposal-error">数值：500 低于全市下限', refused.text)
    assert f'value="{DOC_NO}"' in refused.text  # what was typed is still in the form

    done = editor.post("/staff/rulebook/proposals", data={**FORM, "csrf_token": csrf}, follow_redirects=False)
    assert done.status_code == 303
    number = int(done.headers["location"].rsplit("=", 1)[1])
    assert f"提案 #{number}：待审核" in editor.get(done.headers["location"]).text
    assert editor.post(f"/staff/rulebook/proposals/{number}/approve", data={"csrf_token": csrf}).status_code == 403

    from bot.store import rulelayer

    rulelayer.grant_role("st1", "policy_approver")
    csrf = login(editor, "st1")  # roles are read at login
    own = editor.post(f"/staff/rulebook/proposals/{number}/approve", data={"csrf_token": csrf})
    assert own.status_code == 400 and "不能审批自己提交的数值" in own.text

    approver = TestClient(app)
    csrf_ad = login(approver, "ad1")
    approved = approver.post(f"/staff/rulebook/proposals/{number}/approve", data={"csrf_token": csrf_ad})
    assert approved.status_code == 200 and f"已批准提案 #{number}" in approved.text
    flips = approved.text.split('id="flips"')[1]
    assert reference in flips and "不符合" in flips

    table = approver.get("/staff/rulebook", params={"district": "海港区", "on": "2026-02-01"}).text
    row = re.search(rf"<tr data-pid=\"{re.escape(PARAM)}\">.*?</tr>", table, re.S).group(0)
    assert "900" in row and DOC_NO in row and "2026-01-01" in row and "确切值" in row
    history = approver.get(f"/staff/rulebook/p/{PARAM}").text
    assert f"已批准提案 #{number}" in history


def test_reject_needs_a_reason_and_withdraw_is_the_proposers(layered):
    app, _ = layered
    editor = TestClient(app)
    csrf = login(editor, "st1")
    editor.post("/staff/rulebook/proposals", data={**FORM, "csrf_token": csrf})
    from bot.store import rulelayer

    number = rulelayer.list_proposals("pending")[0]["id"]
    approver = TestClient(app)
    csrf_ad = login(approver, "ad1")
    blank = approver.post(f"/staff/rulebook/proposals/{number}/reject", data={"csrf_token": csrf_ad, "reason": " "})
    assert blank.status_code == 400 and "请填写退回理由" in blank.text
    assert (
        approver.post(f"/staff/rulebook/proposals/{number}/withdraw", data={"csrf_token": csrf_ad}).status_code == 400
    )  # not the proposer
    back = editor.post(
        f"/staff/rulebook/proposals/{number}/withdraw", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert back.status_code == 303 and rulelayer.get_proposal(number)["status"] == "withdrawn"


def test_an_operator_cannot_open_the_rulebook_page(layered):
    app, _ = layered
    client = TestClient(app)
    login(client, "op1")
    assert client.get("/staff/rulebook").status_code == 403
