"""Reading free-text answers to form questions, when the NLU found no entity.

The NLU extractor (bot.nlu) handles whole messages; these helpers read the one short answer a
resident gives to a direct question (「三口」「九百」「半年」「没有」), where the question itself tells us
what kind of value to expect.
"""
from __future__ import annotations

import re

import cn2an

_COLLOQUIAL = {"仨": "三", "俩": "两", "兩": "两"}
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_NONE_WORDS = ("没有", "没", "无", "不用", "零", "0")
_UNKNOWN_WORDS = ("不知道", "不清楚", "说不好", "不记得", "不晓得", "整不明白")


def _to_arabic(text: str) -> str:
    for old, new in _COLLOQUIAL.items():
        text = text.replace(old, new)
    try:
        return cn2an.transform(text, "cn2an")
    except (ValueError, KeyError, IndexError):
        return text


def says_unknown(text: str) -> bool:
    return any(w in text for w in _UNKNOWN_WORDS)


def says_none(text: str) -> bool:
    stripped = text.strip(" 。，,.!！")
    return stripped.startswith(_NONE_WORDS) or stripped in {"没", "无", "没有", "木有"}


def parse_number(text: str) -> float | None:
    """The first number in `text`, digits or Chinese numerals, with 万/千/k multipliers applied."""
    if not text:
        return None
    converted = _to_arabic(text.replace(",", "").replace("，", ""))
    match = re.search(r"(\d+(?:\.\d+)?)\s*([万wWkK千])?", converted)
    if not match:
        return None
    value = float(match.group(1))
    unit = match.group(2)
    if unit in ("万", "w", "W"):
        value *= 10000
    elif unit in ("k", "K", "千"):
        value *= 1000
    return value


_PERIOD = re.compile(r"(一年下来|一年|每年|全年|年收入|一个月|每个月|每月|一月)")


def parse_monthly_amount(text: str) -> float | None:
    """An amount in yuan per month; 「一年两万」-style yearly figures are divided by 12."""
    yearly = bool(re.search(r"(一年|每年|全年|年收入)", text))
    value = parse_number(_PERIOD.sub(" ", text))
    if value is None:
        return None
    return round(value / 12, 2) if yearly else value


def parse_months(text: str) -> float | None:
    """A duration in months: 「三个月」「半年」「一年」「8个月」."""
    if "半年" in text:
        return 6.0
    converted = _to_arabic(text)
    if m := re.search(r"(\d+(?:\.\d+)?)\s*(?:个)?月", converted):
        return float(m.group(1))
    if m := re.search(r"(\d+(?:\.\d+)?)\s*年", converted):
        return float(m.group(1)) * 12
    return parse_number(converted)


# Where someone works, relative to home: answers to the travel-subsidy question.
_LOCATIONS = (
    ("outside_province", ("外省", "省外", "出省", "北京", "天津", "外地省")),
    ("inside_province", ("省内外市", "外市", "市外", "唐山", "石家庄", "承德", "保定", "廊坊", "沧州", "邯郸")),
    ("inside_city", ("市内外县", "外县", "县外", "市里", "市区")),
    ("local", ("本县", "本地", "家门口", "县里", "村里", "乡里", "本乡")),
)


def parse_work_location(text: str) -> str | None:
    for value, words in _LOCATIONS:
        if any(w in text for w in words):
            return value
    return None


_DISABILITY_KINDS = (
    ("intellectual", ("智力", "智障", "脑瘫")),
    ("mental", ("精神",)),
    ("visual", ("视力", "眼睛", "失明", "盲")),
    ("hearing", ("听力", "耳聋", "聋")),
    ("speech", ("言语", "哑")),
    ("multiple", ("多重",)),
    ("physical", ("肢体", "瘫", "截肢", "腿", "胳膊")),
)


def parse_disability_kind(text: str) -> str | None:
    for value, words in _DISABILITY_KINDS:
        if any(w in text for w in words):
            return value
    return None


def parse_disability_level(text: str) -> int | None:
    converted = _to_arabic(text)
    if m := re.search(r"([1-4])\s*级", converted):
        return int(m.group(1))
    return None


_URGENCY = (("emergency", ("非常紧急", "特别急", "很急", "急死", "马上", "紧急")),
            ("urgent", ("比较急", "挺急", "有点急", "急")),
            ("normal", ("一般", "不急", "不着急", "正常")))


def parse_urgency(text: str) -> str | None:
    for value, words in _URGENCY:
        if any(w in text for w in words):
            return value
    return None
