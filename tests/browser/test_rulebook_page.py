"""A figure from a document into answers, through the real servers: one staff member proposes 海港区's
urban dibao standard with its 文号, a second approves, and the resident widget's answers use it at once
(no restart); the approval page lists the open help request whose decision now flips.

The 900 and the 文号 are this test's own input, typed here like a staff member would.
"""

from __future__ import annotations

import re

import pytest
from browser_helpers import REPO
from test_chat_flows import Widget

DOC_NO = "秦民字〔2025〕12号"
NEW_STANDARD = "900"
PASSWORDS = {"rb_editor": "rulebook-editor-pass-1", "rb_approver": "rulebook-approver-pass-1"}
IGNORED_SHOTS = REPO / "var" / "screenshots"  # tests never rewrite tracked files (issue 17)
PARAM = "dibao.standard.urban_monthly"
HOUSEHOLD = {
    "program": "dibao",
    "district": "海港区",
    "residence": "urban",
    "household": [
        {"monthly_income": 1000, "income_type": "wage", "age": 40},
        {"monthly_income": 1000, "income_type": "wage", "age": 38},
        {"monthly_income": 1000, "income_type": "wage", "age": 12},
    ],
}


@pytest.fixture(scope="module")
def policy_staff(web):
    from bot.store import accounts, rulelayer

    accounts.create_account("rb_editor", PASSWORDS["rb_editor"], "staff")
    accounts.create_account("rb_approver", PASSWORDS["rb_approver"], "staff")
    rulelayer.grant_role("rb_editor", "policy_editor")
    rulelayer.grant_role("rb_approver", "policy_approver")
    return web


def _login(browser, base: str, username: str):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORDS[username])
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state("networkidle")
    return context, page


def _open_request_with_snapshot() -> str:
    """An open help request whose stored decision was made under the files alone."""
    from bot.eligibility import evaluate
    from bot.store import help_requests

    result = evaluate(dict(HOUSEHOLD))
    record = help_requests.create_request(
        {
            "sender_id": "rulebook-flip",
            "name": "周桂兰",
            "phone": "13812340099",
            "district": "海港区",
            "category": "ask_dibao_eligibility",
            "description": "一家三口，每月收入三千，问能不能办低保。",
            "urgency": "normal",
            "entered_by": "resident",
            "decision_snapshot": {"case": HOUSEHOLD, "result": result},
            "consent": True,
        },
        actor="resident",
    )
    return record["reference_no"]


def test_a_figure_proposed_and_approved_reaches_the_answers(policy_staff, bot_stack, browser):
    base = bot_stack.web_url
    reference = _open_request_with_snapshot()

    widget = Widget(browser, base)
    before = widget.say("海港区城市低保标准是多少")
    assert DOC_NO not in before

    editor, page = _login(browser, base, "rb_editor")
    page.goto(f"{base}/staff/rulebook?district=海港区&residence=urban")
    row = page.locator(f"tr[data-pid='{PARAM}']")
    assert "下限" in row.inner_text()
    row.get_by_role("link", name="城市低保标准（每人每月）").click()
    page.get_by_label("数值（元/人/月）").fill("500")
    page.get_by_label("生效日期").fill("2026-01-01")
    page.get_by_label("县区（不选为全市）").select_option("海港区")
    page.get_by_label("文号").fill(DOC_NO)
    page.get_by_label("文件标题").fill("关于调整海港区城乡低保标准的通知")
    page.get_by_label("发文日期").fill("2025-12-10")
    page.get_by_role("button", name="提交审核").click()
    error = page.locator("#proposal-error").inner_text()
    assert error.startswith("数值：500 低于全市下限")  # refused, naming the field
    assert page.get_by_label("文号").input_value() == DOC_NO  # and nothing typed is lost
    page.get_by_label("数值（元/人/月）").fill(NEW_STANDARD)
    page.get_by_role("button", name="提交审核").click()
    assert re.search(r"提案 #\d+：待审核", page.get_by_role("status").inner_text())
    assert page.get_by_role("button", name=re.compile("批准")).count() == 0  # never one's own
    editor.close()

    approver, page = _login(browser, base, "rb_approver")
    page.goto(f"{base}/staff/rulebook")
    pending = page.locator("section", has_text="待审核的提案")
    assert DOC_NO in pending.inner_text() and "rb_editor" in pending.inner_text()
    IGNORED_SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IGNORED_SHOTS / "rulebook.png"), full_page=False)
    pending.get_by_role("button", name=re.compile("批准")).click()
    assert page.get_by_role("heading", name=re.compile("已批准提案")).is_visible()
    flips = page.locator("#flips").inner_text()
    assert reference in flips and "不符合" in flips
    page.goto(f"{base}/staff/rulebook/p/{PARAM}")
    history = page.locator("#history").inner_text()
    assert "2026-01-01" in history and NEW_STANDARD in history and DOC_NO in history
    page.screenshot(path=str(IGNORED_SHOTS / "rulebook-history.png"), full_page=False)
    approver.close()

    page = widget.page
    page.wait_for_timeout(1500)  # the action server re-reads the layer version at most once a second
    widget.say("海港区城市低保标准是多少")
    widget.open_details()  # the document number is among the card's sources
    answer = widget.last_reply()
    assert NEW_STANDARD in answer and DOC_NO in answer and "2026-01-01" in answer

    reply = widget.say("我家三口人住在海港区城镇 一个月收入三千 能吃低保吗")
    for _ in range(8):
        if "不符合" in reply or "符合条件" in reply:
            break
        if "对吗" in reply:
            reply = widget.say("对")
        elif "支出" in reply or "私家车" in reply or "存款" in reply:
            reply = widget.say("没有")
        else:
            reply = widget.say("不知道")
    widget.open_details()
    decision = widget.log_text().split("我家三口人住在海港区城镇")[-1]
    assert "不符合" in decision, decision
    assert NEW_STANDARD in decision and DOC_NO in decision
    widget.context.close()
