"""Bare yes and no as residents say them, northern colloquial forms included (issue 12).

A form asks a yes/no question; the answer is one or two words (「中」「嗯呐」「可不是嘛」「得嘞」「拉倒吧」
「不中」). Such a reply carries no context a classifier could use, and a wrong guess there stalls a form,
so a closed list decides it: ShortReplyClassifier (the NLU) and actions.parsing (the form validators)
read the same list here. Longer messages are left to the classifiers.
"""

from __future__ import annotations

import re
from typing import Any

YES = frozenset(
    {
        "是",
        "是的",
        "是滴",
        "对",
        "对的",
        "对头",
        "对着呢",
        "没错",
        "没错儿",
        "正确",
        "确认",
        "确定",
        "同意",
        "嗯",
        "嗯呐",
        "嗯哪",
        "嗯那",
        "昂",
        "好",
        "好的",
        "好嘞",
        "行",
        "行啊",
        "可以",
        "中",
        "中啊",
        "成",
        "妥",
        "妥了",
        "要",
        "需要",
        "没问题",
        "没毛病",
        "得嘞",
        "得",
        "那可不",
        "可不",
        "可不是",
        "可不是嘛",
        "可不咋的",
        "就是",
        "就是这样",
        "是这么回事",
        "那敢情好",
        "敢情好",
        "那行",
        "那中",
        "一点不差",
    }
)
NO = frozenset(
    {
        "不",
        "不是",
        "不是的",
        "不是滴",
        "不对",
        "不用",
        "不要",
        "不需要",
        "不中",
        "那不中",
        "不行",
        "不成",
        "不可以",
        "不同意",
        "否",
        "没有",
        "没",
        "木有",
        "没有的事",
        "没那回事",
        "拉倒",
        "拉倒吧",
        "甭",
        "甭了",
        "可别",
        "别",
        "错了",
        "不咋对",
        "不太对",
        "哪有",
        "不是那么回事",
        "算了不用",
    }
)

# Ends that change nothing: punctuation, spaces and sentence-final particles (「中啊」「不用了」「可不是嘛」).
_EDGE = " \t\r\n。，,.!！?？~～…、"
_PARTICLES = "啊呀吧嘛呢哈啦了哦噢呗"
_SPLIT = re.compile(r"[\s，,。.!！?？~～、]+")
_REPEATED = re.compile(r"^(.+?)\1+$")


def _unit(part: str) -> str:
    """「中中中」「对对」「行行行」 -> one word; 「不用了」 -> 「不用」; 「可不是嘛」 is in YES as written."""
    part = part.strip(_EDGE)
    for candidate in (part, part.rstrip(_PARTICLES)):
        if candidate in YES or candidate in NO:
            return candidate
        repeated = _REPEATED.match(candidate)
        if repeated and (repeated.group(1) in YES or repeated.group(1) in NO):
            return repeated.group(1)
    return part.rstrip(_PARTICLES)


def reply_kind(text: str | None) -> str | None:
    """'affirm' or 'deny' when the whole message is a bare yes or no (one or a few such words),
    else None. Mixed answers (「是 不对」) and anything with more words are not decided here."""
    parts = [p for p in _SPLIT.split(text or "") if p]
    if not parts or len(parts) > 3:
        return None
    kinds = set()
    for part in parts:
        unit = _unit(part)
        if unit in YES:
            kinds.add("affirm")
        elif unit in NO:
            kinds.add("deny")
        else:
            return None
    return kinds.pop() if len(kinds) == 1 else None


def is_yes(text: str | None) -> bool:
    return reply_kind(text) == "affirm"


def override_ranking(ranking: list[dict[str, Any]], intent: str) -> list[dict[str, Any]]:
    """The ranking with ``intent`` first at confidence 1.0 and the others kept below it (scaled to 0)."""
    rest = [{**r, "confidence": 0.0} for r in ranking if r.get("name") != intent]
    return [{"name": intent, "confidence": 1.0}] + rest
