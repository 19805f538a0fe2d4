"""Prometheus metrics of each process and the JSON log format with personal data masked."""

from __future__ import annotations

import asyncio
import io
import json
import logging

import pytest
from prometheus_client import REGISTRY
from starlette.testclient import TestClient
from test_web_support import web  # noqa: F401 - pytest fixtures, requested by parameter name

from bot import metrics
from bot.logs import JsonFormatter, setup_logging

PHONE = "13812345678"


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_turn_is_counted_and_timed_per_channel() -> None:
    before = value("qhd_turns_total", channel="unit-test")
    seen = value("qhd_turn_seconds_count", channel="unit-test")
    with metrics.turn("unit-test"):
        pass
    with pytest.raises(RuntimeError), metrics.turn("unit-test"):  # a failed turn still counts
        raise RuntimeError("boom")
    assert value("qhd_turns_total", channel="unit-test") == before + 2
    assert value("qhd_turn_seconds_count", channel="unit-test") == seen + 2


def test_the_action_server_counts_errors_fallbacks_handoffs_and_bounds_its_labels() -> None:
    from rasa_sdk import Action
    from rasa_sdk.events import ConversationPaused
    from rasa_sdk.executor import ActionExecutor
    from rasa_sdk.interfaces import ActionNotFoundException

    class Broken(Action):
        def name(self) -> str:
            return "action_unit_broken"

        async def run(self, dispatcher, tracker, domain):
            raise ValueError("broken on purpose")

    class Clarify(Action):
        def name(self) -> str:
            return "action_clarify"

        async def run(self, dispatcher, tracker, domain):
            return [ConversationPaused()]  # third misunderstanding: handed to a person

    metrics.instrument_action_server()
    metrics.instrument_action_server()  # idempotent: counted once, not twice
    executor = ActionExecutor()
    executor.register_action(Broken())
    executor.register_action(Clarify())
    tracker = {
        "sender_id": "s",
        "slots": {},
        "latest_message": {},
        "events": [],
        "paused": False,
        "followup_action": None,
        "active_loop": {},
        "latest_action_name": None,
    }
    errors, fallbacks, handoffs = (
        value("qhd_action_errors_total", action="action_unit_broken"),
        value("qhd_fallbacks_total"),
        value("qhd_handoffs_total"),
    )
    unknown = value("qhd_action_errors_total", action="unknown")
    with pytest.raises(ValueError):
        asyncio.run(executor.run({"next_action": "action_unit_broken", "tracker": tracker}))
    asyncio.run(executor.run({"next_action": "action_clarify", "tracker": tracker}))
    with pytest.raises(ActionNotFoundException):
        asyncio.run(executor.run({"next_action": "action_made_up_by_a_stranger", "tracker": tracker}))
    assert value("qhd_action_errors_total", action="action_unit_broken") == errors + 1
    assert value("qhd_fallbacks_total") == fallbacks + 1
    assert value("qhd_handoffs_total") == handoffs + 1
    assert value("qhd_action_errors_total", action="unknown") == unknown + 1
    assert REGISTRY.get_sample_value("qhd_action_errors_total", {"action": "action_made_up_by_a_stranger"}) is None


def test_the_web_app_serves_metrics_directly_but_never_through_a_proxy(web) -> None:
    app, _ = web
    metrics.set_outbox_depth_source(lambda: 3)
    try:
        client = TestClient(app)
        answer = client.get("/metrics")
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
        assert "qhd_outbox_depth 3.0" in answer.text
        assert client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 404
        assert client.get("/metrics", headers={"X-Real-IP": "203.0.113.9"}).status_code == 404
    finally:
        metrics.set_outbox_depth_source(None)
    assert value("qhd_outbox_depth") == 0.0  # no outbox: 0


def test_json_logs_are_one_masked_object_per_line() -> None:
    record = logging.LogRecord("bot.test", logging.WARNING, __file__, 1, "电话 %s 打不通", (PHONE,), None)
    entry = json.loads(JsonFormatter().format(record))
    assert entry["level"] == "WARNING" and entry["logger"] == "bot.test"
    assert PHONE not in entry["message"] and "打不通" in entry["message"]


def test_setup_logging_switches_every_handler_to_masked_json(monkeypatch: pytest.MonkeyPatch) -> None:
    root = logging.getLogger()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    saved = root.handlers[:], root.level
    root.handlers = [handler]
    try:
        monkeypatch.setenv("LOG_FORMAT", "json")
        setup_logging("INFO")
        try:
            raise RuntimeError(f"保存 {PHONE} 失败")
        except RuntimeError:
            logging.getLogger("bot.unit").exception("求助 %s 没保存", PHONE)
    finally:
        root.handlers, _ = saved[0], root.setLevel(saved[1])
    line = stream.getvalue().strip()
    entry = json.loads(line)
    assert entry["message"].startswith("求助 ") and PHONE not in line and "RuntimeError" in entry["exception"]
