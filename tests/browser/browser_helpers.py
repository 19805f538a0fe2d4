"""Helpers for the browser tests (imported by conftest.py and the test modules)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "build" / "screenshots"  # ignored; `make screenshots` copies them to docs/screenshots/
ACCOUNTS = {"op1": ("operator", "browser-op-pass-1"), "st1": ("staff", "browser-staff-pass-1")}
MOBILE = {"width": 360, "height": 740}
ANSWER_WAIT_MS = 30000
AXE = REPO / "build" / "axe" / "node_modules" / "axe-core" / "axe.min.js"


def shot(page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path


def login(page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(ACCOUNTS[username][1])
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state("networkidle")


class Widget:
    """The resident's side: one browser context (one cookie, one conversation)."""

    def __init__(self, browser, base: str, viewport=MOBILE, init_script: str | None = None) -> None:
        self.context = browser.new_context(viewport=viewport)
        if init_script:  # runs before the page's own scripts (stand-ins for browser APIs)
            self.context.add_init_script(init_script)
        self.page = self.context.new_page()
        self.dialogs: list[str] = []
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.goto(base + "/")
        self.page.locator(".qhdw-status.qhdw-st-online").wait_for(timeout=ANSWER_WAIT_MS)

    def replies(self) -> int:
        return self.page.locator(".qhdw-from-bot, .qhdw-from-operator").count()

    def last_reply(self) -> str:
        return self.page.locator(".qhdw-from-bot .qhdw-bubble, .qhdw-from-operator .qhdw-bubble").last.inner_text()

    def wait_reply(self, before: int) -> str:
        self.page.wait_for_function(
            "n => document.querySelectorAll('.qhdw-from-bot, .qhdw-from-operator').length > n",
            arg=before,
            timeout=ANSWER_WAIT_MS,
        )
        self.page.wait_for_timeout(700)  # a turn may bring several messages
        return self.last_reply()

    def say(self, text: str) -> str:
        before = self.replies()
        box = self.page.get_by_label("输入您的问题")
        box.fill(text)
        box.press("Enter")
        return self.wait_reply(before)

    def click_reply(self, title: str) -> str:
        before = self.replies()
        self.page.locator(".qhdw-reply", has_text=title).first.click()
        return self.wait_reply(before)

    def buttons(self) -> list[str]:
        return [b.inner_text() for b in self.page.locator(".qhdw-reply").all()]

    def log_text(self) -> str:
        return self.page.locator(".qhdw-log").inner_text()

    def open_details(self) -> None:
        """Expand every collapsed 「查看依据和说明」, so the reasons and sources are in the page's text."""
        self.page.evaluate(
            "() => document.querySelectorAll('details.qhdw-card-details').forEach(d => { d.open = true; })"
        )


def axe_violations(page) -> list[str]:
    """WCAG 2 A/AA violations axe-core finds on the page as it is now, one line per rule with its nodes."""
    if not AXE.exists():
        import pytest

        pytest.fail(f"{AXE} is missing: run `make axe` (bash scripts/fetch_web_assets.sh axe)")
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("""() => axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa']}})
        .then(r => r.violations.map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', ')))""")
    return list(found)


def in_viewport(locator) -> bool:
    """The element's box lies inside the browser's viewport and is not hidden by its scrolling box."""
    return locator.evaluate("""el => {
        const r = el.getBoundingClientRect();
        const box = el.closest('.qhdw-scroll');
        const b = box ? box.getBoundingClientRect() : {top: 0, bottom: window.innerHeight};
        return r.height > 0 && r.top >= Math.max(0, b.top) - 1 && r.bottom <= Math.min(window.innerHeight, b.bottom) + 1;
    }""")
