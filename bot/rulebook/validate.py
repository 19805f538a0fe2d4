"""The rules every figure obeys, whether it comes from a YAML file or (later) another source.

Each refusal raises RulebookError(file, field, message_zh) naming the field, in Chinese, because the
people who fix it are policy staff, not programmers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date
from typing import Any

from bot.rulebook.model import (
    _ID_RE,
    _PARAM_KEYS,
    _REGION_KEYS,
    _SOURCE_KEYS,
    _VALUE_KEYS,
    AREAS,
    CONFIDENCES,
    DEFAULT_AREA,
    KINDS,
    PRECISIONS,
    RESIDENCES,
    TYPES,
    Entry,
    Parameter,
    Region,
    RulebookError,
    Source,
)


def _parse_date(raw: Any, file: str, field: str) -> date:
    if isinstance(raw, date):
        return raw
    if isinstance(raw, str):
        try:
            return date.fromisoformat(raw.strip())
        except ValueError:
            pass
    raise RulebookError(file, field, f"日期格式应为 YYYY-MM-DD，实际是 {raw!r}")


def _require(mapping: Mapping[str, Any], key: str, file: str, field: str) -> Any:
    if key not in mapping:
        raise RulebookError(file, f"{field}.{key}", "缺少必填字段")
    return mapping[key]


def _check_keys(mapping: Any, allowed: set[str], file: str, field: str) -> None:
    if not isinstance(mapping, dict):
        raise RulebookError(file, field, "应为键值对（映射）")
    unknown = sorted(set(map(str, mapping)) - allowed)
    if unknown:
        raise RulebookError(file, f"{field}.{unknown[0]}", f"未知字段（允许的字段：{'、'.join(sorted(allowed))}）")


def _text(raw: Any, file: str, field: str, allow_empty: bool = False) -> str:
    if raw is None and allow_empty:
        return ""
    if not isinstance(raw, str) or (not allow_empty and not raw.strip()):
        raise RulebookError(file, field, "应为非空文字")
    return raw.strip()


class Checker:
    """Validates parameters and entries against the known districts, offices and sources."""

    def __init__(self) -> None:
        self.districts: dict[str, str] = {}  # alias or name -> canonical
        self.canonical: list[str] = []
        self.offices: dict[str, str] = {}
        self.sources: dict[str, Source] = {}

    @classmethod
    def for_rulebook(cls, rulebook: Any) -> Checker:
        """A checker that knows a loaded rulebook's districts, offices and sources (for values added later)."""
        checker = cls()
        checker.canonical = list(rulebook.districts)
        checker.districts = dict(rulebook.aliases)
        checker.offices = dict(rulebook.offices)
        checker.sources = dict(rulebook.sources)
        return checker

    def add_source(self, file: str, key: str, body: Any) -> Source:
        """Validate one document ({title, url, published, confidence}) and remember it under `key`."""
        field = f"sources.{key}"
        _check_keys(body, _SOURCE_KEYS, file, field)
        if key in self.sources:
            raise RulebookError(file, field, "来源代号重复")
        confidence = _require(body, "confidence", file, field)
        if confidence not in CONFIDENCES:
            raise RulebookError(file, f"{field}.confidence", f"应为 {'/'.join(CONFIDENCES)} 之一")
        url = _text(body.get("url", ""), file, f"{field}.url", allow_empty=True)
        if url and not url.startswith(("http://", "https://")):
            raise RulebookError(file, f"{field}.url", "网址应以 http:// 或 https:// 开头")
        published = body.get("published")
        source = Source(
            key=key,
            title=_text(_require(body, "title", file, field), file, f"{field}.title"),
            url=url,
            published=_parse_date(published, file, f"{field}.published") if published is not None else None,
            confidence=confidence,
        )
        self.sources[key] = source
        return source

    def _parameter(self, file: str, pid: str, body: Any) -> Parameter:
        field = f"parameters.{pid}"
        if not _ID_RE.match(pid):
            raise RulebookError(file, field, "参数编号应为小写英文加点分隔，如 dibao.standard.urban_monthly")
        _check_keys(body, _PARAM_KEYS, file, field)
        ptype = _require(body, "type", file, field)
        if ptype not in TYPES:
            raise RulebookError(file, f"{field}.type", f"应为 {'/'.join(TYPES)} 之一")
        default_kind = body.get("kind", "exact")
        if default_kind not in KINDS:
            raise RulebookError(file, f"{field}.kind", f"应为 {'/'.join(KINDS)} 之一")
        confirm_at = _require(body, "confirm_at", file, field)
        if confirm_at not in self.offices:
            raise RulebookError(file, f"{field}.confirm_at", f"未知的办理机构代号“{confirm_at}”")
        values = _require(body, "values", file, field)
        if not isinstance(values, list) or not values:
            raise RulebookError(file, f"{field}.values", "应为非空列表（按日期列出数值）")
        entries = [self.entry(file, f"{field}.values[{i}]", ptype, default_kind, v) for i, v in enumerate(values)]
        self._check_contradictions(file, field, entries)
        return Parameter(
            id=pid,
            description_zh=_text(_require(body, "description_zh", file, field), file, f"{field}.description_zh"),
            unit=_text(_require(body, "unit", file, field), file, f"{field}.unit"),
            type=ptype,
            confirm_at=confirm_at,
            file=file,
            entries=tuple(sorted(entries, key=lambda e: e.order)),
        )

    def entry(self, file: str, field: str, ptype: str, default_kind: str, raw: Any) -> Entry:
        """One dated value as a file holds it ({from, value, region, source, confirmed, ...}) -> Entry.
        Also the check a value proposed in the staff desk passes (bot.rulebook.layer)."""
        _check_keys(raw, _VALUE_KEYS, file, field)
        start = _parse_date(_require(raw, "from", file, field), file, f"{field}.from")
        value = _require(raw, "value", file, field)
        value = self._typed_value(file, f"{field}.value", ptype, value)
        kind = raw.get("kind", default_kind)
        if kind not in KINDS:
            raise RulebookError(file, f"{field}.kind", f"应为 {'/'.join(KINDS)} 之一")
        if kind != "exact" and ptype != "number":
            raise RulebookError(file, f"{field}.kind", "只有数值参数可以是下限（floor）或上限（ceiling）")
        confirmed = _require(raw, "confirmed", file, field)
        if not isinstance(confirmed, bool):
            raise RulebookError(file, f"{field}.confirmed", "应为 true 或 false")
        if value is None and confirmed:
            raise RulebookError(file, f"{field}.confirmed", "数值未找到（null）时不能标为已确认（confirmed: true）")
        source_key = raw.get("source")
        source = None
        if source_key is not None:
            if source_key not in self.sources:
                raise RulebookError(file, f"{field}.source", f"未知的来源代号“{source_key}”（请在 sources 中定义）")
            source = self.sources[source_key]
        elif value is not None:
            raise RulebookError(file, f"{field}.source", "有数值的条目必须注明来源（source）")
        note = _text(raw.get("note_zh", ""), file, f"{field}.note_zh", allow_empty=True)
        if value is None and not note:
            raise RulebookError(file, f"{field}.note_zh", "数值未找到（null）时必须用 note_zh 说明情况")
        precision = raw.get("date_precision", "day")
        if precision not in PRECISIONS:
            raise RulebookError(file, f"{field}.date_precision", f"应为 {'/'.join(PRECISIONS)} 之一")
        return Entry(
            start,
            value,
            kind,
            self._region(file, f"{field}.region", raw.get("region")),
            source,
            confirmed,
            note,
            precision,
        )

    @staticmethod
    def _typed_value(file: str, field: str, ptype: str, value: Any) -> Any:
        if value is None:
            return None
        if ptype == "bool":
            if not isinstance(value, bool):
                raise RulebookError(file, field, "应为 true、false 或 null")
            return value
        if ptype == "text":
            if not isinstance(value, (str, int)) or isinstance(value, bool):
                raise RulebookError(file, field, "应为文字或 null")
            return str(value).strip()
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise RulebookError(file, field, f"应为数字或 null，实际是 {value!r}")
        if not math.isfinite(value) or value < 0:
            raise RulebookError(file, field, "数值应为不小于0的有限数")
        return value

    def _region(self, file: str, field: str, raw: Any) -> Region:
        if raw is None:
            return Region()
        _check_keys(raw, _REGION_KEYS, file, field)
        districts = raw.get("districts")
        if districts is not None:
            if not isinstance(districts, list) or not districts:
                raise RulebookError(file, f"{field}.districts", "应为非空的县区列表")
            for d in districts:
                if d not in self.canonical:
                    raise RulebookError(file, f"{field}.districts", f"未知县区“{d}”（请用规范名称）")
            districts = frozenset(districts)
        residence = raw.get("residence")
        if residence is not None and residence not in RESIDENCES:
            raise RulebookError(file, f"{field}.residence", "应为 urban 或 rural")
        area = raw.get("area", DEFAULT_AREA)
        if area not in AREAS:
            raise RulebookError(file, f"{field}.area", f"应为 {'/'.join(AREAS)} 之一")
        return Region(districts, residence, area)

    @staticmethod
    def _check_contradictions(file: str, field: str, entries: list[Entry]) -> None:
        """Two entries from the same date with equally specific, overlapping regions cannot both hold."""
        pair = find_contradiction(entries)
        if pair is not None:
            i, j = pair
            raise RulebookError(
                file,
                f"{field}.values[{j}]",
                f"与 values[{i}] 矛盾：同一生效日期（{entries[i].effective_from}）、同一地区范围有两个数值",
            )
        below = find_below_city_bound(entries)
        if below is not None:
            i, message_zh = below
            raise RulebookError(file, f"{field}.values[{i}].value", message_zh)


def find_contradiction(entries: list[Entry] | tuple[Entry, ...]) -> tuple[int, int] | None:
    """The first pair (i, j) of entries from the same date with equally specific, overlapping regions."""
    for i, a in enumerate(entries):
        for j in range(i + 1, len(entries)):
            b = entries[j]
            if (
                a.effective_from == b.effective_from
                and a.region.specificity == b.region.specificity
                and a.region.overlaps(b.region)
            ):
                return i, j
    return None


def city_bound(entries: list[Entry] | tuple[Entry, ...], on: date, residence: str | None) -> Entry | None:
    """The city-wide entry (no district named) in force on `on` for `residence`, or None."""
    best: Entry | None = None
    for entry in sorted(entries, key=lambda e: e.order):
        if entry.effective_from > on:
            break
        if entry.region.districts is None and entry.region.matches(None, residence):
            best = entry
    return best


def find_below_city_bound(entries: list[Entry] | tuple[Entry, ...]) -> tuple[int, str] | None:
    """A district's figure below the city-wide floor (or above its ceiling) in force on the same date:
    (index, Chinese reason). The city sets 「各县区不低于…」; a county cannot go under it."""
    for i, entry in enumerate(entries):
        if entry.region.districts is None or not isinstance(entry.value, (int, float)) or isinstance(entry.value, bool):
            continue
        bound = city_bound(entries, entry.effective_from, entry.region.residence)
        if bound is None or not isinstance(bound.value, (int, float)) or isinstance(bound.value, bool):
            continue
        source = f"，{bound.source.title}" if bound.source else ""
        if bound.kind == "floor" and entry.value < bound.value:
            return i, (
                f"{entry.value} 低于全市下限 {bound.value}（{bound.effective_from}起{source}），"
                "县区标准不能低于全市标准"
            )
        if bound.kind == "ceiling" and entry.value > bound.value:
            return i, (
                f"{entry.value} 高于全市上限 {bound.value}（{bound.effective_from}起{source}），县区标准不能高于全市上限"
            )
    return None
