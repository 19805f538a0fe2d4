"""Issue 10, class 5: the status look-up over REST. A stranger's wrong guesses cannot lock the owner out,
a guessed neighbouring number reveals nothing, and numbers are not sequential."""

from __future__ import annotations

import pytest

from bot.store.categories import STATUSES
from bot.store.help_requests import FAILED_LOOKUP_LIMITS
from bot.store.references import ALPHABET, check_symbol, normalise_reference
from tests.support.data_stack import converse, joined, new_sender, register, shared_stack

pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def stack():
    return shared_stack()


@pytest.fixture(scope="module")
def owned(stack):
    owner = new_sender()
    return owner, register(stack, owner, 手机号="13600002468")


def look_up(stack, sender: str, reference: str, last4: str) -> str:
    return converse(stack, sender, f"查一下求助进度 {reference}", {"后四位": last4})


def test_strangers_wrong_guesses_cannot_lock_the_owner_out(stack, owned):
    owner, reference = owned
    strangers = [new_sender() for _ in range(3)]
    refused = 0
    for stranger in strangers:  # more guesses than the per-number limit, spread over conversations
        for guess in range(FAILED_LOOKUP_LIMITS["sender"] + 1):
            reply = look_up(stack, stranger, reference, f"{1000 + guess:04d}")
            assert "13600002468" not in reply and "处理中" not in reply
            refused += "查询失败次数太多" in reply
    assert refused >= len(strangers)  # each stranger was stopped
    reply = look_up(stack, owner, reference, "2468")
    assert reference in reply and STATUSES["new"] in reply, reply


def test_a_guessed_neighbouring_number_reveals_nothing(stack):
    reference = register(stack, new_sender(), 手机号="13600002468")  # a number no stranger has probed yet
    prober = new_sender()
    body = reference[-7:-1]
    # The next number by counting: its check symbol is wrong, so it is not even taken as a number.
    successor = body[:-1] + ALPHABET[(ALPHABET.index(body[-1]) + 1) % len(ALPHABET)]
    unchecked = f"{reference[:-7]}{successor}{reference[-1]}"
    if normalise_reference(unchecked) is None:
        reply = joined(stack.say(prober, f"查一下求助进度 {unchecked}"))
        assert "编号好像不对" in reply or "求助编号" in reply, reply
        stack.say(prober, "算了")
    # A well-formed neighbour (valid check symbol) that nobody holds answers exactly like a wrong ending.
    neighbour = f"{reference[:-7]}{successor}{check_symbol(successor)}"
    other = new_sender()
    missing = look_up(stack, other, neighbour, "2468")
    wrong_ending = look_up(stack, new_sender(), reference, "9999")
    assert "没有查到" in missing and missing == wrong_ending
    assert reference not in missing


def test_reference_numbers_are_not_sequential(stack):
    first, second = (
        register(stack, new_sender(), 手机号="13600001111"),
        register(stack, new_sender(), 手机号="13600002222"),
    )
    assert first[-7:-1] != second[-7:-1]
    assert normalise_reference(first) == first and normalise_reference(second) == second
    assert not first[-7:].isdigit() or not second[-7:].isdigit()  # not the old six-digit counter
