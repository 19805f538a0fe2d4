"""Class 3 (last part): a saved or abandoned help request leaves no name in the conversation.

Whoever writes next in the same conversation (a shared kiosk, a family phone, a REST integrator reusing
its caller ids) must not find the previous resident's name filled in or read back.
"""

from __future__ import annotations

import uuid

import requests

from tests.conversations.test_rest_flows import HELP_ANSWERS, converse, joined
from tests.support.data_stack import REFERENCE
from tests.support.servers import Stack


def slots(stack: Stack, conversation: str) -> dict:
    response = requests.get(
        f"{stack.rasa_url}/conversations/{conversation}/tracker", headers=stack.api_headers, timeout=30
    )
    response.raise_for_status()
    return response.json()["slots"]


def test_the_name_is_cleared_once_the_request_is_saved(stack: Stack) -> None:
    conversation = f"t-{uuid.uuid4().hex[:8]}"
    answers = dict(HELP_ANSWERS, **{"手机号": "13712345671"})
    result = converse(stack, conversation, "我想登记一下求助", answers)
    assert REFERENCE.search(result), result
    state = slots(stack, conversation)
    assert state["person_name"] is None and state["phone"] is None


def test_the_name_is_cleared_when_the_resident_stops(stack: Stack) -> None:
    conversation = f"t-{uuid.uuid4().hex[:8]}"
    answers = dict(HELP_ANSWERS, **{"手机号": "13712345672"})
    converse(stack, conversation, "帮我登记个求助", answers, until=("请核对求助信息",))
    assert slots(stack, conversation)["person_name"] == "王秀兰"
    joined(stack.say(conversation, "算了"))
    state = slots(stack, conversation)
    assert state["person_name"] is None and state["phone"] is None
