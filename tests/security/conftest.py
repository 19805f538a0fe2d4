"""One real stack for the security tests: action server, Rasa and the web app, default `make run` layout
(everything on 127.0.0.1, Rasa reached by residents only through the web app), random secrets."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from tests.support.servers import Stack, require_model


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    model = require_model()
    running = Stack.create(tmp_path_factory.mktemp("security"))
    try:
        running.start_actions()
        running.start_rasa(model)
        running.start_web()
        # the first parse loads jieba's dictionary: keep it out of the timed tests
        requests.post(
            f"{running.rasa_url}/model/parse", headers=running.api_headers, json={"text": "你好"}, timeout=120
        ).raise_for_status()
        yield running
    finally:
        running.stop_all()


@pytest.fixture(scope="session")
def widget_session(stack: Stack) -> dict:
    """What a browser gets from the web app: its conversation id and a socket token (plus its cookies)."""
    browser = requests.Session()
    info = browser.get(f"{stack.web_url}/widget/session", timeout=10).json()
    info["browser"] = browser
    return info
