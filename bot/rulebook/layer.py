"""Approved values: a dated layer above the files in policies/, and the checks a proposed value passes.

Why a layer and not edits to YAML: the people who hold the documents (文号) are civil-affairs staff, who
will never edit git. They propose a value in the staff desk, a second person approves it, and the store
keeps it. `compose(baseline, layer)` builds the rulebook everything uses: the file entries plus the
approved ones, looked up by the same date-and-region rule. `export_layer_yaml` writes the layer in the
rulebook's own file format so it can be reviewed and committed into policies/ later.

One set of rules: a proposal is turned into the same raw entry a YAML file holds and checked by the
file validator (bot.rulebook.validate.Checker), then against the values already there (contradiction,
below the city floor). Only the effective-date horizon is proposal-specific: history in the files may
be old, a new figure may not be entered far in the past or future by mistake.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import yaml

from bot.rulebook.lookup import Rulebook
from bot.rulebook.model import KINDS, RESIDENCES, Entry, RulebookError
from bot.rulebook.validate import Checker, find_below_city_bound, find_contradiction

PAST_LIMIT_YEARS = 5  # a value backdated further would silently rewrite old decisions: a typo, not a figure
FUTURE_LIMIT_YEARS = 2  # documents announce standards months, not years, ahead
LAYER_FILE = "已批准数值"
MAX_TEXT = {"doc_no": 64, "doc_title": 200, "doc_url": 500, "note_zh": 500}

FIELD_ZH = {
    "parameter_id": "参数",
    "value": "数值",
    "unit": "单位",
    "kind": "数值类型",
    "from": "生效日期",
    "region": "地区",
    "districts": "县区",
    "residence": "城乡",
    "source": "来源文件",
    "doc_no": "文号",
    "doc_title": "文件标题",
    "doc_date": "发文日期",
    "url": "文件链接",
    "doc_url": "文件链接",
    "published": "发文日期",
    "title": "文件标题",
    "note_zh": "说明",
    "confirmed": "确认状态",
}


class ProposalError(ValueError):
    """A proposed value is refused. `field` is the form field, the message names it in Chinese."""

    def __init__(self, field: str, message_zh: str) -> None:
        self.field = field
        self.message_zh = f"{FIELD_ZH.get(field, field)}：{message_zh}"
        super().__init__(self.message_zh)


@dataclass(frozen=True)
class LayerValue:
    """One approved (or proposed) value with its document, as the store keeps it."""

    parameter_id: str
    value: Any
    kind: str
    effective_from: date
    districts: tuple[str, ...] | None
    residence: str | None
    doc_no: str
    doc_title: str
    doc_date: date | None
    doc_url: str
    note_zh: str
    proposal_id: int | None = None

    @property
    def source_key(self) -> str:
        return f"approved_{self.proposal_id}" if self.proposal_id is not None else "approved_new"

    def source_title(self) -> str:
        """What answers cite: the 文号 when there is one (「秦民字〔2025〕12号」), else the title."""
        return self.doc_no or self.doc_title

    def raw_source(self) -> dict[str, Any]:
        raw: dict[str, Any] = {"title": self.source_title(), "confidence": "high"}
        if self.doc_url:
            raw["url"] = self.doc_url
        if self.doc_date is not None:
            raw["published"] = self.doc_date
        return raw

    def raw_entry(self) -> dict[str, Any]:
        """The entry exactly as a policies/*.yml file would hold it."""
        raw: dict[str, Any] = {"from": self.effective_from, "value": self.value, "kind": self.kind}
        region: dict[str, Any] = {}
        if self.districts is not None:
            region["districts"] = list(self.districts)
        if self.residence is not None:
            region["residence"] = self.residence
        if region:
            raw["region"] = region
        raw.update({"source": self.source_key, "confirmed": True})
        if self.note_zh:
            raw["note_zh"] = self.note_zh
        return raw


def _field_of(exc: RulebookError) -> str:
    """'values[0].region.districts' -> 'districts'; 'sources.approved_3.url' -> 'url'."""
    last = exc.field.rsplit(".", 1)[-1]
    return last if last in FIELD_ZH else "value"


def to_entry(checker: Checker, ptype: str, value: LayerValue) -> Entry:
    """Check a layer value with the file validator and build its Entry (RulebookError on any problem)."""
    checker.sources.pop(value.source_key, None)
    checker.add_source(LAYER_FILE, value.source_key, value.raw_source())
    entry = checker.entry(LAYER_FILE, f"parameters.{value.parameter_id}.values", ptype, "exact", value.raw_entry())
    return replace(entry, proposal_id=value.proposal_id)


def parse_form_value(ptype: str, raw: Any) -> Any:
    """A value typed into the form, as the YAML loader would have read it (strings stay strings, so the
    validator refuses them with its own message)."""
    if not isinstance(raw, str):
        return raw
    text = raw.strip().replace(",", "").replace("，", "")
    if ptype == "number":
        try:
            number = float(text)
        except ValueError:
            return raw.strip()
        return int(number) if math.isfinite(number) and number.is_integer() else number
    if ptype == "bool":
        return {"是": True, "true": True, "否": False, "false": False}.get(text.lower(), raw.strip())
    return raw.strip()


def validate_proposal(rulebook: Rulebook, value: LayerValue, today: date, unit: str | None = None) -> Entry:
    """Check a proposed value against the rulebook in force (files + approved layer). Raises ProposalError
    naming the field; returns the Entry it would add."""
    param = rulebook.parameters.get(value.parameter_id)
    if param is None:
        raise ProposalError("parameter_id", f"未知参数“{value.parameter_id}”，请从列表中选择")
    if unit is not None and unit.strip() and unit.strip() != param.unit:
        raise ProposalError("unit", f"该参数的单位是“{param.unit}”，不能填“{unit.strip()}”")
    if value.value is None or value.value == "":
        raise ProposalError("value", "请填写数值（没有数值时不需要提交）")
    if value.kind not in KINDS:
        raise ProposalError("kind", "应为 确切值 / 下限 / 上限 之一")
    if value.residence is not None and value.residence not in RESIDENCES:
        raise ProposalError("residence", "应为 城市 或 农村，或不选（城乡通用）")
    if not (value.doc_no or value.doc_title):
        raise ProposalError("doc_no", "请填写文件的文号或标题（没有文件依据的数值不能录入）")
    for field, limit in MAX_TEXT.items():
        if len(getattr(value, field) or "") > limit:
            raise ProposalError(field, f"太长了：最多 {limit} 个字")
    earliest = date(today.year - PAST_LIMIT_YEARS, today.month, min(today.day, 28))
    latest = date(today.year + FUTURE_LIMIT_YEARS, today.month, min(today.day, 28))
    if value.effective_from < earliest:
        raise ProposalError("from", f"{value.effective_from} 早于 {earliest}（{PAST_LIMIT_YEARS}年以前），请核对年份")
    if value.effective_from > latest:
        raise ProposalError("from", f"{value.effective_from} 晚于 {latest}（{FUTURE_LIMIT_YEARS}年以后），请核对年份")
    if value.doc_date is not None and value.doc_date > today:
        raise ProposalError("doc_date", f"{value.doc_date} 还没到，发文日期不能在今天之后")
    try:
        entry = to_entry(Checker.for_rulebook(rulebook), param.type, value)
    except RulebookError as exc:
        raise ProposalError(_field_of(exc), exc.message_zh) from None
    problem = conflict(param.entries, entry, param.unit)
    if problem is not None:
        raise ProposalError(*problem)
    return entry


def conflict(existing: Iterable[Entry], entry: Entry, unit: str) -> tuple[str, str] | None:
    """(field, Chinese reason) when `entry` contradicts an existing value of the same date and place or
    lies below the city floor in force on its date; None when it fits."""
    entries = [*existing, entry]
    pair = find_contradiction(entries)
    if pair is not None:
        other = entries[pair[0]]
        shown = f"{other.value}{unit}" if other.value is not None else "“未找到”"
        cited = f"（来源：{other.source.title}）" if other.source else ""
        return "from", (
            f"与已有数值矛盾：{other.effective_from}起 {other.region.label_zh()} 已有 {shown}{cited}；"
            "同一日期、同一地区只能有一个数值"
        )
    below = find_below_city_bound(entries)
    if below is not None and entries[below[0]] is entry:
        return "value", below[1]
    return None


def compose(
    baseline: Rulebook, layer: Iterable[LayerValue], version_tag: str = "", strict: bool = False
) -> tuple[Rulebook, list[str]]:
    """The rulebook with the approved values added to the file entries. A value that no longer fits (its
    parameter removed from the files, the same date and place now also in a file — e.g. after the export
    was committed — or below a city floor) is left out and reported in the returned problems, or raised
    as RulebookError when `strict` (reading an exported layer file)."""
    checker = Checker.for_rulebook(baseline)
    added: dict[str, list[Entry]] = {}
    kept: list[LayerValue] = []
    problems: list[str] = []
    for value in layer:
        try:
            param = baseline.parameters.get(value.parameter_id)
            if param is None:
                raise RulebookError(LAYER_FILE, value.parameter_id, "规则文件中已没有这个参数")
            entry = to_entry(checker, param.type, value)
            problem = conflict([*param.entries, *added.get(value.parameter_id, [])], entry, param.unit)
            if problem is not None:
                raise RulebookError(LAYER_FILE, FIELD_ZH[problem[0]], problem[1])
        except RulebookError as exc:
            message = f"提案 #{value.proposal_id}（{value.parameter_id}）：{exc.field}：{exc.message_zh}"
            if strict:
                raise RulebookError(LAYER_FILE, f"提案 #{value.proposal_id}", message) from None
            problems.append(message)
            continue
        added.setdefault(value.parameter_id, []).append(entry)
        kept.append(value)
    parameters = dict(baseline.parameters)
    for pid, entries in added.items():
        param = parameters[pid]
        parameters[pid] = replace(param, entries=tuple(sorted((*param.entries, *entries), key=lambda e: e.order)))
    rulebook = Rulebook(
        folder=baseline.folder,
        parameters=parameters,
        districts=baseline.districts,
        aliases=baseline.aliases,
        offices=baseline.offices,
        sources=dict(checker.sources),
        version=f"{baseline.version}+{version_tag}" if kept else baseline.version,
        layer=tuple(kept),
    )
    return rulebook, problems


def export_layer_yaml(rulebook: Rulebook) -> str:
    """The approved layer as a policies/*.yml file: its documents under `sources:` and, per parameter, the
    parameter's header with only the approved entries under `values:`."""
    sources: dict[str, Any] = {}
    parameters: dict[str, Any] = {}
    for value in rulebook.layer:
        sources[value.source_key] = value.raw_source()
        param = rulebook.parameters[value.parameter_id]
        block = parameters.setdefault(
            value.parameter_id,
            {
                "description_zh": param.description_zh,
                "unit": param.unit,
                "type": param.type,
                "confirm_at": param.confirm_at,
                "values": [],
            },
        )
        block["values"].append(value.raw_entry())
    header = (
        "# 已批准数值（数据库中的数值层），由 python -m bot policies export 生成。\n"
        "# 每条数值经两人审核；合并进 policies/ 时请删去与文件重复的参数头。\n"
    )
    return header + yaml.safe_dump(
        {"sources": sources, "parameters": parameters}, allow_unicode=True, sort_keys=False, default_flow_style=False
    )


def layer_from_yaml(text: str, baseline: Rulebook) -> Rulebook:
    """Read an exported layer file and compose it over `baseline` (strict): the export round trip."""
    doc = yaml.safe_load(text) or {}
    sources = doc.get("sources") or {}
    values: list[LayerValue] = []
    for pid, block in (doc.get("parameters") or {}).items():
        for raw in block.get("values") or []:
            key = str(raw.get("source", ""))
            source = sources.get(key) or {}
            region = raw.get("region") or {}
            proposal_id = int(key.rsplit("_", 1)[-1]) if key.rsplit("_", 1)[-1].isdigit() else None
            title = str(source.get("title", ""))
            values.append(
                LayerValue(
                    parameter_id=str(pid),
                    value=raw.get("value"),
                    kind=raw.get("kind", "exact"),
                    effective_from=raw["from"],
                    districts=tuple(region["districts"]) if "districts" in region else None,
                    residence=region.get("residence"),
                    doc_no=title,
                    doc_title="",
                    doc_date=source.get("published"),
                    doc_url=str(source.get("url", "")),
                    note_zh=str(raw.get("note_zh", "")),
                    proposal_id=proposal_id,
                )
            )
    rulebook, _ = compose(baseline, values, "file", strict=True)
    return rulebook
