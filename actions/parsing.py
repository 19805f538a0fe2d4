"""Reading free-text answers to form questions, when the NLU found no entity.

The NLU extractor (bot.nlu) handles whole messages; these helpers read the one short answer a
resident gives to a direct question (「三口」「九百」「半年」「没有」), where the question itself tells us
what kind of value to expect.
"""

from __future__ import annotations

import re

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


def first_listed(table: tuple[tuple[str, tuple[str, ...]], ...], text: str) -> str | None:
    """The value of the first (value, words) row with a word in `text`: rows are ordered most specific first."""
    return next((value for value, words in table if any(w in text for w in words)), None)


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
        rest = text[number.end : number.end + 2]
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
    return first_listed(_LOCATIONS, text)


_DISABILITY_KINDS = (
    ("intellectual", ("智力", "智障", "智残", "脑瘫", "弱智")),
    # 孤独症 (autism) is assessed as 精神残疾 in China's disability classification (GB/T 26341-2010).
    ("mental", ("精神", "孤独症", "自闭症", "精残")),
    ("visual", ("视力", "眼睛", "失明", "盲")),
    ("hearing", ("听力", "耳聋", "聋")),
    ("speech", ("言语", "哑")),
    ("multiple", ("多重",)),
    ("physical", ("肢体", "瘫", "截肢", "腿", "胳膊")),
)


def parse_disability_kind(text: str) -> str | None:
    return first_listed(_DISABILITY_KINDS, text)


_LEVEL_WORD = re.compile(r"([一二三四1-4])\s*级")
_LEVEL_DIGIT = {"一": 1, "二": 2, "三": 3, "四": 4, "1": 1, "2": 2, "3": 3, "4": 4}


def parse_disability_level(text: str) -> int | None:
    """The NLU's level rule (it needs 残 nearby); else 「孤独症三级」: a level word next to a named kind."""
    levels = [f for f in entity_rules.extract(text or "") if f.entity == "disability_level"]
    if levels:
        return int(levels[0].value)
    match = _LEVEL_WORD.search(text or "")
    return _LEVEL_DIGIT[match.group(1)] if match and parse_disability_kind(text) else None


_URGENCY = (
    ("emergency", ("非常紧急", "特别急", "很急", "急死", "马上", "紧急")),
    ("urgent", ("比较急", "挺急", "有点急", "急")),
    ("normal", ("一般", "不急", "不着急", "正常")),
)


def parse_urgency(text: str) -> str | None:
    return first_listed(_URGENCY, text)


# Who in the household a fact is about (the contract's relation values); first match wins, so the longer
# words come first. 「我」 alone is the applicant.
_RELATIONS = (
    ("spouse", ("老伴", "爱人", "媳妇", "老婆", "丈夫", "老公", "妻子", "对象")),
    ("grandchild", ("孙子", "孙女", "外孙")),
    ("child", ("儿子", "女儿", "孩子", "闺女", "小孩", "儿媳")),
    ("parent", ("我爸", "我妈", "父亲", "母亲", "公公", "婆婆", "老父亲", "老母亲", "爹", "娘")),
    ("sibling", ("哥哥", "姐姐", "弟弟", "妹妹", "我哥", "我姐", "我弟", "我妹")),
    ("self", ("我自己", "本人", "我")),
)


def parse_relation(text: str) -> str | None:
    return first_listed(_RELATIONS, text)


# Income kinds as residents name them. A 城乡居民 pension (and a pension not said to be an employee's
# 退休金) is `resident_pension`: the engine treats its excluded central part as unsettled, so a pension
# whose kind is unclear can make a verdict "unknown" but never a confident wrong one.
_INCOME_KINDS = (
    ("pension", ("退休金", "退休工资", "职工养老", "企业养老")),
    ("resident_pension", ("养老金", "养老保险", "农保", "新农保", "居民养老", "基础养老")),
    ("transfer", ("赡养费", "抚养费", "给", "补贴", "补助")),
    ("farming", ("种地", "种田", "种", "养殖", "养猪", "养鸡", "养羊", "养牛", "果树", "地里", "卖粮")),
    ("business", ("买卖", "生意", "小卖部", "开店", "摆摊", "经营")),
    ("wage", ("工资", "打工", "上班", "挣", "干活", "月薪", "打零工", "工作")),
)
_CLAUSE_SPLIT = re.compile(r"[，,、；;。\s]+|(?=" + "|".join(w for _, ws in _RELATIONS[:-1] for w in ws) + ")")
_PAIR_WORDS = ("老两口", "我们俩", "我俩", "两口子", "我们两口")
_NOT_MONEY = ("口", "岁", "级", "个人", "套", "辆", "年级")


def parse_income_kind(text: str) -> str | None:
    return first_listed(_INCOME_KINDS, text)


def parse_income_items(text: str) -> list[dict]:
    """「我工资一千二，老伴养老金八百」 -> [{who: self, kind: wage, amount: 1200}, {who: spouse, kind:
    resident_pension, amount: 800}]. Money given by someone (「儿子每月给五百」) is the applicant's transfer
    income. 「老两口…每人一百八」 is one item each for the applicant and the spouse."""
    items: list[dict] = []
    who = "self"
    for clause in (c for c in _CLAUSE_SPLIT.split(text or "") if c):
        amounts = [f for f in entity_rules.extract(clause) if f.entity == "amount"]
        if amounts:
            amount: float | None = float(amounts[0].value)
        elif any(w in clause for w in _NOT_MONEY):
            amount = None  # 「四口人」「七十岁」 are not money
        else:
            amount = parse_number(clause)  # 「我一千二 老伴八百」「我打工一千二」: a bare number is the amount
        said = parse_relation(clause)
        if amount is None:
            who = said or who
            continue
        kind = parse_income_kind(clause) or "other"
        person = "self" if kind == "transfer" else (said or who)
        if "每人" in clause or any(w in text for w in _PAIR_WORDS) and "每人" in text:
            items += [
                {"who": "self", "kind": kind, "amount": amount},
                {"who": "spouse", "kind": kind, "amount": amount},
            ]
        else:
            items.append({"who": person, "kind": kind, "amount": amount})
        who = person
    return items


_EXPENSE_KINDS = (
    ("disability_rehab", ("康复", "辅具", "假肢", "轮椅", "助听器", "训练")),
    ("education", ("上学", "学费", "读书", "念书", "书本", "住宿费")),
    ("medical", ("药", "看病", "医", "住院", "透析", "化疗", "治疗", "手术")),
)


def parse_expense_kind(text: str) -> str | None:
    return first_listed(_EXPENSE_KINDS, text)


def parse_poverty_status(text: str) -> str | None:
    """脱贫户 and 监测户 are different answers (the hiring subsidy is for 脱贫劳动力 only)."""
    stripped = text.strip(" 。，,.!！")
    if stripped.startswith(("不是", "都不", "没有", "都没", "不", "没")) or "都不是" in stripped:
        return "neither"
    if "监测" in stripped or "边缘" in stripped:
        return "monitored"
    if any(w in stripped for w in ("脱贫", "建档立卡", "贫困户")):
        return "alleviated"
    return None


_EMPLOYERS = (
    ("workshop", ("帮扶车间", "扶贫车间", "车间")),
    ("farm_business", ("合作社", "家庭农场", "农场", "种植基地", "养殖场")),
    ("public_post", ("公益", "保洁", "护林", "协理员", "公益性岗位")),
    ("self_employed", ("自己干", "个体", "零工", "打零工", "自己做")),
    ("enterprise", ("企业", "公司", "工厂", "厂子", "厂里", "单位")),
    ("other", ("其他", "别的", "说不好")),
)


def parse_employer_type(text: str) -> str | None:
    return first_listed(_EMPLOYERS, text)
