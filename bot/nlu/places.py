"""Place words of the Qinhuangdao hotline: districts and urban/rural residence.

Residents name districts by full name, short form (青龙, 海港, 开发区, 新区) or only say
城里 / 村里. The tables below map every form to the canonical values of the eligibility
contract (/work/shared/contracts/eligibility.md): the 9 district names and urban|rural.
Matching is longest-first, so 北戴河新区 never becomes 北戴河区.
"""

from __future__ import annotations

import re
from typing import Dict, Iterator, Optional, Pattern, Tuple

# canonical district -> the ways residents write it (the canonical name is added below)
DISTRICT_FORMS: Dict[str, Tuple[str, ...]] = {
    "海港区": ("海港",),
    "山海关区": ("山海关",),
    "北戴河区": ("北戴河",),
    "抚宁区": ("抚宁县", "抚宁"),
    "青龙满族自治县": ("青龙自治县", "青龙县", "青龙"),
    "昌黎县": ("昌黎",),
    "卢龙县": ("卢龙",),
    "秦皇岛经济技术开发区": (
        "秦皇岛开发区",
        "经济技术开发区",
        "经济开发区",
        "经开区",
        "开发区",
    ),
    "北戴河新区": ("戴河新区", "新区"),
}

RESIDENCE_FORMS: Dict[str, Tuple[str, ...]] = {
    "urban": ("城镇户口", "城市户口", "城镇", "城市", "城里", "市区", "县城", "城区", "非农户口"),
    "rural": ("农村户口", "农业户口", "农村", "乡下", "村里", "乡村", "村上", "屯里"),
}


def _alias_table(forms: Dict[str, Tuple[str, ...]]) -> Dict[str, str]:
    table = {}
    for canonical, aliases in forms.items():
        for alias in (canonical, *aliases):
            table[alias] = canonical
    return table


DISTRICT_ALIASES: Dict[str, str] = _alias_table(DISTRICT_FORMS)
RESIDENCE_ALIASES: Dict[str, str] = _alias_table(RESIDENCE_FORMS)
# the canonical residence codes are not words a resident writes
del RESIDENCE_ALIASES["urban"], RESIDENCE_ALIASES["rural"]


def _longest_first(table: Dict[str, str]) -> Pattern[str]:
    words = sorted(table, key=len, reverse=True)
    return re.compile("|".join(re.escape(w) for w in words))


_DISTRICT_RE = _longest_first(DISTRICT_ALIASES)
_RESIDENCE_RE = _longest_first(RESIDENCE_ALIASES)


def canonical_district(text: str) -> Optional[str]:
    """The canonical district for a whole word (青龙 -> 青龙满族自治县), else None."""
    return DISTRICT_ALIASES.get(text.strip())


def canonical_residence(text: str) -> Optional[str]:
    """urban|rural for a whole word (村里 -> rural), else None; accepts the codes too."""
    word = text.strip()
    if word in ("urban", "rural"):
        return word
    return RESIDENCE_ALIASES.get(word)


def find_districts(text: str) -> Iterator[Tuple[int, int, str]]:
    """(start, end, canonical district) for every district mention, longest match first."""
    for match in _DISTRICT_RE.finditer(text):
        yield match.start(), match.end(), DISTRICT_ALIASES[match.group()]


def find_residences(text: str) -> Iterator[Tuple[int, int, str]]:
    """(start, end, urban|rural) for every residence word."""
    for match in _RESIDENCE_RE.finditer(text):
        yield match.start(), match.end(), RESIDENCE_ALIASES[match.group()]
