"""Small helpers shared by the actions: what the resident just said, and which intents are topics."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker

from actions.parsing import says_yes
from bot.vocabulary import TOPIC_INTENTS

# Topic intents whose answer starts (or offers) an eligibility check, and the programme it runs.
CHECK_PROGRAM_BY_INTENT: dict[str, str] = {
    "ask_dibao_eligibility": "dibao",
    "ask_single_person_coverage": "single_person",
    "ask_dibao_gradual_exit": "gradual_exit",
    "ask_job_subsidy": "job_subsidy",
}


def topic_intents() -> frozenset[str]:
    """Intents answered from the rulebook (bot.vocabulary; the same as the domain's `ask_*` intents, which
    tests/unit/test_vocabulary.py checks). Not read from the domain Rasa sends: with the selective domain
    of endpoints.yml, action_answer_topic is not sent one."""
    return frozenset(TOPIC_INTENTS)


def latest_intent(tracker: Tracker) -> str | None:
    return (tracker.latest_message or {}).get("intent", {}).get("name")


def latest_text(tracker: Tracker) -> str:
    return ((tracker.latest_message or {}).get("text") or "").strip()


def latest_entities(tracker: Tracker, entity: str) -> list[dict[str, Any]]:
    return [e for e in (tracker.latest_message or {}).get("entities", []) if e.get("entity") == entity]


def _last_user_index(events: list[dict]) -> int:
    return max((i for i, e in enumerate(events) if e.get("event") == "user"), default=0)


def events_since_last_user(tracker: Tracker) -> list[dict]:
    """This turn's events: the latest user message and what the slot mappings and actions did since."""
    events = list(tracker.events)
    return events[_last_user_index(events) :]


def slots_set_this_turn(tracker: Tracker) -> set[str]:
    return {e.get("name") for e in events_since_last_user(tracker) if e.get("event") == "slot"}


def previous_slot_value(tracker: Tracker, slot: str) -> Any:
    """The slot's value before the latest user message (slot mappings may already have overwritten it)."""
    events = list(tracker.events)
    for event in reversed(events[: _last_user_index(events)]):
        if event.get("event") == "slot" and event.get("name") == slot:
            return event.get("value")
    return None


def consecutive_user_intents(tracker: Tracker, intent: str) -> int:
    """How many of the latest user messages in a row had `intent` (the current one included)."""
    count = 0
    for event in reversed(list(tracker.events)):
        if event.get("event") != "user":
            continue
        if ((event.get("parse_data") or {}).get("intent") or {}).get("name") != intent:
            break
        count += 1
    return count


def closed_choice(slot: str, value: Any, allowed: Any, parse: Any, dispatcher: Any, hint: str) -> dict[str, Any]:
    """Validate an answer from a closed set: a button value as is, typed words through `parse`."""
    choice = value if value in allowed else parse(str(value or ""))
    if choice is None:
        dispatcher.utter_message(text=hint)
    return {slot: choice}


def read_back_answer(
    slot: str, value: Any, tracker: Tracker, corrected: bool, dispatcher: Any, hint: str
) -> dict[str, Any]:
    """The answer to a read-back: yes confirms; a correction re-asks with the new facts; else ask what is wrong."""
    if value is True or says_yes(latest_text(tracker)):
        return {slot: True}
    if not corrected:
        dispatcher.utter_message(text=hint)
    return {slot: None}
