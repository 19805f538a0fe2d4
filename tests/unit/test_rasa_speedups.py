"""The cached response validator accepts and refuses exactly what Rasa's own check does."""
from __future__ import annotations

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

import bot.channels  # noqa: F401 - installs the speed-up, as in the Rasa process
from bot import rasa_speedups

VALID = {"events": [{"event": "slot", "name": "last_topic", "value": "ask_dibao_standard", "timestamp": None}],
         "responses": [{"text": "您好"}]}
INVALID = {"events": [{"event": "slot", "name": 3}], "responses": "not a list"}


def test_installed_in_rasa():
    assert RemoteAction._validate_action_result is rasa_speedups._validate_action_result


def test_valid_response_passes():
    assert RemoteAction("action_x", None)._validate_action_result(VALID) is True


def test_invalid_response_is_refused_with_rasas_message():
    with pytest.raises(ValidationError, match="Failed to validate Action server response"):
        RemoteAction("action_x", None)._validate_action_result(INVALID)


def test_event_types_resolve_as_in_rasa():
    from rasa.shared.core.events import ActiveLoop, Event, SlotSet, UserUttered

    assert Event.resolve_by_type("slot") is SlotSet
    assert Event.resolve_by_type("active_loop") is ActiveLoop
    assert Event.resolve_by_type("user") is UserUttered
    assert Event.resolve_by_type("no_such_event", default=SlotSet) is SlotSet
    assert Event.resolve_by_type("topic") is None
    with pytest.raises(ValueError, match="Unknown event name 'no_such_event'"):
        Event.resolve_by_type("no_such_event")
    event = Event.from_parameters({"event": "slot", "name": "district", "value": "海港区"})
    assert isinstance(event, SlotSet) and event.value == "海港区"
