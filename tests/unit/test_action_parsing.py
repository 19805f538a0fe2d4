"""Free-text answers to form questions: numbers every way residents write them."""

from __future__ import annotations

import pytest

from actions import parsing


@pytest.mark.parametrize(
    "text, expected",
    [
        ("九百", 900),
        ("一千二", 1200),
        ("一千二百块", 1200),
        ("两千四", 2400),
        ("1200", 1200),
        ("1.2k", 1200),
        ("3口人", 3),
        ("仨", 3),
        ("两万", 20000),
        ("1.5万", 15000),
    ],
)
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


@pytest.mark.parametrize(
    "text, value",
    [
        ("外省", "outside_province"),
        ("在北京打工", "outside_province"),
        ("省内外市", "inside_province"),
        ("本县", "local"),
    ],
)
def test_work_location(text, value):
    assert parsing.parse_work_location(text) == value


def test_disability_and_urgency():
    assert parsing.parse_disability_level("一级肢体残疾") == 1
    assert parsing.parse_disability_kind("三级智力残疾") == "intellectual"
    assert parsing.parse_urgency("非常紧急") == "emergency"
    assert parsing.parse_urgency("比较急") == "urgent"
    assert parsing.parse_urgency("一般") == "normal"


@pytest.mark.parametrize(
    "text,level,kind",
    [
        ("三级智残", 3, "intellectual"),
        ("孩子孤独症三级", 3, "mental"),
        ("三级精神残疾", 3, "mental"),
        ("我儿子3级自闭症", 3, "mental"),
        ("二级听力残疾", 2, "hearing"),
        ("老伴高血压三级", None, None),
    ],
)
def test_disability_words_residents_use(text, level, kind):
    assert (parsing.parse_disability_level(text), parsing.parse_disability_kind(text)) == (level, kind)


@pytest.mark.parametrize(
    "text,status",
    [
        ("脱贫户", "alleviated"),
        ("我们是监测户", "monitored"),
        ("不是脱贫户", "neither"),
        ("都不是", "neither"),
        ("建档立卡的", "alleviated"),
    ],
)
def test_alleviated_and_monitored_are_told_apart(text, status):
    assert parsing.parse_poverty_status(text) == status


@pytest.mark.parametrize(
    "text,kind",
    [
        ("药费每月三百", "medical"),
        ("康复训练每月五百", "disability_rehab"),
        ("孩子上学一个月八百", "education"),
        ("每月三百", None),
    ],
)
def test_expense_kinds(text, kind):
    assert parsing.parse_expense_kind(text) == kind
