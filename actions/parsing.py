"""Reading free-text answers to form questions, when the NLU found no entity.

The NLU extractor (bot.nlu) handles whole messages; these helpers read the one short answer a
resident gives to a direct question (「三口」「九百」「半年」「没有」), where the question itself tells us
what kind of value to expect.
"""
from __future__ import annotations


from bot.nlu import entity_rules, short_replies
from bot.nlu.numerals import find_numbers

_NONE_WORDS = ("没有", "没", "无", "不用", "零", "0")
_UNKNOWN_WORDS = ("不知道", "不清楚", "说不好", "不记得", "不晓得", "整不明白")


def says_unknown(text: str) -> bool:
    return any(w in text for w in _UNKNOWN_WORDS)


def says_none(text: str) -> bool:
    stripped = text.strip(" 。，,.!！")
    return stripped.startswith(_NONE_WORDS) or stripped in {"没", "无", "没有", "木有"}


# Read-back words beyond a plain yes: the read-back's own button titles, typed.
_CONFIRM_WORDS = {"提交", "重新提交", "再提交一次", "确认提交", "确认登记"}


def says_yes(text: str) -> bool:
    """A bare yes (「对」「是的」「嗯呐」「可不是嘛」「得嘞」「重新提交」): the answer to a read-back, whatever
    the classifier thought. The colloquial list is shared with the NLU (bot.nlu.short_replies)."""
    return short_replies.is_yes(text) or text.strip(" 。，,.!！~啊呀吧").strip() in _CONFIRM_WORDS


def parse_number(text: str) -> float | None:
    """The first number in `text`, in digits or Chinese numerals (the NLU's own numeral reader)."""
    first = next(iter(find_numbers(text or "")), None)
    return None if first is None else float(first.value)


def parse_monthly_amount(text: str) -> float | None:
    """An amount in yuan per month: the NLU's amount rule (yearly figures become monthly), else a bare number."""
    amounts = [f for f in entity_rules.extract(text or "") if f.entity == "amount"]
    if amounts:
        return float(amounts[0].value)
    return parse_number(text)


def parse_months(text: str) -> float | None:
    """A duration in months: 「三个月」「半年」「一年」「8个月」."""
    if "半年" in text:
        return 6.0
    for number in find_numbers(text):
        rest = text[number.end:number.end + 2]
        if rest.startswith("年"):
            return float(number.value) * 12
        return float(number.value)
    return None


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
    levels = [f for f in entity_rules.extract(text or "") if f.entity == "disability_level"]
    return int(levels[0].value) if levels else None


_URGENCY = (("emergency", ("非常紧急", "特别急", "很急", "急死", "马上", "紧急")),
            ("urgent", ("比较急", "挺急", "有点急", "急")),
            ("normal", ("一般", "不急", "不着急", "正常")))


def parse_urgency(text: str) -> str | None:
    for value, words in _URGENCY:
        if any(w in text for w in words):
            return value
    return None
