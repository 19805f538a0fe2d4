"""The rulebook: policy figures as dated data (policies/*.yml), validated at load.

Why data and not code: standards change every year or two and most current Qinhuangdao figures are
not public. Keeping every figure in YAML with its effective date, region scope, source and a
`confirmed` flag lets staff update a figure without touching code, lets answers cite the source, and
lets the engine say honestly when a figure is missing (value null) or unconfirmed.

File layout (all *.yml in the folder, any order; the layout follows OpenFisca's dated parameters):
- a file with `districts:` / `offices:`   -> canonical district names with their short forms; offices
- a file with `sources:`                   -> documents: title, url, published, confidence
- files with `parameters:`                 -> `<id>: {description_zh, unit, type, kind?, confirm_at, values}`
  where each value is `{from, value, region?, source?, confirmed, note_zh?, kind?, date_precision?}`.

Lookup rule (`Rulebook.value`): among the entries whose region matches the place asked about and whose
`from` is on or before the date, the latest `from` wins; on the same date a district- or
residence-specific entry wins over a general one. A later city-wide figure therefore replaces an
earlier district-specific one, which is how the sources read ("各县区不低于…").
"""
from __future__ import annotations

import hashlib
import math
import os
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator, Mapping

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
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

    def overlaps(self, other: "Region") -> bool:
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

    @property
    def found(self) -> bool:
        return self.value is not None

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


class _Loader:
    """Reads and validates one policies folder. Each check names the file and field that failed."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.districts: dict[str, str] = {}  # alias or name -> canonical
        self.canonical: list[str] = []
        self.offices: dict[str, str] = {}
        self.sources: dict[str, Source] = {}
        self.raw_params: list[tuple[str, str, Any]] = []

    def load(self) -> "Rulebook":
        if not self.folder.is_dir():
            raise RulebookError(str(self.folder), "-", "找不到规则目录")
        files = sorted(p for p in self.folder.glob("*.yml") if p.is_file())
        if not files:
            raise RulebookError(str(self.folder), "-", "目录里没有 .yml 规则文件")
        digest = hashlib.sha256()
        documents = []
        for path in files:
            raw_bytes = path.read_bytes()
            digest.update(path.name.encode() + b"\0" + raw_bytes + b"\0")
            try:
                doc = yaml.safe_load(raw_bytes.decode("utf-8"))
            except (yaml.YAMLError, UnicodeDecodeError) as exc:
                raise RulebookError(path.name, "-", f"不是有效的 YAML：{exc}") from None
            if not isinstance(doc, dict):
                raise RulebookError(path.name, "-", "文件顶层应为映射")
            unknown = sorted(set(map(str, doc)) - {"districts", "offices", "sources", "parameters"})
            if unknown:
                raise RulebookError(path.name, unknown[0], "未知的顶层字段")
            documents.append((path.name, doc))
        for name, doc in documents:
            if "districts" in doc:
                self._districts(name, doc["districts"])
            if "offices" in doc:
                self._offices(name, doc["offices"])
            if "sources" in doc:
                self._sources(name, doc["sources"])
        if not self.canonical:
            raise RulebookError(str(self.folder), "districts", "没有任何文件定义县区（districts）")
        params: dict[str, Parameter] = {}
        for name, doc in documents:
            block = doc.get("parameters")
            if block is None:
                continue
            if not isinstance(block, dict):
                raise RulebookError(name, "parameters", "应为映射：参数编号 -> 参数")
            for pid, body in block.items():
                param = self._parameter(name, str(pid), body)
                if param.id in params:
                    raise RulebookError(name, f"parameters.{pid}", f"参数重复定义（已在 {params[param.id].file} 中定义）")
                params[param.id] = param
        if not params:
            raise RulebookError(str(self.folder), "parameters", "没有任何参数")
        return Rulebook(
            folder=self.folder,
            parameters=params,
            districts=tuple(self.canonical),
            aliases=dict(self.districts),
            offices=dict(self.offices),
            sources=dict(self.sources),
            version=digest.hexdigest()[:12],
        )

    def _districts(self, file: str, raw: Any) -> None:
        if self.canonical:
            raise RulebookError(file, "districts", "县区只能在一个文件里定义")
        if not isinstance(raw, list) or not raw:
            raise RulebookError(file, "districts", "应为非空列表")
        for i, item in enumerate(raw):
            field = f"districts[{i}]"
            _check_keys(item, {"name", "aliases"}, file, field)
            name = _text(item.get("name"), file, f"{field}.name")
            aliases = item.get("aliases") or []
            if not isinstance(aliases, list):
                raise RulebookError(file, f"{field}.aliases", "应为列表")
            self.canonical.append(name)
            for alias in [name, *aliases]:
                alias = _text(alias, file, f"{field}.aliases")
                if alias in self.districts and self.districts[alias] != name:
                    raise RulebookError(file, f"{field}.aliases", f"简称“{alias}”同时指向两个县区")
                self.districts[alias] = name

    def _offices(self, file: str, raw: Any) -> None:
        if not isinstance(raw, dict) or not raw:
            raise RulebookError(file, "offices", "应为非空映射：代号 -> 名称")
        for key, name in raw.items():
            self.offices[str(key)] = _text(name, file, f"offices.{key}")

    def _sources(self, file: str, raw: Any) -> None:
        if not isinstance(raw, dict):
            raise RulebookError(file, "sources", "应为映射：代号 -> 来源")
        for key, body in raw.items():
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
            self.sources[str(key)] = Source(
                key=str(key),
                title=_text(_require(body, "title", file, field), file, f"{field}.title"),
                url=url,
                published=_parse_date(published, file, f"{field}.published") if published is not None else None,
                confidence=confidence,
            )

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
        entries = [self._entry(file, f"{field}.values[{i}]", ptype, default_kind, v) for i, v in enumerate(values)]
        self._check_contradictions(file, field, entries)
        return Parameter(
            id=pid,
            description_zh=_text(_require(body, "description_zh", file, field), file, f"{field}.description_zh"),
            unit=_text(_require(body, "unit", file, field), file, f"{field}.unit"),
            type=ptype,
            confirm_at=confirm_at,
            file=file,
            entries=tuple(sorted(entries, key=lambda e: (e.effective_from, e.region.specificity))),
        )

    def _entry(self, file: str, field: str, ptype: str, default_kind: str, raw: Any) -> Entry:
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
        return Entry(start, value, kind, self._region(file, f"{field}.region", raw.get("region")), source,
                     confirmed, note, precision)

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
        for i, a in enumerate(entries):
            for j in range(i + 1, len(entries)):
                b = entries[j]
                if (a.effective_from == b.effective_from and a.region.specificity == b.region.specificity
                        and a.region.overlaps(b.region)):
                    raise RulebookError(
                        file, f"{field}.values[{j}]",
                        f"与 values[{i}] 矛盾：同一生效日期（{a.effective_from}）、同一地区范围有两个数值",
                    )


class Rulebook:
    """A validated rulebook. Lookups are memoised per (id, date, district, residence)."""

    def __init__(self, folder: Path, parameters: dict[str, Parameter], districts: tuple[str, ...],
                 aliases: dict[str, str], offices: dict[str, str], sources: dict[str, Source], version: str) -> None:
        self.folder = folder
        self.parameters = parameters
        self.districts = districts
        self._aliases = aliases
        self.offices = offices
        self.sources = sources
        self.version = version
        self._cache: dict[tuple, ParamValue] = {}

    def __repr__(self) -> str:
        return f"Rulebook({self.folder}, {len(self.parameters)} parameters, version {self.version})"

    # --- places ---
    def normalise_district(self, text: Any) -> str | None:
        """Canonical district name for a full or short form ('青龙', '青龙县', '秦皇岛市海港区'); None if unknown."""
        if not isinstance(text, str):
            return None
        name = re.sub(r"\s+", "", text)
        for prefix in ("河北省", "秦皇岛市", "秦皇岛"):
            if name.startswith(prefix) and name[len(prefix):] in self._aliases:
                name = name[len(prefix):]
                break
        return self._aliases.get(name)

    def office_zh(self, key: str) -> str:
        return self.offices.get(key, key)

    # --- figures ---
    def ids(self, prefix: str = "") -> list[str]:
        return sorted(pid for pid in self.parameters if pid.startswith(prefix))

    def value(self, pid: str, on: date | None = None, district: str | None = None,
              residence: str | None = None) -> ParamValue:
        """The figure in force on `on` (default today) for the place. Unknown id -> KeyError."""
        on = on or date.today()
        key = (pid, on, district, residence)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        if district is not None and district not in self.districts:
            canonical = self.normalise_district(district)
            if canonical is None:
                raise ValueError(f"未知县区：{district}")
            district = canonical
        param = self.parameters[pid]
        best: Entry | None = None
        for entry in param.entries:  # sorted by (date, specificity): the last match wins
            if entry.effective_from > on:
                break
            if entry.region.matches(district, residence):
                best = entry
        result = self._to_value(param, best)
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[key] = result
        return result

    def history(self, pid: str) -> list[ParamValue]:
        """Every dated entry of a parameter, oldest first (for answers that show how a figure changed)."""
        param = self.parameters[pid]
        return [self._to_value(param, e) for e in param.entries]

    def entries(self) -> Iterator[tuple[Parameter, Entry]]:
        for param in self.parameters.values():
            for entry in param.entries:
                yield param, entry

    def _to_value(self, param: Parameter, entry: Entry | None) -> ParamValue:
        office = self.office_zh(param.confirm_at)
        if entry is None:
            return ParamValue(param.id, None, param.unit, None, False, "", "",
                              "该日期、该地区没有收录数值", "", description_zh=param.description_zh,
                              confirm_at_zh=office)
        source = entry.source
        return ParamValue(
            id=param.id, value=entry.value, unit=param.unit, effective_from=entry.effective_from,
            confirmed=entry.confirmed, source_title=source.title if source else "",
            source_url=source.url if source else "", note_zh=entry.note_zh, region=entry.region.label_zh(),
            kind=entry.kind, description_zh=param.description_zh, confirm_at_zh=office, precision=entry.precision,
        )


def load_rulebook(folder: str | os.PathLike[str] = DEFAULT_POLICIES_DIR) -> Rulebook:
    """Load and validate a policies folder. Raises RulebookError(file, field, message_zh) when invalid."""
    path = Path(folder)
    if not path.is_absolute() and not path.exists():
        path = REPO_ROOT / path
    return _Loader(path).load()


@lru_cache(maxsize=4)
def _cached(folder: str) -> Rulebook:
    return load_rulebook(folder)


def default_rulebook() -> Rulebook:
    """The rulebook of POLICIES_DIR (default: the repository's policies/), loaded once per process."""
    return _cached(os.environ.get("POLICIES_DIR", "").strip() or str(DEFAULT_POLICIES_DIR))
