"""Browser flows that need only the web app: access control for residents, the staff desk (list,
filters, detail, status change with audit, charts), escaping of hostile text, and the widget's
offline state when the assistant cannot be reached."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator

import pytest
from browser_helpers import MOBILE, login, shot

from tests.support.data_stack import REFERENCE
from tests.support.servers import Stack

XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'


def seed_requests() -> list[str]:
    from bot.rulebook import default_rulebook
    from bot.store import help_requests

    districts = list(default_rulebook().districts)
    rows = [
        (districts[0], "ask_temporary_assistance", "urgent", "家里老人突发重病住院，想申请临时救助。" + XSS),
        (districts[1], "ask_dibao_eligibility", "normal", "一家三口，丈夫下岗，问能不能办低保。"),
        (districts[4 % len(districts)], "ask_job_subsidy", "normal", "在外省务工半年，问稳岗补贴。"),
        (districts[0], "ask_medical_assistance", "emergency", "透析费用负担不起。"),
    ]
    refs = []
    for i, (district, category, urgency, text) in enumerate(rows):
        record = help_requests.create_request(
            {
                "sender_id": f"seed-{i}",
                "name": ["王秀兰", "李建国", "张伟", "赵淑芬"][i],
                "phone": f"1381234{i:04d}",
                "district": district,
                "category": category,
                "description": text,
                "urgency": urgency,
                "entered_by": "resident",
                "consent": True,
            },
            actor="resident",
        )
        refs.append(record["reference_no"])
    from bot.store.checks import record_check

    for i, (program, eligible) in enumerate(
        [("dibao", True), ("dibao", False), ("dibao", None), ("job_subsidy", True), ("dibao", True)]
    ):
        record_check(f"seed-{i}", program, {"program": program}, {"program": program, "eligible": eligible}, "resident")
    return refs


@pytest.fixture(scope="module")
def seeded(web):
    return seed_requests()


def test_resident_cannot_open_staff_or_operator_pages(web, browser):
    context = browser.new_context()
    page = context.new_page()
    for path in ("/staff", "/operator", "/staff/charts", "/staff/export.csv", "/staff/review"):
        page.goto(web.web_url + path)
        assert re.search(r"/login\?next=", page.url), path
        assert page.get_by_role("heading", name="工作人员登录").is_visible()
    status = page.evaluate("""async () => (await fetch('/api/operator/conversations')).status""")
    assert status == 401
    shot(page, "login")
    context.close()


def test_operator_cannot_open_staff_desk(web, browser):
    context = browser.new_context()
    page = context.new_page()
    login(page, web.web_url, "op1")
    response = page.goto(web.web_url + "/staff")
    assert response.status == 403 and page.get_by_text("没有权限").is_visible()
    context.close()


def test_staff_desk_status_change_with_audit_and_escaped_text(web, browser, seeded):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    login(page, web.web_url, "st1")
    assert page.url.endswith("/staff")
    for ref in seeded:
        assert page.get_by_role("link", name=ref).is_visible()
    shot(page, "staff-list")

    page.get_by_label("紧急程度").select_option("emergency")
    page.get_by_role("button", name="筛选").click()
    rows = page.locator("table.grid tbody tr")
    assert rows.count() == 1 and seeded[3] in rows.first.inner_text()

    page.goto(f"{web.web_url}/staff/requests/{seeded[0]}")
    assert page.get_by_text(XSS).is_visible()  # shown as text, never run
    assert page.evaluate("window.__xss") is None and not dialogs
    page.get_by_label("新状态").select_option("in_progress")
    page.get_by_label("办理说明").fill("已联系家属，安排入户核查。")
    page.get_by_role("button", name="保存").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_text("已保存").is_visible()
    assert page.locator("h1 .badge").inner_text() == "办理中"
    audit = page.locator("section.wide table").inner_text()
    assert "staff:st1" in audit and "status" in audit and "note" in audit
    shot(page, "staff-detail")

    page.goto(web.web_url + "/staff/charts")
    assert page.locator("svg[role=img]").count() == 4
    shot(page, "staff-charts")
    context.close()


@pytest.fixture(scope="module")
def web_without_assistant(tmp_path_factory) -> Iterator[Stack]:
    """A web app of its own whose Rasa port has no server behind it, whatever other tests started."""
    stack = Stack.create(
        tmp_path_factory.mktemp("offline"),
        PROFILE="embedded",
        JWT_SECRET=secrets.token_urlsafe(32),
        WEB_SECRET=secrets.token_urlsafe(32),
        RASA_TOKEN=secrets.token_urlsafe(16),
    )
    stack.start_web()
    try:
        yield stack
    finally:
        stack.stop_all()


def test_widget_shows_offline_state_when_assistant_unreachable(web_without_assistant, browser):
    """Without a Rasa server on the configured port, the widget must say it is offline and keep input."""
    web = web_without_assistant
    context = browser.new_context(viewport=MOBILE, device_scale_factor=1)
    page = context.new_page()
    page.goto(web.web_url + "/")
    banner = page.locator(".qhdw-offline")
    banner.wait_for(state="visible", timeout=15000)
    assert "断开" in banner.inner_text()
    box = page.get_by_label("输入您的问题")
    box.fill("低保标准是多少")
    page.get_by_role("button", name="发送").click()
    assert "没有发出去" in page.locator(".qhdw-hint").inner_text()
    assert box.input_value() == "低保标准是多少"  # nothing lost
    width = page.evaluate("document.querySelector('.qhdw-panel').getBoundingClientRect().width")
    assert width <= 360
    shot(page, "widget-offline-360")
    context.close()


def test_operator_records_a_request_only_with_the_callers_consent(web, browser):
    """The console's request form cannot be sent until the caller's consent is ticked; then the request is
    stored with its consent time and the reference number is shown to read out to the caller."""
    from bot.store import help_requests

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    login(page, web.web_url, "op1")
    page.goto(web.web_url + "/operator")
    page.get_by_label("姓名", exact=True).fill("周桂芝")
    page.get_by_label("联系电话").fill("13700003333")
    page.get_by_label("情况说明").fill("老伴住院，问临时救助怎么申请。")
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if r.url.endswith("/api/operator/requests") else None)
    page.get_by_role("button", name="登记", exact=True).click()
    consent = page.get_by_label("来电人同意登记", exact=False)
    assert page.evaluate("() => document.getElementById('r-consent').validity.valueMissing")
    page.wait_for_timeout(300)
    assert sent == []  # the browser refused to send the form
    consent.check()
    page.get_by_role("button", name="登记", exact=True).click()
    result = page.locator("#request-result")
    result.get_by_text("已登记").wait_for(timeout=10000)
    found = REFERENCE.search(result.inner_text())
    assert found, result.inner_text()
    reference = found.group(0)
    stored = help_requests.get_request(reference)
    assert stored["entered_by"] == "operator:op1" and stored["consent_at"]
    shot(page, "operator-request-consent")
    context.close()
