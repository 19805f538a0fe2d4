"""The cached response validator accepts and refuses exactly what Rasa's own check does."""
from __future__ import annotations

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

from bot import rasa_speedups
from bot.channels.rest import GuardedRestInput

VALID = {"events": [{"event": "slot", "name": "last_topic", "value": "ask_dibao_standard", "timestamp": None}],
         "responses": [{"text": "您好"}]}
INVALID = {"events": [{"event": "slot", "name": 3}], "responses": "not a list"}


async def _no_reply(message):
    return None


def test_installed_in_rasa():
    GuardedRestInput().blueprint(_no_reply)  # what Rasa does when it starts serving the channel
    assert RemoteAction._validate_action_result is rasa_speedups._validate_action_result


def test_valid_response_passes():
    assert RemoteAction("action_x", None)._validate_action_result(VALID) is True


def test_invalid_response_is_refused_with_rasas_message():
    with pytest.raises(ValidationError, match="Failed to validate Action server response"):
        RemoteAction("action_x", None)._validate_action_result(INVALID)
