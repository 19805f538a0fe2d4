"""The rulebook's data model: figures as dated entries with region, source and confirmation.

Frozen dataclasses so a loaded rulebook (and every layer above it) can be shared across threads
and cached without copying.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
DEFAULT_POLICIES_DIR = REPO_ROOT / "policies"

KINDS = ("exact", "floor", "ceiling")
TYPES = ("number", "bool", "text")
RESIDENCES = ("urban", "rural")
PRECISIONS = ("day", "month", "year")
DEFAULT_AREA = "秦皇岛市"
AREAS = (DEFAULT_AREA, "河北省", "全国")
CONFIDENCES = ("high", "medium", "low")

_PARAM_KEYS = {"description_zh", "unit", "type", "kind", "confirm_at", "values"}
_VALUE_KEYS = {"from", "value", "region", "source", "confirmed", "note_zh", "kind", "date_precision"}
_REGION_KEYS = {"districts", "residence", "area"}
_SOURCE_KEYS = {"title", "url", "published", "confidence"}
_ID_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
_CACHE_LIMIT = 50_000


class RulebookError(Exception):
    """A rulebook file is broken or contradicts itself. Names the file and the field."""

    def __init__(self, file: str, field: str, message_zh: str) -> None:
        super().__init__(f"{file}: {field}: {message_zh}")
        self.file = file
        self.field = field
        self.message_zh = message_zh


@dataclass(frozen=True)
class Region:
    """Where an entry applies. districts None = every district; residence None = urban and rural."""

    districts: frozenset[str] | None = None
    residence: str | None = None
    area: str = DEFAULT_AREA

    def matches(self, district: str | None, residence: str | None) -> bool:
        if self.districts is not None and district not in self.districts:
            return False
        return self.residence is None or self.residence == residence

    @property
    def specificity(self) -> int:
        return (self.districts is not None) + (self.residence is not None)

    def overlaps(self, other: Region) -> bool:
        districts_overlap = self.districts is None or other.districts is None or bool(self.districts & other.districts)
        residence_overlap = self.residence is None or other.residence is None or self.residence == other.residence
        return districts_overlap and residence_overlap

    def label_zh(self) -> str:
        parts = ["、".join(sorted(self.districts)) if self.districts is not None else self.area]
        if self.residence is not None:
            parts.append({"urban": "城市", "rural": "农村"}[self.residence])
        return "".join(parts[:1]) + ("（" + parts[1] + "）" if len(parts) > 1 else "")


@dataclass(frozen=True)
class Source:
    key: str
    title: str
    url: str
    published: date | None
    confidence: str


@dataclass(frozen=True)
class Entry:
    effective_from: date
    value: float | int | str | bool | None
    kind: str
    region: Region
    source: Source | None
    confirmed: bool
    note_zh: str
    precision: str
    proposal_id: int | None = None  # set for a value approved in the staff desk (the database layer)

    @property
    def order(self) -> tuple:
        """Lookup order: by date, then the more specific region, then an approved layer value after a file
        value of the same date and scope (staff approved it later, so it is the newer word)."""
        return (self.effective_from, self.region.specificity, self.proposal_id is not None, self.proposal_id or 0)


@dataclass(frozen=True)
class Parameter:
    id: str
    description_zh: str
    unit: str
    type: str
    confirm_at: str
    file: str
    entries: tuple[Entry, ...]


@dataclass(frozen=True)
class ParamValue:
    """One figure as it applies to a place on a date. value None means NOT FOUND (unset)."""

    id: str
    value: float | int | str | bool | None
    unit: str
    effective_from: date | None
    confirmed: bool
    source_title: str
    source_url: str
    note_zh: str
    region: str
    kind: str = "exact"
    description_zh: str = ""
    confirm_at_zh: str = ""
    precision: str = "day"

    def date_zh(self) -> str:
        """The effective date as precise as the source allows ('2018-01-01', '2023年7月', '2020年')."""
        d = self.effective_from
        if d is None:
            return ""
        if self.precision == "year":
            return f"{d.year}年"
        if self.precision == "month":
            return f"{d.year}年{d.month}月"
        return d.isoformat()

    def cite_zh(self, with_url: bool = True) -> str:
        """'（2018-01-01起执行；来源：秦政字〔2017〕44号 http://...）' plus '（未经本地确认）' when unconfirmed."""
        if self.effective_from is None:
            return f"（未找到公开数据，请向{self.confirm_at_zh}确认）"
        if self.value is None:
            return f"（{self.date_zh()}起的数值未找到，请向{self.confirm_at_zh}确认）"
        source = self.source_title
        if with_url and self.source_url:
            source = f"{source} {self.source_url}"
        text = f"（{self.date_zh()}起执行；来源：{source}）"
        if not self.confirmed:
            text += "（未经本地确认）"
        return text

    def reference(self) -> dict[str, str]:
        """The contract's reference object: title, url, effective_from."""
        return {
            "title": self.source_title or self.description_zh,
            "url": self.source_url,
            "effective_from": self.effective_from.isoformat() if self.effective_from else "",
        }
