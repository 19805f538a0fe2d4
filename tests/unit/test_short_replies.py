"""Bare yes and no as residents say them (issue 12): one closed list for the NLU and the forms."""

from __future__ import annotations

import pytest

from actions import parsing
from bot.nlu.short_replies import override_ranking, reply_kind


@pytest.mark.parametrize(
    "text",
    [
        "中",
        "中啊",
        "中中中",
        "嗯呐",
        "嗯哪",
        "可不是嘛",
        "那可不",
        "可不咋的",
        "得嘞",
        "妥了",
        "没毛病",
        "对头",
        "昂",
        "是滴",
        "行行行",
        "好嘞！",
        "嗯嗯",
        "对对对",
        "嗯呐，对着呢",
    ],
)
def test_colloquial_yes(text):
    assert reply_kind(text) == "affirm"


@pytest.mark.parametrize(
    "text",
    [
        "不中",
        "不中不中",
        "拉倒吧",
        "拉倒",
        "不用了",
        "不用了。",
        "甭了",
        "不成",
        "可别",
        "木有",
        "不是滴",
        "那不中",
        "不对不对",
        "没有的事",
    ],
)
def test_colloquial_no(text):
    assert reply_kind(text) == "deny"


@pytest.mark.parametrize(
    "text",
    [
        # a yes or a no inside a longer message is the classifiers' to read, not the list's
        "中不中啊",
        "不中的话咋办",
        "可不是嘛我家就三口人",
        "嗯我想问问低保",
        "是 不对",
        "算了",
        "不知道",
        "",
        "   ",
        "三口人",
        "叫个活人来",
    ],
)
def test_anything_else_is_left_to_the_classifiers(text):
    assert reply_kind(text) is None


def test_read_back_takes_a_colloquial_yes_and_its_own_button_words():
    assert parsing.says_yes("那可不") and parsing.says_yes("嗯呐") and parsing.says_yes("确认登记")
    assert not parsing.says_yes("不中") and not parsing.says_yes("拉倒吧") and not parsing.says_yes("中不中")


def test_override_puts_the_reply_first_and_keeps_the_rest_below():
    ranking = [
        {"name": "stop", "confidence": 0.7},
        {"name": "deny", "confidence": 0.2},
        {"name": "affirm", "confidence": 0.1},
    ]
    result = override_ranking(ranking, "deny")
    assert result[0] == {"name": "deny", "confidence": 1.0}
    assert [r["name"] for r in result[1:]] == ["stop", "affirm"]
    assert all(r["confidence"] == 0.0 for r in result[1:])
