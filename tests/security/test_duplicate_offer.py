"""Issue 10, class 4: the duplicate-request offer never turns a phone number into someone else's
reference number, and a stranger cannot add to another resident's request (REST, real servers)."""

from __future__ import annotations

import pytest

from tests.support.data_stack import HELP_ANSWERS, REFERENCE, converse, joined, new_sender, register, rows, shared_stack

pytestmark = pytest.mark.timeout(900)
PHONE = "13700001234"


@pytest.fixture(scope="module")
def stack():
    return shared_stack()


def test_a_stranger_typing_the_same_phone_learns_nothing_and_appends_nothing(stack):
    owner, stranger = new_sender(), new_sender()
    owners_reference = register(stack, owner, 手机号=PHONE)
    reply = converse(stack, stranger, "帮我登记个求助", {**HELP_ANSWERS, "手机号": PHONE, "什么困难": "陌生人写的内容"})
    assert owners_reference not in reply and "已经登记过" not in reply
    strangers_reference = REFERENCE.search(reply).group(0)
    assert strangers_reference != owners_reference
    # Even saying yes to an offer that was never made adds nothing to the owner's request.
    joined(stack.say(stranger, "对"))
    notes = rows(
        stack,
        "select n.text from qhd_request_notes n join qhd_help_requests r on r.id = n.request_id"
        " where r.reference_no = :ref",
        ref=owners_reference,
    )
    assert notes == []
    saved = rows(stack, "select reference_no, sender_id from qhd_help_requests where phone = :p order by id", p=PHONE)
    assert [(r["reference_no"], r["sender_id"]) for r in saved] == [
        (owners_reference, owner),
        (strangers_reference, stranger),
    ]


def test_the_same_conversation_is_offered_its_own_request(stack):
    owner = new_sender()
    reference = register(stack, owner, 手机号="13700005678")
    offer = converse(
        stack,
        owner,
        "我还要登记一个求助",
        {**HELP_ANSWERS, "手机号": "13700005678", "什么困难": "又想起来要补充的情况"},
    )
    assert "已经登记过同类求助" in offer and reference in offer
    added = joined(stack.say(owner, "/affirm"))  # the 「补充到原来那条」 button
    assert f"已补充到求助 {reference}" in added, added
    notes = rows(
        stack,
        "select n.text from qhd_request_notes n join qhd_help_requests r on r.id = n.request_id"
        " where r.reference_no = :ref",
        ref=reference,
    )
    assert [n["text"] for n in notes] == ["居民补充：又想起来要补充的情况"]
