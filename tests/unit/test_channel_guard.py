"""The channels never answer a resident's message with silence, except while an operator has it."""

from __future__ import annotations

import asyncio

import pytest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

from bot.channels import guard


def deliver(handler, paused: bool, monkeypatch) -> list[dict]:
    async def fake_paused(sender_id: str) -> bool:
        return paused

    monkeypatch.setattr(guard, "_paused", fake_paused)
    collector = CollectingOutputChannel()
    asyncio.run(guard.never_silent(handler)(UserMessage("你好", collector, "r1")))
    return collector.messages


async def failing_turn(message: UserMessage) -> None:
    """What Rasa does when an action fails: logs, drops the action's events, sends nothing."""


async def answered_turn(message: UserMessage) -> None:
    await message.output_channel.send_response(message.sender_id, {"text": "您好"})


def test_a_silent_turn_gets_the_notice(monkeypatch):
    messages = deliver(failing_turn, paused=False, monkeypatch=monkeypatch)
    assert [m["text"] for m in messages] == [guard.NOTICE_ZH]


def test_an_answered_turn_is_left_alone(monkeypatch):
    messages = deliver(answered_turn, paused=False, monkeypatch=monkeypatch)
    assert [m["text"] for m in messages] == ["您好"]


@pytest.mark.parametrize(
    "failure",
    [
        ConnectionError("lock store: Redis connection refused"),
        OSError("tracker store: database is unavailable"),
        RuntimeError("event broker: channel closed"),
    ],
)
def test_a_turn_that_raises_still_gets_the_notice(monkeypatch, failure):
    async def raising_turn(message: UserMessage) -> None:
        raise failure

    messages = deliver(raising_turn, paused=True, monkeypatch=monkeypatch)  # even "paused": we cannot tell
    assert [m["text"] for m in messages] == [guard.NOTICE_ZH]


def test_a_turn_that_raises_after_answering_adds_nothing(monkeypatch):
    async def answered_then_broker_failed(message: UserMessage) -> None:
        await answered_turn(message)
        raise RuntimeError("event broker: channel closed")

    messages = deliver(answered_then_broker_failed, paused=False, monkeypatch=monkeypatch)
    assert [m["text"] for m in messages] == ["您好"]


def test_a_paused_conversation_stays_silent(monkeypatch):
    assert deliver(failing_turn, paused=True, monkeypatch=monkeypatch) == []


@pytest.mark.parametrize(
    "intent, slots, expect_text, expect_form",
    [
        ("affirm", {"offered_check": "single_person"}, "单人保", True),
        ("deny", {"offered_check": "single_person"}, "还有别的", False),
        ("affirm", {}, "您想了解什么", False),
    ],
)
def test_yes_no_follows_the_pending_offer(intent, slots, expect_text, expect_form):
    from actions.yes_no import ActionYesNo
    from tests.unit.test_actions import make_tracker, run, texts

    events, messages = run(ActionYesNo(), make_tracker(slots, text="好", intent=intent))
    assert expect_text in texts(messages)
    assert any(e.get("event") == "followup" and e.get("name") == "eligibility_form" for e in events) == expect_form
