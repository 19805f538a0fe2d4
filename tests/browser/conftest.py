"""Real servers and a real browser for the end-to-end tests.

- `web`: the web app in a subprocess on a free port, on a temporary database with one account per role.
- `bot_stack`: additionally the Rasa server (our socket.io channel) and the action server, sharing the
  same databases and secrets (tests/support/servers.Stack).
- `browser`: Debian's chromium driven by Playwright.
Screenshots go to build/screenshots/ (ignored); `make screenshots` copies them into docs/screenshots/.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

sys.path.insert(0, str(Path(__file__).parent))
from browser_helpers import ACCOUNTS

from tests.support.servers import Stack, require_model

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="session")
def stack_env(tmp_path_factory) -> Iterator[Stack]:
    stack = Stack.create(tmp_path_factory.mktemp("stack"), PROFILE="embedded")
    saved = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = stack.env["DATABASE_URL"]
    from bot.store import accounts

    for name, (role, password) in ACCOUNTS.items():
        accounts.create_account(name, password, role)
    try:
        yield stack
    finally:
        stack.stop_all()
        if saved is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = saved


@pytest.fixture(scope="session")
def web(stack_env: Stack) -> Stack:
    if "web" not in stack_env.procs:
        stack_env.start_web()
    return stack_env


@pytest.fixture(scope="session")
def bot_stack(web: Stack) -> Stack:
    model = require_model()
    if "rasa" not in web.procs:
        web.start_actions()
        web.start_rasa(model)
        # Warm up (jieba dictionary load) so the first resident message is answered promptly.
        requests.post(f"{web.rasa_url}/model/parse", headers=web.api_headers, json={"text": "你好"}, timeout=60)
    return web


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()
