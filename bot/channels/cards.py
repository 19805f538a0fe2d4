"""One bot message that carries a short answer card next to its full text.

An action that has a card (the eligibility verdict, a long topic answer) sends ONE message:
`utter_message(text=<full text>, json_message={"card": card})`, where `card` is
`{"summary": str, "figures": [{"label", "value"}], "next_step": str, "details": [str]}`.

Rasa's `OutputChannel.send_response` would deliver the text and the custom JSON as two separate
messages, and socket.io splits the text at every blank line, so the widget could not show the card in
place of the wall of text. Both channels ask `card_message` first and, when there is a card, deliver
one message: socket.io `{text, card, quick_replies?}`, REST `{recipient_id, text, buttons?, custom}`
(REST clients, e.g. the hotline's telephony system, keep reading the full text from `text`).
"""

from __future__ import annotations

from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, OutputChannel


def card_of(message: dict[str, Any]) -> dict[str, Any] | None:
    """The card a bot message carries in `custom.card`, or None when it has none (or a malformed one)."""
    custom = message.get("custom")
    card = custom.get("card") if isinstance(custom, dict) else None
    if not isinstance(card, dict) or not isinstance(card.get("summary"), str) or not card["summary"].strip():
        return None
    return card


def card_message(message: dict[str, Any]) -> dict[str, Any] | None:
    """`{"text", "card", "buttons", "custom"}` for a message with text and a card; None otherwise.

    Without text there is nothing a plain-text client could read, so such a message goes the usual way.
    """
    card = card_of(message)
    text = message.get("text")
    if card is None or not isinstance(text, str) or not text.strip():
        return None
    return {
        "text": text.strip(),
        "card": card,
        "buttons": list(message.get("buttons") or []),
        "custom": message["custom"],
    }


class CardCollectingChannel(OutputChannel):
    """Wraps the REST channel's collector: a message with a card is collected as one entry."""

    def __init__(self, inner: OutputChannel) -> None:
        self.inner = inner

    @classmethod
    def name(cls) -> str:  # pragma: no cover - the instance's name is the inner channel's
        return "card_collecting"

    def __getattr__(self, item: str) -> Any:
        return getattr(self.inner, item)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        # Defined on OutputChannel (raising), so `__getattr__` would never reach the collector's; the
        # guard's notice uses it.
        await self.inner.send_text_message(recipient_id, text, **kwargs)

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        merged = card_message(message)
        if merged is None or not isinstance(self.inner, CollectingOutputChannel):
            await self.inner.send_response(recipient_id, message)
            return
        # `_persist_message` is the collector's own hook (the streaming REST variant overrides it).
        await self.inner._persist_message(
            self.inner._message(
                recipient_id, text=merged["text"], buttons=merged["buttons"] or None, custom=merged["custom"]
            )
        )
