"""Deterministic entity rules for hotline messages (pure functions, no Rasa).

DIET learns where entities are, but the dialogue needs exact values: the eligibility engine
wants 海港区 not 海港, 1200 not 一千二, a monthly figure not 一年两万来块. These rules find the
entities whose value can be read off the text itself and give their canonical value:

- district: canonical name (places.DISTRICT_FORMS; a township or street named alone gives its
  district, from the gazetteer data/gazetteer/qinhuangdao.yml), residence: urban|rural
- household_size: int (3口人, 三口人, 仨人, 四口之家, 家里五个人, 就我一个人 ...)
- amount: yuan per month; yearly phrasing is divided by 12 and marked ``period: year``
- disability_level: 1-4, only next to a disability word or as a bare answer (一级, 二级的)
- phone: 11-digit mobile number as digits; reference_no: QHD-YYYY-NNNNNN or QHD-YYYY-XXXXXXC

When a resident corrects themself (「三口人，不对不对，是四口人」), only the mention after the
correction is kept.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

from bot.nlu import places
from bot.nlu.numerals import NumberSpan, find_numbers, normalise_width, parse_number, tidy


@dataclass
class Found:
    """One entity found by the rules; ``extra`` holds keys such as ``period``."""

    entity: str
    start: int
    end: int
    value: Any
    extra: dict[str, Any] = field(default_factory=dict)

    def overlaps(self, start: int, end: int) -> bool:
        return self.start < end and start < self.end


ENTITY_TYPES = (
    "district",
    "residence",
    "household_size",
    "amount",
    "disability_level",
    "phone",
    "reference_no",
)

_PUNCT = r"\s，。,.!！？?、；;~～"
_N = r"[0-9一二两三四五六七八九十俩仨]{1,2}"
# "就我一个人挣钱", "家里就一个人有病" count part of the household, not all of it
_NOT_EARNING = r"(?!人?(?:挣|赚|干活|上班|打工|工作|有收入|劳动|能干|种地|出去|有病|生病|残疾|得了|瘫|上学|病))"

PHONE_RE = re.compile(r"(?<![0-9A-Za-z])(1[3-9]\d)[\s-]?(\d{4})[\s-]?(\d{4})(?!\d)")
# Old numbers: six digits; numbers since issue 10: six random symbols and a check symbol (bot.store.references).
REFERENCE_RE = re.compile(
    r"(?<![A-Za-z])qhd[\s\-_—–]*(\d{4})[\s\-_—–]*(\d{6}(?![0-9A-Za-z])|[0-9A-Za-z]{7}(?![0-9A-Za-z]))", re.IGNORECASE
)

_HOUSEHOLD_RES: Sequence[tuple[re.Pattern, int | None]] = (
    (re.compile(rf"(?P<n>{_N})\s*口(?:人|之家)"), None),
    (
        re.compile(
            rf"(?:一家|全家|家里|俺家|我家|我们家|咱家|户里|户口本上|户口上)(?:有|是|就|一共|总共|共)*(?P<n>{_N})\s*口(?![饭气水粮井])"
        ),
        None,
    ),
    (
        re.compile(
            rf"(?:家里|家庭人口|人口|我们家|俺家|我家|咱家|全家|一共|总共|户里|户口本上|家)(?:有|是|就|就是|一共|总共|共|连我)*"
            rf"(?P<n>{_N})\s*(?:个人|人|个(?=[{_PUNCT}]|$))" + _NOT_EARNING
        ),
        None,
    ),
    (re.compile(rf"(?:和|跟|加上|带着|连上)[^，。,.!！？?、；;0-9]{{1,6}}?(?P<n>{_N})个人" + _NOT_EARNING), None),
    (re.compile(rf"(?:我们|俺们|咱们)(?P<n>{_N})个(?:人)?" + _NOT_EARNING), None),
    (re.compile(r"(?:我们|我|俺|咱)(?P<n>俩|仨)"), None),
    (re.compile(r"(?P<n>俩|仨)人" + _NOT_EARNING), None),
    (
        re.compile(
            rf"^[{_PUNCT}]*(?:就|一共|总共|共|是|有)?(?P<n>{_N})\s*(?:个人|口人|口|人|个)(?:吧|啊|呢|的)?[{_PUNCT}]*$"
        ),
        None,
    ),
    (
        re.compile(
            r"就我一个人?"
            + _NOT_EARNING
            + r"|就我自己"
            + _NOT_EARNING
            + r"|我?一个人(?:过|住|生活)|独居|孤身一人|孤零零一个人"
        ),
        1,
    ),
)
# weaker cues, used only when nothing above matched
_HOUSEHOLD_WEAK_RES: Sequence[tuple[re.Pattern, int | None]] = (
    (re.compile(r"老两口|(?:就|我们|俺们|咱们|俺|咱)两口子"), 2),
)

_DISABILITY_RE = re.compile(r"(?P<n>[一二三四1-4])\s*级")
_DISABILITY_CONTEXT_RE = re.compile(r"残|肢体|视力|听力|言语|智力|精神|重残")
_WORK_INJURY_RE = re.compile(r"伤残|工伤")
_BARE_LEVEL_RE = re.compile(rf"^[{_PUNCT}]*(?:是|属于)?[一二三四1-4]\s*级(?:的|吧|啊)?[{_PUNCT}]*$")

_NOT_AMOUNT_AFTER_RE = re.compile(
    r"^(?:多|来|几)?(?:岁|周岁|年(?!收入)|个|月|号|日|天|点(?!\d)|级|口|人|斤|亩|平|米|次|遍|楼|层|户|分|小时|周|星期|届|胎|间|套|辆|袋|头|只|%|％)"
)
_MONEY_AFTER_RE = re.compile(r"^(?:多|来|把|几)?(?:块钱|块|元|圆|rmb)", re.IGNORECASE)
_MONEY_CUE_RE = re.compile(
    r"收入|工资|挣|赚|退休金|养老金|补贴|补助|低保金|救助金|领|拿|开|发|一个月|每个?月|月收入|月入|"
    r"一年|每年|年收入|年入|全年|下来|存款|花|医药费|药费|看病|欠|借|房租|学费|费用|剩|掏|自付|自费|"
    r"交|付|垫|能有|才|只有|不到|差不多|大概|大约|顶多|最多|也就|将近|多钱|钱"
)
_PERIOD_AFTER_RE = re.compile(r"^(?:多|来|把)?(?:块钱|块|元)?(?:左右)?(?:一个月|每个?月|一年|每年)")
_BARE_PREFIX_RE = re.compile(rf"^[{_PUNCT}]*(?:大概|大约|差不多|就|也就|才|只有|不到|将近|一共)?\s*$")
_BARE_SUFFIX_RE = re.compile(
    rf"^\s*(?:多|来|把|几)?\s*(?:块钱|块|元)?\s*(?:左右|上下|出头|吧|的样子|样子|钱)?(?:吧|啊|呢)?[{_PUNCT}]*$"
)
_YEAR_RE = re.compile(r"(?<![老青少中童半])年(?!龄|纪|轻|级|前|后|初)")
_MONTH_RE = re.compile(r"月(?!份)")
_CORRECTION_RE = re.compile(r"不对|不是|错了|说错|应该是|改成|改为|更正|纠正|重新说|准确说")


# How far around a number the amount rules look. Whole-rest checks (「两千」 alone, 「就两千吧」) only apply
# when the rest of the message is within this window: a slice of the whole rest per number made a long
# message quadratic.
_CONTEXT_CHARS = 64


class SpanIndex:
    """Overlap queries against a fixed set of spans in O(log n).

    Checking every earlier span for every new mention made extraction quadratic in the number of
    mentions (seconds of CPU for one 64 KB message); every door accepts text from strangers.
    """

    def __init__(self, spans: Iterable[tuple[int, int]]) -> None:
        ordered = sorted(spans)
        self._starts = [s for s, _ in ordered]
        self._max_end = list(accumulate((e for _, e in ordered), max))

    @classmethod
    def of(cls, found: Iterable[Found]) -> SpanIndex:
        return cls((f.start, f.end) for f in found)

    def overlaps(self, start: int, end: int) -> bool:
        """Whether any span shares a character with [start, end)."""
        before_end = bisect_left(self._starts, end)  # spans that start before `end`
        return before_end > 0 and self._max_end[before_end - 1] > start


def find_phones(text: str) -> list[Found]:
    """Mobile numbers (1[3-9] + 9 digits, spaces or dashes allowed) as digit strings."""
    return [Found("phone", m.start(), m.end(), "".join(m.groups())) for m in PHONE_RE.finditer(text)]


def find_reference_numbers(text: str) -> list[Found]:
    """Help-request numbers in any case and spacing, normalised to QHD-YYYY-NNNNNN / QHD-YYYY-XXXXXXC."""
    return [
        Found("reference_no", m.start(), m.end(), f"QHD-{m.group(1)}-{m.group(2).upper()}")
        for m in REFERENCE_RE.finditer(text)
    ]


def _household_matches(text: str, patterns: Sequence[tuple[re.Pattern, int | None]]) -> list[Found]:
    found: list[Found] = []
    for pattern, fixed in patterns:
        # one pattern's matches never overlap each other: check them against the earlier patterns' only
        earlier = SpanIndex.of(found)
        for m in pattern.finditer(text):
            value = fixed if fixed is not None else parse_number(m.group("n"))
            if value is None or not 1 <= value <= 20:
                continue
            if not earlier.overlaps(m.start(), m.end()):
                start = m.start("n") if "n" in pattern.groupindex else m.start()
                found.append(Found("household_size", start, m.end(), int(value)))
    return found


def find_household_sizes(text: str) -> list[Found]:
    """How many people live in the household, from the phrasings residents use."""
    return _household_matches(text, _HOUSEHOLD_RES) or _household_matches(text, _HOUSEHOLD_WEAK_RES)


def find_disability_levels(text: str) -> list[Found]:
    """Disability certificate grade 1-4 next to a disability word, or as a bare answer."""
    short = bool(_BARE_LEVEL_RE.match(text))
    found = []
    for m in _DISABILITY_RE.finditer(text):
        window = text[max(0, m.start() - 8) : m.end() + 8]
        if _WORK_INJURY_RE.search(window) and "残疾" not in window:
            continue
        if short or _DISABILITY_CONTEXT_RE.search(window):
            found.append(Found("disability_level", m.start(), m.end(), int(parse_number(m.group("n")))))
    return found


def _period(text: str, number: NumberSpan) -> str:
    """'year' when the nearest period word around the number is 年, else 'month'."""
    before = text[max(0, number.start - 10) : number.start]
    marks = [(m.end(), "year") for m in _YEAR_RE.finditer(before)]
    marks += [(m.end(), "month") for m in _MONTH_RE.finditer(before)]
    if marks:
        return max(marks)[1]
    after = text[number.end : number.end + 6]
    year, month = _YEAR_RE.search(after), _MONTH_RE.search(after)
    if year and (not month or year.start() < month.start()):
        return "year"
    return "month"


def _is_amount(text: str, number: NumberSpan) -> bool:
    after = text[number.end : number.end + _CONTEXT_CHARS]
    rest_is_short = len(text) - number.end <= _CONTEXT_CHARS
    if _NOT_AMOUNT_AFTER_RE.match(after) or text[max(0, number.start - 1) : number.start] == "几":
        return False  # 65岁, 3个月, 好几万 (too vague to use)
    if after.startswith("了") and number.value < 120:
        return False  # 我六十八了: an age
    if re.fullmatch(r"\d{7,}", number.text) or not 0 < number.value <= 1_000_000:
        return False
    if _MONEY_AFTER_RE.match(after):
        return True
    bare = (
        number.start <= _CONTEXT_CHARS
        and rest_is_short
        and _BARE_PREFIX_RE.match(text[: number.start])
        and _BARE_SUFFIX_RE.match(after)
    )
    big = number.value >= 100 or bool(re.search(r"[百千万kKwW]", number.text))
    if bare:
        return big
    before = text[max(0, number.start - 10) : number.start]
    cue = _MONEY_CUE_RE.search(before) or _PERIOD_AFTER_RE.match(after)
    return number.value >= 50 and bool(cue or re.match(r"^(?:多|来|把)?(?:左右|上下|出头)", after))


def find_amounts(text: str, taken: Iterable[tuple[int, int]] = ()) -> list[Found]:
    """Money amounts in yuan per month; yearly ones divided by 12 with ``period: year``."""
    taken_index = SpanIndex(taken)
    found = []
    for number in find_numbers(text):
        if taken_index.overlaps(number.start, number.end) or not _is_amount(text, number):
            continue
        period = _period(text, number)
        value = tidy(number.value / 12) if period == "year" else number.value
        found.append(Found("amount", number.start, number.end, value, {"period": period}))
    return found


def find_places(text: str) -> list[Found]:
    """Districts (canonical names, also from a township named alone) and residence (urban|rural)."""
    found = [Found("district", s, e, v) for s, e, v in places.find_districts(text)]
    found += [Found("residence", s, e, v) for s, e, v in places.find_residences(text)]
    return found


def drop_corrected(text: str, found: list[Found]) -> list[Found]:
    """Drop a mention that a later mention of the same type corrects.

    Corrected: a correction cue lies between the two (「三口人，不对，是四口人」) or directly
    in front of the earlier one (「不是海港，是山海关」). Linear after sorting: for each mention only
    the first cue after it and the last mention of its type matter.
    """
    cues = [(m.start(), m.end()) for m in _CORRECTION_RE.finditer(text)]  # ordered, non-overlapping
    cue_starts = [start for start, _ in cues]
    cue_ends = [end for _, end in cues]
    last_start: dict[str, int] = {}
    for item in found:
        last_start[item.entity] = max(last_start.get(item.entity, -1), item.start)
    kept = []
    for item in found:
        latest = last_start[item.entity]
        if latest < item.end:  # no later mention of this type: nothing corrects it
            kept.append(item)
            continue
        first_after = bisect_left(cue_starts, item.end)
        cue_between = first_after < len(cues) and cue_ends[first_after] <= latest
        near_before = bisect_left(cue_ends, item.start - 2)
        cue_in_front = near_before < len(cues) and cue_ends[near_before] <= item.start
        if not (cue_between or cue_in_front):
            kept.append(item)
    return kept


def extract(text: str) -> list[Found]:
    """All rule entities of ``text``, sorted by position."""
    plain = normalise_width(text)
    found = find_reference_numbers(plain)
    references = SpanIndex.of(found)
    found += [p for p in find_phones(plain) if not references.overlaps(p.start, p.end)]
    found += find_household_sizes(plain)
    so_far = SpanIndex.of(found)
    found += [d for d in find_disability_levels(plain) if not so_far.overlaps(d.start, d.end)]
    found += find_amounts(plain, taken=[(f.start, f.end) for f in found])
    found += find_places(plain)
    return sorted(drop_corrected(plain, found), key=lambda f: (f.start, f.entity))
