"""Numbers the way residents type or dictate them, turned into Python numbers.

Residents write 1200, 1,200, 1.2k, 1.2万, 一千二, 一千二百块, 两千四, 千把块, 三四百 or 仨. cn2an
converts standard Chinese numerals; this module first rewrites the colloquial parts that cn2an
refuses (两/俩/仨, a bare leading 千/万, k/w suffixes, digits mixed with Chinese units, "X点Y万",
adjacent-digit ranges like 三四百) and then hands the rest to cn2an.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

import cn2an

Number = int | float

_CN_CHARS = "零〇一二两三四五六七八九十百千万壹贰叁肆伍陆柒捌玖拾佰仟俩仨"
_CN_DIGIT_VALUE = {c: i for i, c in enumerate("零一二三四五六七八九")}
_UNIT_VALUE = {"十": 10, "百": 100, "千": 1000, "万": 10000}

# One numeric expression: Arabic (with thousands separators, decimals, k/w or Chinese unit
# suffixes such as 1万2) or a run of Chinese numeral characters (with an inner 点).
NUMBER_RE = re.compile(
    r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[kKwW](?![A-Za-z])|[十百千万](?:[0-9一二两三四五六七八九](?![0-9十百千]))?)?"
    rf"|[{_CN_CHARS}](?:[{_CN_CHARS}]|点(?=[{_CN_CHARS}]))*"
)

_RANGE_RE = re.compile(r"^([一二三四五六七八九])([一二三四五六七八九])([十百千万])$")
_DECIMAL_UNIT_RE = re.compile(r"^(\d+|[零一二三四五六七八九十]+)点([零一二三四五六七八九\d]+)([千万])$")


@dataclass(frozen=True)
class NumberSpan:
    """A numeric expression found in a text: where it is and what it is worth."""

    start: int
    end: int
    text: str
    value: Number


def tidy(value: float) -> Number:
    """Return an int for whole numbers, else the float rounded to 2 decimals."""
    rounded = round(float(value), 2)
    return int(rounded) if rounded == int(rounded) else rounded


def normalise_width(text: str) -> str:
    """Map full-width digits, letters and signs to ASCII one character at a time.

    Character-wise so that offsets in the result are offsets in the original text.
    """
    out = []
    for char in text:
        mapped = unicodedata.normalize("NFKC", char)
        out.append(mapped if len(mapped) == 1 else char)
    return "".join(out)


def _colloquial_to_standard(text: str) -> str:
    """Rewrite 两/俩/仨/〇 and a bare leading unit (千把块 -> 一千) into cn2an's vocabulary."""
    text = text.replace("两", "二").replace("俩", "二").replace("仨", "三").replace("〇", "零")
    if text and text[0] in "百千万":
        text = "一" + text
    return text


def _digits_to_chinese(text: str) -> str:
    """Write ASCII digits as Chinese digits, so that 1万2 becomes 一万二."""
    return "".join("零一二三四五六七八九"[int(c)] if c.isdigit() else c for c in text)


def _small_chinese(text: str) -> Number | None:
    """Value of a plain digit string written in Chinese or Arabic (the part after 点)."""
    if text.isdigit():
        return int(text)
    try:
        return int("".join(str(_CN_DIGIT_VALUE[c]) for c in text))
    except KeyError:
        return None


def parse_number(text: str) -> Number | None:
    """Value of one numeric expression, or None if it is not a number.

    >>> parse_number("一千二"), parse_number("1.2k"), parse_number("三四百"), parse_number("仨")
    (1200, 1200, 350, 3)
    """
    raw = normalise_width(text).strip().replace(",", "")
    if not raw:
        return None
    multiplier = 1
    if raw[-1] in "kK":
        raw, multiplier = raw[:-1], 1000
    elif raw[-1] in "wW":
        raw, multiplier = raw[:-1], 10000
    if re.fullmatch(r"\d+(?:\.\d+)?", raw):
        return tidy(float(raw) * multiplier)
    raw = _colloquial_to_standard(raw)

    ranged = _RANGE_RE.match(raw)
    if ranged and _CN_DIGIT_VALUE[ranged.group(2)] == _CN_DIGIT_VALUE[ranged.group(1)] + 1:
        low = _CN_DIGIT_VALUE[ranged.group(1)]
        return tidy((low + 0.5) * _UNIT_VALUE[ranged.group(3)] * multiplier)

    decimal = _DECIMAL_UNIT_RE.match(raw)
    if decimal:
        whole = parse_number(decimal.group(1))
        fraction = _small_chinese(decimal.group(2))
        if whole is None or fraction is None:
            return None
        value = whole + fraction / 10 ** len(decimal.group(2))
        return tidy(value * _UNIT_VALUE[decimal.group(3)] * multiplier)

    if re.search(r"\d", raw):
        if re.fullmatch(r"\d+(?:\.\d+)?[十百千万]", raw):
            number, unit = raw[:-1], raw[-1]
            return tidy(float(number) * _UNIT_VALUE[unit] * multiplier)
        raw = _digits_to_chinese(raw)
    if "点" in raw:
        return None
    try:
        value = cn2an.cn2an(raw, "normal")
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    return tidy(float(value) * multiplier)


# after these, a trailing 一 starts a new phrase: 一千二一个月 = 一千二 + 一个月, not 1201
_NEW_PHRASE_AFTER_ONE = tuple("个年家口天共直般样起下")


# No amount, size or count a resident writes is longer than this; trying every prefix of a longer run
# made one long run of numerals cost quadratic time (and cn2an on every prefix).
MAX_NUMBER_CHARS = 24


def _split_run(plain: str, start: int, end: int) -> Iterator[tuple[int, int, Number]]:
    """(start, end, value) for a numeral run, splitting voice-input run-ons (一千二一个月)."""
    tail: list[tuple[int, int, Number]] = []
    if end - start > 1 and plain[end - 1] == "一" and plain[end : end + 1] in _NEW_PHRASE_AFTER_ONE:
        end, tail = end - 1, [(end - 1, end, 1)]
    while start < end:
        for stop in range(min(end, start + MAX_NUMBER_CHARS), start, -1):
            value = parse_number(plain[start:stop])
            if value is not None:
                yield start, stop, value
                start = stop
                break
        else:
            start += 1
    yield from tail


def find_numbers(text: str) -> Iterator[NumberSpan]:
    """Every numeric expression of ``text`` (offsets refer to ``text`` itself).

    A run that does not parse as a whole is read as its longest parseable prefix, then the
    rest (voice input glues numbers together: 两千四一个月).
    """
    plain = normalise_width(text)
    for match in NUMBER_RE.finditer(plain):
        for start, end, value in _split_run(plain, match.start(), match.end()):
            yield NumberSpan(start, end, text[start:end], value)
