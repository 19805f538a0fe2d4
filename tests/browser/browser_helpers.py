"""Helpers for the browser tests (imported by conftest.py and the test modules)."""
from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "docs" / "screenshots"
ACCOUNTS = {"op1": ("operator", "browser-op-pass-1"), "st1": ("staff", "browser-staff-pass-1")}
MOBILE = {"width": 360, "height": 740}


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
