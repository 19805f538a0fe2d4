"""Place words of the Qinhuangdao hotline: districts, townships and urban/rural residence.

Residents name districts by full name, short form (青龙, 海港, 开发区, 新区) or only say
城里 / 村里. The tables below map every form to the canonical values of the eligibility
contract (/work/shared/contracts/eligibility.md): the 9 district names and urban|rural.
Many name only their township or street (石门寨, 木头凳镇, 骊城街道): the sourced gazetteer
data/gazetteer/qinhuangdao.yml gives each its district. A word that the gazetteer lists for
two districts (大蒲河: a town of 昌黎县 and a unit of 北戴河新区) gives none, so the form asks.
Matching is longest-first over districts and townships together, so 北戴河新区 never becomes
北戴河区 and 海港开发区 never becomes 开发区.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from re import Pattern

import yaml

# canonical district -> the ways residents write it (the canonical name is added below)
DISTRICT_FORMS: dict[str, tuple[str, ...]] = {
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

RESIDENCE_FORMS: dict[str, tuple[str, ...]] = {
    "urban": ("城镇户口", "城市户口", "城镇", "城市", "城里", "市区", "县城", "城区", "非农户口"),
    "rural": ("农村户口", "农业户口", "农村", "乡下", "村里", "乡村", "村上", "屯里"),
}


def _alias_table(forms: dict[str, tuple[str, ...]]) -> dict[str, str]:
    table = {}
    for canonical, aliases in forms.items():
        for alias in (canonical, *aliases):
            table[alias] = canonical
    return table


DISTRICT_ALIASES: dict[str, str] = _alias_table(DISTRICT_FORMS)
RESIDENCE_ALIASES: dict[str, str] = _alias_table(RESIDENCE_FORMS)
# the canonical residence codes are not words a resident writes
del RESIDENCE_ALIASES["urban"], RESIDENCE_ALIASES["rural"]


GAZETTEER_PATH = Path(__file__).resolve().parents[2] / "data" / "gazetteer" / "qinhuangdao.yml"
TOWNSHIP_KINDS = ("street", "town", "township", "other")


@dataclass(frozen=True)
class Township:
    """One township-level unit of the gazetteer (乡, 镇, 街道 or a unit like 管理处)."""

    name: str
    code: str
    kind: str
    district: str
    short: tuple[str, ...] = ()
    former: tuple[str, ...] = ()

    def forms(self) -> tuple[str, ...]:
        """Every way of writing it: name, former names, short forms; streets also with 办事处/办."""
        forms = [self.name, *self.former, *self.short]
        if self.kind == "street":
            stem = self.name.removesuffix("街道")
            forms += [f"{self.name}办事处", f"{self.name}办", f"{stem}办事处"]
        return tuple(forms)


def load_gazetteer(path: Path = GAZETTEER_PATH) -> tuple[Township, ...]:
    """The gazetteer's places, checked: a wrong district or kind would place residents wrongly."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    townships: list[Township] = []
    for row in data["places"]:
        place = Township(
            name=str(row["name"]),
            code=str(row["code"]),
            kind=str(row["kind"]),
            district=str(row["district"]),
            short=tuple(row.get("short", ())),
            former=tuple(row.get("former", ())),
        )
        if place.district not in DISTRICT_FORMS:
            raise ValueError(f"{path}: {place.name}: district {place.district!r} is not a canonical district")
        if place.kind not in TOWNSHIP_KINDS or not re.fullmatch(r"1303\d{5}", place.code):
            raise ValueError(f"{path}: {place.name}: bad kind {place.kind!r} or code {place.code!r}")
        townships.append(place)
    names = [t.name for t in townships]
    if len(set(names)) != len(names):
        raise ValueError(f"{path}: a place is listed twice")
    return tuple(townships)


def township_table(townships: tuple[Township, ...]) -> dict[str, str | None]:
    """Every township form -> its district; None for a form listed in two districts (ambiguous).

    Forms that are a district's own word (海港 of 海港镇) are left to the district table.
    """
    claims: dict[str, set] = {}
    for place in townships:
        for form in place.forms():
            claims.setdefault(form, set()).add(place.district)
    return {
        form: next(iter(districts)) if len(districts) == 1 else None
        for form, districts in claims.items()
        if form not in DISTRICT_ALIASES
    }


TOWNSHIPS: tuple[Township, ...] = load_gazetteer()
TOWNSHIP_ALIASES: dict[str, str | None] = township_table(TOWNSHIPS)


def _longest_first(table: dict[str, object]) -> Pattern[str]:
    words = sorted(table, key=len, reverse=True)
    return re.compile("|".join(re.escape(w) for w in words))


_PLACE_RE = _longest_first({**TOWNSHIP_ALIASES, **DISTRICT_ALIASES})
_RESIDENCE_RE = _longest_first(RESIDENCE_ALIASES)


def canonical_district(text: str) -> str | None:
    """The canonical district for a whole word (青龙 -> 青龙满族自治县), else None."""
    return DISTRICT_ALIASES.get(text.strip())


def canonical_residence(text: str) -> str | None:
    """urban|rural for a whole word (村里 -> rural), else None; accepts the codes too."""
    word = text.strip()
    if word in ("urban", "rural"):
        return word
    return RESIDENCE_ALIASES.get(word)


@dataclass(frozen=True)
class PlaceMention:
    """A district or township word in a text; ``district`` is None when the word is ambiguous."""

    start: int
    end: int
    district: str | None
    township: bool


def find_place_mentions(text: str) -> Iterator[PlaceMention]:
    """Every district or township word of ``text``, longest match first."""
    for match in _PLACE_RE.finditer(text):
        word = match.group()
        if word in DISTRICT_ALIASES:
            yield PlaceMention(match.start(), match.end(), DISTRICT_ALIASES[word], township=False)
        else:
            yield PlaceMention(match.start(), match.end(), TOWNSHIP_ALIASES[word], township=True)


def find_districts(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, canonical district) for every district mention, longest match first.

    A township or street counts as a mention of its district only when no district is named:
    in 「青龙的木头凳镇」 青龙 already says it, and when a resident names a district and a
    township of another one, the district they named is taken. Ambiguous words count as nothing.
    """
    mentions = list(find_place_mentions(text))
    named = [m for m in mentions if not m.township]
    for mention in named or mentions:
        if mention.district is not None:
            yield mention.start, mention.end, mention.district


def district_of(text: str) -> str | None:
    """The one canonical district a free-text place answer names, else None.

    「石门寨镇」 -> 海港区, 「青龙」 -> 青龙满族自治县; None when nothing is recognised, the word
    is ambiguous (大蒲河) or two different districts are named (the form then asks).
    """
    districts = {district for _, _, district in find_districts(text)}
    return districts.pop() if len(districts) == 1 else None


def find_residences(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, urban|rural) for every residence word."""
    for match in _RESIDENCE_RE.finditer(text):
        yield match.start(), match.end(), RESIDENCE_ALIASES[match.group()]
