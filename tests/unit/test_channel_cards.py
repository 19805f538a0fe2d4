"""A bot message with a card reaches each channel as one message: the widget gets text and card
together, a REST client gets the full text (never split at blank lines) with the card kept in `custom`."""

from __future__ import annotations

import asyncio

from rasa.core.channels.channel import CollectingOutputChannel

from bot.channels.cards import CardCollectingChannel, card_of
from bot.channels.socketio import CardSocketIOOutput

FULL_TEXT = "初步判断：符合条件。\n\n人均收入低于标准。\n\n依据：某某文件。"
CARD = {
    "summary": "初步判断：符合条件。",
    "figures": [{"label": "人均收入", "value": "800元"}],
    "next_step": "到街道办申请。",
    "details": ["人均收入低于标准（依据：某某文件）"],
}
BUTTONS = [{"title": "登记求助", "payload": "/request_help"}]


class RecordingSio:
    def __init__(self) -> None:
        self.emitted: list[tuple[str, dict, str]] = []

    async def emit(self, event: str, data: dict | None = None, room: str | None = None, **kwargs) -> None:
        self.emitted.append((event, data if data is not None else kwargs, room))


def socket_send(message: dict) -> list[tuple[str, dict, str]]:
    sio = RecordingSio()
    asyncio.run(CardSocketIOOutput(sio, "bot_uttered").send_response("r1", message))
    return sio.emitted


def rest_send(message: dict) -> list[dict]:
    collector = CollectingOutputChannel()
    asyncio.run(CardCollectingChannel(collector).send_response("r1", message))
    return collector.messages


def test_socket_sends_text_and_card_as_one_message_with_the_buttons():
    emitted = socket_send({"text": FULL_TEXT, "buttons": BUTTONS, "custom": {"card": CARD}})
    assert len(emitted) == 1
    event, data, room = emitted[0]
    assert (event, room) == ("bot_uttered", "r1")
    assert data["text"] == FULL_TEXT and data["card"] == CARD
    assert [(q["title"], q["payload"]) for q in data["quick_replies"]] == [("登记求助", "/request_help")]


def test_socket_plain_text_is_delivered_as_before():
    emitted = socket_send({"text": "第一段\n\n第二段"})
    assert [data for _, data, _ in emitted] == [{"text": "第一段"}, {"text": "第二段"}]


def test_rest_returns_the_full_text_in_one_entry_and_keeps_the_card():
    messages = rest_send({"text": FULL_TEXT, "buttons": BUTTONS, "custom": {"card": CARD}})
    assert messages == [{"recipient_id": "r1", "text": FULL_TEXT, "buttons": BUTTONS, "custom": {"card": CARD}}]


def test_rest_plain_text_is_delivered_as_before():
    assert [m["text"] for m in rest_send({"text": "第一段\n\n第二段"})] == ["第一段", "第二段"]


def test_a_card_without_a_summary_is_not_a_card():
    assert card_of({"custom": {"card": {"summary": "  ", "details": []}}}) is None
    assert card_of({"custom": {"card": "初步判断"}}) is None
    emitted = socket_send({"text": "只有文字", "custom": {"card": {"details": ["x"]}}})
    assert [data.get("text") for _, data, _ in emitted][0] == "只有文字"
    assert all("card" not in data for _, data, _ in emitted)


def test_rest_turn_that_sends_nothing_still_gets_the_guards_notice(monkeypatch):
    from rasa.core.channels.channel import UserMessage

    from bot.channels import guard
    from bot.channels.rest import _one_entry_per_card

    async def not_paused(sender_id: str) -> bool:
        return False

    async def failing_turn(message: UserMessage) -> None:
        """An action failed: Rasa sends nothing."""

    monkeypatch.setattr(guard, "_paused", not_paused)
    collector = CollectingOutputChannel()
    asyncio.run(_one_entry_per_card(guard.never_silent(failing_turn))(UserMessage("你好", collector, "r1")))
    assert [m["text"] for m in collector.messages] == [guard.NOTICE_ZH]


def test_rest_card_turn_counts_as_an_answer(monkeypatch):
    from rasa.core.channels.channel import UserMessage

    from bot.channels import guard
    from bot.channels.rest import _one_entry_per_card

    async def not_paused(sender_id: str) -> bool:
        return False

    async def card_turn(message: UserMessage) -> None:
        await message.output_channel.send_response("r1", {"text": FULL_TEXT, "custom": {"card": CARD}})

    monkeypatch.setattr(guard, "_paused", not_paused)
    collector = CollectingOutputChannel()
    asyncio.run(_one_entry_per_card(guard.never_silent(card_turn))(UserMessage("能吃低保吗", collector, "r1")))
    assert [m["text"] for m in collector.messages] == [FULL_TEXT]
