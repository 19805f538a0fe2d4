"""Form questions as actions (`action_ask_<slot>`), one class per slot, all with the same behaviour.

Rasa asks a form's next slot with `action_ask_<slot>` when that action exists; keeping the questions
in actions/texts.yml (not as domain responses no story mentions) lets `rasa data validate
--fail-on-warnings` pass while the wording stays in one editable file.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.texts import question, texts


class AskSlot(Action, ABC):
    """Send the question for `slot` (set by each subclass in QUESTION_ACTIONS; abstract, so never registered itself)."""

    @property
    @abstractmethod
    def slot(self) -> str: ...

    def name(self) -> str:
        return f"action_ask_{self.slot}"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list:
        asked = question(self.slot)
        dispatcher.utter_message(text=asked["text"], buttons=asked.get("buttons", []))
        return []


def question_action(slot: str) -> type[AskSlot]:
    """The `action_ask_<slot>` class for one question of actions/texts.yml."""
    return type(
        f"Ask_{slot}", (AskSlot,), {"slot": slot, "__module__": __name__, "__doc__": f"Ask the question for `{slot}`."}
    )


# One class per question. rasa_sdk registers every concrete Action subclass (it walks
# Action.__subclasses__(), not module names); this tuple keeps them alive and lets tests see them.
QUESTION_ACTIONS: tuple[type[AskSlot], ...] = tuple(question_action(slot) for slot in texts()["questions"])
