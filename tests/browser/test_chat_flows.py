"""Browser flows through the real assistant (Rasa + action server + web app): a resident's chat through
to a help request, history after reload, hostile text shown as text, an operator takeover whose reply
reaches the widget, and a staff status change that the resident's status query then reports.

Skipped (see conftest.bot_stack) when no trained model matches the current data.
"""

from __future__ import annotations

import re

import pytest
from browser_helpers import ANSWER_WAIT_MS, Widget, login, shot

from tests.support.data_stack import REFERENCE

REF_RE = REFERENCE
XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'
PHONE = "13912345678"


def answer_form_question(widget: Widget, question: str) -> str:
    """Answer whatever the help-request form asks, by what the question is about."""
    buttons = widget.buttons()

    def pick(*words: str) -> str | None:
        return next((b for b in buttons for w in words if w in b), None)

    if "同意" in question:  # the personal-data notice comes first
        choice = pick("同意登记")
        return widget.click_reply(choice) if choice else widget.say("同意")
    if re.search(r"确认|核对|对吗|是否正确|无误|提交", question):
        choice = pick("确认", "对", "是", "提交")
        return widget.click_reply(choice) if choice else widget.say("对")
    if re.search(r"紧急|急不急", question):
        choice = pick("一般", "不急")
        return widget.click_reply(choice) if choice else widget.say("一般")
    if re.search(r"姓名|称呼|名字", question):
        return widget.say("王秀兰")
    if re.search(r"电话|手机|联系", question):
        return widget.say(PHONE)
    if re.search(r"类别|哪方面|哪一类|哪类|什么方面", question):
        choice = pick("临时救助")
        return widget.click_reply(choice) if choice else widget.say("临时救助")
    if re.search(r"区|县|住|乡镇|街道|村|哪里", question):
        return widget.say("海港区建设大街")
    if re.search(r"情况|说明|描述|具体|什么事|遇到", question):
        return widget.say("老人住院，医药费负担不起，想申请临时救助")
    if buttons:
        return widget.click_reply(buttons[0])
    return widget.say("好的")


def test_resident_chat_to_help_request_reload_and_escaping(bot_stack, browser):
    w = Widget(browser, bot_stack.web_url)
    greeting = w.say("你好")
    assert greeting
    shot(w.page, "widget-360")

    reply = w.say("我想登记求助")
    for _ in range(14):
        if REF_RE.search(reply):
            break
        reply = answer_form_question(w, reply)
    match = REF_RE.search(w.log_text())
    assert match, f"no reference number in the chat:\n{w.log_text()}"
    reference = match.group(0)
    from bot.store import help_requests

    stored = help_requests.get_request(reference)
    assert stored and stored["phone"] == PHONE and stored["entered_by"] == "resident"

    w.page.reload()
    w.page.locator(".qhdw-status.qhdw-st-online").wait_for(timeout=ANSWER_WAIT_MS)
    w.page.wait_for_function("() => document.querySelectorAll('.qhdw-from-user').length > 2", timeout=ANSWER_WAIT_MS)
    history = w.log_text()
    assert "我想登记求助" in history and reference in history
    assert PHONE not in history  # the restored history masks the phone number

    w.say(XSS)
    assert XSS in w.log_text()
    assert w.page.evaluate("window.__xss") is None and not w.dialogs

    w.page.get_by_role("button", name="大字").click()
    assert w.page.get_by_role("button", name="大字").get_attribute("aria-pressed") == "true"
    font = w.page.evaluate("parseFloat(getComputedStyle(document.querySelector('.qhdw-bubble')).fontSize)")
    assert font >= 20
    shot(w.page, "widget-large-360")
    w.context.close()


def test_operator_takeover_and_reply_reach_the_widget(bot_stack, browser):
    w = Widget(browser, bot_stack.web_url)
    w.say("你好")
    w.say("我想问问低保标准")
    session_id = w.page.evaluate("fetch('/widget/session').then(r => r.json()).then(d => d.session_id)")

    op_ctx = browser.new_context(viewport={"width": 1366, "height": 900})
    op = op_ctx.new_page()
    login(op, bot_stack.web_url, "op1")
    item = op.locator(".conv-btn", has_text=session_id[-8:])
    item.wait_for(timeout=15000)
    item.click()
    before = w.replies()
    op.get_by_role("button", name="接管").click()
    op.locator("#chat-state.state-operator").wait_for(timeout=10000)
    greeting = w.wait_reply(before)
    assert w.page.locator(".qhdw-mode").is_visible() and "人工" in greeting

    before = w.replies()
    op.get_by_label("以人工客服身份回复（需先接管）").fill("您好，我是话务员小李，请问您住在哪个区？")
    op.get_by_role("button", name="发送").click()
    text = w.wait_reply(before)
    assert "话务员小李" in text
    assert w.page.locator(".qhdw-from-operator").count() >= 2

    # A resident message while paused reaches the operator, and the bot stays silent.
    bot_before = w.page.locator(".qhdw-from-bot").count()
    w.page.get_by_label("输入您的问题").fill("我住海港区")
    w.page.get_by_label("输入您的问题").press("Enter")
    op.locator(".transcript .from-user", has_text="我住海港区").wait_for(timeout=10000)
    w.page.wait_for_timeout(2000)
    assert w.page.locator(".qhdw-from-bot").count() == bot_before
    shot(op, "operator-console")

    op.get_by_role("button", name="交回智能助手").click()
    op.locator("#chat-state.state-bot").wait_for(timeout=10000)
    w.page.wait_for_function("() => document.querySelector('.qhdw-mode').hidden", timeout=10000)
    op_ctx.close()
    w.context.close()


def test_staff_status_change_is_what_the_resident_status_query_reports(bot_stack, browser):
    from bot.rulebook import default_rulebook
    from bot.store import help_requests
    from bot.store.categories import STATUSES

    record = help_requests.create_request(
        {
            "sender_id": "seed-status",
            "name": "刘桂英",
            "phone": "13700001234",
            "district": list(default_rulebook().districts)[0],
            "category": "ask_medical_assistance",
            "description": "住院费用报销后仍负担不起",
            "urgency": "normal",
            "entered_by": "resident",
            "consent": True,
        },
        actor="resident",
    )
    ref = record["reference_no"]

    staff_ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    staff = staff_ctx.new_page()
    login(staff, bot_stack.web_url, "st1")
    staff.goto(f"{bot_stack.web_url}/staff/requests/{ref}")
    staff.get_by_label("新状态").select_option("in_progress")
    staff.get_by_label("办理说明").fill("已转医疗救助经办人员核实")
    staff.get_by_role("button", name="保存").click()
    staff.get_by_text("已保存").wait_for()
    staff_ctx.close()

    w = Widget(browser, bot_stack.web_url)
    reply = w.say(f"查一下{ref}的办理进度")
    for _ in range(3):
        if STATUSES["in_progress"] in reply:
            break
        reply = w.say("1234") if re.search(r"后四位|尾号|手机", reply) else w.say(ref)
    assert STATUSES["in_progress"] in w.log_text()
    w.context.close()


def test_a_resident_never_sees_another_residents_conversation(bot_stack, browser):
    alice = Widget(browser, bot_stack.web_url)
    alice.say("我叫王秀兰，电话13912345678")
    bob = Widget(browser, bot_stack.web_url)
    bob.page.wait_for_timeout(1500)
    assert "王秀兰" not in bob.log_text()
    alice_id = alice.page.evaluate("fetch('/widget/session').then(r => r.json()).then(d => d.session_id)")
    other = bob.page.evaluate("id => fetch('/widget/history?session_id=' + id).then(r => r.json())", alice_id)
    assert "王秀兰" not in str(other)
    alice.context.close()
    bob.context.close()


@pytest.fixture(autouse=True)
def _model_needed(bot_stack):
    """Every test here needs the running assistant; the fixture skips them all without a model."""
    return bot_stack
