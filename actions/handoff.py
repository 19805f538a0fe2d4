"""Handing a conversation to a person, and clarifying what the resident meant before that."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused, FollowupAction
from rasa_sdk.executor import CollectingDispatcher

from actions.common import consecutive_user_intents, latest_intent, latest_text
from actions.texts import message, say
from bot.settings import settings
from bot.store import conversations
from bot.topics import INTENT_LABELS_ZH

log = logging.getLogger(__name__)
# Clarifications in a row after which a person takes over.
MAX_CLARIFICATIONS = 2


async def hand_over(dispatcher: CollectingDispatcher, tracker: Tracker, reason: str) -> list:
    """Pause the bot and queue the conversation for an operator."""
    try:
        await asyncio.to_thread(conversations.set_state, tracker.sender_id, "waiting", reason=reason)
    except Exception:  # still pause: the console also lists paused trackers
        log.exception("could not queue conversation %s for an operator", tracker.sender_id)
    dispatcher.utter_message(**say("handed_over", hours=settings().handoff_hours_zh))
    return [ConversationPaused()]


class ActionHandoff(Action):
    def name(self) -> str:
        return "action_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list:
        return await hand_over(dispatcher, tracker, reason="居民要求转人工")


class ActionClarify(Action):
    """Low NLU confidence: offer the two likeliest topics; the second failure in a row goes to a person.

    Also the dialogue's core fallback (config.yml), for a turn no rule or story covers."""

    def name(self) -> str:
        return "action_clarify"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list:
        if latest_intent(tracker) != "nlu_fallback":
            # Called as the dialogue's core fallback: the message was understood, the turn was not.
            # Say so once and wait for the resident, instead of predicting again (and again).
            dispatcher.utter_message(**message("not_followed"))
            return [FollowupAction("action_listen")]
        if consecutive_user_intents(tracker, "nlu_fallback") >= MAX_CLARIFICATIONS:
            return await hand_over(
                dispatcher, tracker, reason=f"连续{MAX_CLARIFICATIONS}次没听懂：{latest_text(tracker)[:50]}"
            )
        ranking = (tracker.latest_message or {}).get("intent_ranking") or []
        guesses = [r["name"] for r in ranking if r.get("name") in INTENT_LABELS_ZH][:2]
        clarify = message("clarify")
        buttons = [{"title": INTENT_LABELS_ZH[name], "payload": f"/{name}"} for name in guesses]
        dispatcher.utter_message(text=clarify["text"], buttons=buttons + clarify["buttons"])
        return []
