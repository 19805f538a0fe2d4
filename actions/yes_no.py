"""Yes or no outside a form: what it answers depends on what the bot offered last."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction
from rasa_sdk.executor import CollectingDispatcher

from actions.common import latest_intent
from actions.eligibility import decline_offer, start_check
from actions.requests import resolve_duplicate
from actions.texts import message


class ActionYesNo(Action):
    """One action instead of a rule per offer: the pending offer lives in unfeaturized slots
    (offered_check, hr_duplicate_of), so the dialogue policies never branch on their values."""

    def name(self) -> str:
        return "action_yes_no"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list:
        yes = latest_intent(tracker) == "affirm"
        if tracker.get_slot("hr_duplicate_of"):
            return await resolve_duplicate(dispatcher, tracker, add_to_existing=yes)
        program = tracker.get_slot("offered_check")
        if program and yes:
            return start_check(dispatcher, program) + [FollowupAction("eligibility_form")]
        if program:
            return decline_offer(dispatcher)
        dispatcher.utter_message(**message("affirm_without_question" if yes else "nothing_to_stop"))
        return []
