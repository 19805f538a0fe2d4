"""Colloquial yes/no and "a person, please" in other words, inside forms (issue 12), on real servers.

The resident answers the read-backs and yes/no questions the way northern residents do (「那可不」「嗯呐」
「木有」「拉倒吧」) and asks for a person without the word 人工; each must do what the plain word does.
"""

from __future__ import annotations

import uuid

import pytest

from tests.conversations.test_rest_flows import DIBAO_ANSWERS, HELP_ANSWERS, converse, joined
from tests.support.data_stack import REFERENCE

pytestmark = pytest.mark.timeout(600)

HANDED_OVER = "已为您转人工"


def _sender() -> str:
    return f"t-colloq-{uuid.uuid4().hex[:8]}"


def test_dibao_check_answered_in_colloquial_yes_and_no(stack):
    answers = dict(DIBAO_ANSWERS, **{"对吗": "那可不", "私家车": "木有"})
    result = converse(stack, _sender(), "俺想打听下俺家够不够吃低保的", answers)
    assert "初步判断" in result and "可能符合" in result and "不符合" not in result


def test_help_request_read_back_confirmed_with_en_na(stack):
    answers = dict(HELP_ANSWERS, **{"确认登记": "嗯呐", "手机号": "13812349876"})
    result = converse(stack, _sender(), "帮俺登个记 让工作人员给回个电话", answers)
    assert REFERENCE.search(result), result


def test_a_declined_offer_in_northern_words_starts_nothing(stack):
    sender = _sender()
    joined(stack.say(sender, "俺儿子一级残疾 能不能单独给他办低保"))
    reply = joined(stack.say(sender, "拉倒吧"))
    assert "哪个区县" not in reply and "几口人" not in reply
    reply = joined(stack.say(sender, "你好"))
    assert "哪个区县" not in reply and "几口人" not in reply


@pytest.mark.parametrize(
    "opening, answers, words",
    [
        ("俺家能不能吃低保", {"哪个区县": "卢龙"}, "叫个活人来跟我说吧"),
        ("我想登记一下求助", {"怎么称呼": "李桂芝"}, "别让机器跟我说了 有真人没"),
    ],
)
def test_a_person_in_other_words_inside_a_form(stack, opening, answers, words):
    sender = _sender()
    converse(stack, sender, opening, answers, until=("手机号", "城镇户", "几口人"))
    reply = joined(stack.say(sender, words))
    assert HANDED_OVER in reply
    assert stack.say(sender, "你好") == []  # paused for the operator, the form no longer asks


def test_another_government_errand_gets_a_pointer_not_a_topic(stack):
    from bot.rulebook import default_rulebook

    reply = joined(stack.say(_sender(), "俺的驾驶证快到期了 上哪儿去换个新的"))
    assert default_rulebook().value("contact.government_service_hotline").value in reply
    assert "政务服务大厅" in reply and "低保标准" not in reply
