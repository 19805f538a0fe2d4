"""Topic answers: actions/texts.yml holds the wording, the rulebook (through bot.answers) the figures."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import CHECK_PROGRAM_BY_INTENT, latest_intent, topic_intents
from actions.texts import message, topic_answer, wording
from bot.answers import answer_card, topic_figures
from bot.rulebook import default_rulebook

GOVERNMENT_HOTLINE = "contact.government_service_hotline"


def utter_topic(dispatcher: CollectingDispatcher, tracker: Tracker, intent: str) -> None:
    """Answer `intent` with its figures for the resident's district and residence, if known.

    A long answer also carries a card (conclusion first, sources on demand) for the widget; the text
    stays complete for the REST channel and the transcript."""
    figures = topic_figures(intent, district=tracker.get_slot("district"), residence=tracker.get_slot("residence"))
    text = topic_answer(intent, figures)
    card = answer_card(text, figures["contact"])
    dispatcher.utter_message(text=text, **({"json_message": {"card": card}} if card else {}))


class ActionAnswerTopic(Action):
    """Answer any `ask_*` question. Outside a form it may offer to run the matching eligibility check."""

    def name(self) -> str:
        return "action_answer_topic"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list:
        intent = latest_intent(tracker)
        if intent not in topic_intents():
            dispatcher.utter_message(text=out_of_scope_text())
            return []
        utter_topic(dispatcher, tracker, intent)
        events: list = [SlotSet("last_topic", intent)]
        program = CHECK_PROGRAM_BY_INTENT.get(intent)
        if program and intent != "ask_dibao_eligibility" and not tracker.active_loop.get("name"):
            dispatcher.utter_message(**message("offer_check"))
            events.append(SlotSet("offered_check", program))
        elif not program and not tracker.active_loop.get("name"):
            events.append(SlotSet("offered_check", None))
        return events


def out_of_scope_text() -> str:
    """What we cannot answer, and where other government errands go: the hotline's number from the
    rulebook (policies/contacts.yml, with its source); without a number, the service hall only."""
    try:
        hotline = default_rulebook().value(GOVERNMENT_HOTLINE).value
    except KeyError:
        hotline = None
    errands = wording("out_of_scope_errands_hotline", hotline=hotline) if hotline else wording("out_of_scope_errands")
    return wording("out_of_scope", errands=errands)


class ActionOutOfScope(Action):
    """Outside social assistance and employment support (weather, a driving licence, a 户口 move)."""

    def name(self) -> str:
        return "action_out_of_scope"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list:
        dispatcher.utter_message(text=out_of_scope_text())
        return []


class ActionAcknowledgeFacts(Action):
    """Bare facts with no question open (「三口人，一个月九百」): keep them and offer a 低保 check."""

    def name(self) -> str:
        return "action_acknowledge_facts"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list:
        dispatcher.utter_message(**message("facts_noted"))
        return [SlotSet("offered_check", "dibao")]
