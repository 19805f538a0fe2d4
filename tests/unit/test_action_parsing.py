"""Free-text answers to form questions: numbers every way residents write them."""
from __future__ import annotations

import pytest

from actions import parsing


@pytest.mark.parametrize("text, expected", [
    ("九百", 900), ("一千二", 1200), ("一千二百块", 1200), ("两千四", 2400), ("1200", 1200), ("1.2k", 1200),
    ("3口人", 3), ("仨", 3), ("两万", 20000), ("1.5万", 15000),
])
def test_numbers_in_digits_and_chinese_numerals(text, expected):
    assert parsing.parse_number(text) == expected


def test_yearly_amounts_become_monthly():
    assert parsing.parse_monthly_amount("一年两万四") == 2000
    assert parsing.parse_monthly_amount("一个月九百") == 900


@pytest.mark.parametrize("text, months", [("三个月", 3), ("半年", 6), ("8个月", 8), ("一年", 12)])
def test_months(text, months):
    assert parsing.parse_months(text) == months


def test_no_number_is_none_not_zero():
    assert parsing.parse_number("不知道") is None
    assert parsing.says_unknown("不知道啊")
    assert parsing.says_none("没有") and not parsing.says_none("有三百")


@pytest.mark.parametrize("text, value", [("外省", "outside_province"), ("在北京打工", "outside_province"),
                                         ("省内外市", "inside_province"), ("本县", "local")])
def test_work_location(text, value):
    assert parsing.parse_work_location(text) == value


def test_disability_and_urgency():
    assert parsing.parse_disability_level("一级肢体残疾") == 1
    assert parsing.parse_disability_kind("三级智力残疾") == "intellectual"
    assert parsing.parse_urgency("非常紧急") == "emergency"
    assert parsing.parse_urgency("比较急") == "urgent"
    assert parsing.parse_urgency("一般") == "normal"
