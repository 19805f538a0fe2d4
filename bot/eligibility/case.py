"""Case input: validation of the contract's case JSON into typed objects.

Every rejection is a CaseError with a stable `code`, a Chinese message a resident or operator can act
on, and the `field` path, so all three doors (chat, console, CLI) report bad input the same way.
The numeric limits below are sanity limits against typos and abuse, not policy figures.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.eligibility.illness import match_illness
from bot.rulebook import Rulebook

PROGRAMS = ("dibao", "single_person", "gradual_exit", "extreme_poverty", "temporary_assistance", "job_subsidy")
RELATIONS = ("self", "spouse", "child", "parent", "sibling", "grandparent", "grandchild", "other")
COUNTED_INCOME_TYPES = ("wage", "farming", "business", "pension", "transfer", "other")
# resident_pension: a 城乡居民养老保险 pension as the resident knows it (its central basic part is not counted,
# its personal-account part is; the split is on the payment record, so the engine treats the exclusion as unsettled).
# Items the national rules name as not counted (whether they are excluded on a date is rulebook data).
OTHER_INCOME_TYPES = (
    "special_care",
    "family_planning_award",
    "scholarship",
    "bravery_award",
    "social_assistance",
    "basic_pension_central",
    "elderly_allowance",
    "resident_pension",
)
INCOME_TYPES = COUNTED_INCOME_TYPES + OTHER_INCOME_TYPES
INCOME_TYPE_ZH = {
    "wage": "工资",
    "farming": "种养殖",
    "business": "经营",
    "pension": "养老金",
    "transfer": "转移性收入",
    "other": "其他收入",
    "special_care": "优待抚恤金",
    "family_planning_award": "计划生育奖励扶助金",
    "scholarship": "奖学金助学金",
    "bravery_award": "见义勇为奖励",
    "social_assistance": "社会救助款物",
    "basic_pension_central": "基础养老金",
    "elderly_allowance": "高龄津贴",
    "resident_pension": "城乡居民养老金",
}
DISABILITY_KINDS = ("physical", "visual", "hearing", "speech", "intellectual", "mental", "multiple")
DISABILITY_KIND_ZH = {
    "physical": "肢体",
    "visual": "视力",
    "hearing": "听力",
    "speech": "言语",
    "intellectual": "智力",
    "mental": "精神",
    "multiple": "多重",
}
RIGID_KINDS = ("medical", "education", "disability_rehab")
ASSET_KEYS = ("deposits", "private_cars", "disability_vehicles", "homes")
EMPLOYER_TYPES = ("enterprise", "farm_business", "workshop", "public_post", "self_employed", "other")
WORK_LOCATIONS = ("outside_province", "inside_province", "inside_city", "local")
HARDSHIP_KINDS = ("emergency", "expenditure", "none")
# What is known about a member's illness: on the serious-illness list, an ordinary illness, or said to be ill
# but the kind is not known (the office decides). Absent = no illness reported.
ILLNESS_CLASSES = ("serious", "ordinary", "unknown")
MAX_TEXT = 200

MAX_MEMBERS = 30
MAX_MONTHLY_AMOUNT = 1_000_000.0
MAX_DEPOSITS = 1_000_000_000.0
MAX_COUNT = 50
MAX_AGE = 130
MAX_MONTHS = 600
MIN_DATE, MAX_DATE = date(2000, 1, 1), date(2100, 12, 31)


class CaseError(ValueError):
    """Invalid case input. `to_json()` is what every door returns (the CLI with exit status 2)."""

    def __init__(self, code: str, message_zh: str, field: str | None = None) -> None:
        super().__init__(message_zh)
        self.code = code
        self.message_zh = message_zh
        self.field = field

    def to_json(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message_zh": self.message_zh, "field": self.field}}


@dataclass(frozen=True, slots=True)
class Member:
    index: int
    relation: str
    age: int | None
    incomes: tuple[tuple[str, float], ...]  # (income type, yuan per month)
    income_reported: bool
    employed: bool | None
    disability_level: int | None
    disability_kind: str | None
    serious_illness: bool | None
    able_to_work: bool | None
    illness: str | None = None  # one of ILLNESS_CLASSES, or None when no illness was reported
    illness_name: str | None = None


@dataclass(frozen=True, slots=True)
class Job:
    poverty_alleviated: bool | None
    monitored_household: bool | None
    employer_type: str | None
    months_employed: float | None
    work_location: str | None


@dataclass(frozen=True, slots=True)
class Case:
    program: str
    as_of: date
    district: str
    residence: str | None
    members: tuple[Member, ...]
    rigid: tuple[tuple[str, float], ...]
    assets: dict[str, float | None]
    receiving_dibao: bool | None
    income_rose_due_to_employment: bool | None
    has_able_supporter: bool | None
    hardship_kind: str | None
    job: Job | None


def shown(raw: Any) -> str:
    """A caller's value quoted in a message: short, whatever it is (a 400-digit number, a nested list)."""
    try:
        text = raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False)
    except (ValueError, TypeError, RecursionError):
        text = type(raw).__name__
    return text if len(text) <= 40 else text[:37] + "..."


def _number(raw: Any, field: str, upper: float, integer: bool = False, lower: float = 0) -> float | int | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        raise CaseError("invalid_number", f"“{field}”应填数字，收到的是“{shown(raw)}”。", field)
    if isinstance(raw, int) and not -(10**15) < raw < 10**15:  # float(raw) would overflow or lose digits
        raise CaseError(
            "absurd_amount" if lower == 0 else "invalid_value",
            f"“{field}”的数值明显不合理（超过{upper:g}），请核对。",
            field,
        )
    if not math.isfinite(raw):
        raise CaseError("invalid_number", f"“{field}”不是有效数字。", field)
    if raw < lower:
        code = "negative_amount" if lower == 0 else "invalid_value"
        raise CaseError(code, f"“{field}”不能小于{lower}。", field)
    if raw > upper:
        raise CaseError(
            "absurd_amount" if lower == 0 else "invalid_value",
            f"“{field}”的数值{shown(raw)}明显不合理（超过{upper:g}），请核对。",
            field,
        )
    if integer:
        if raw != int(raw):
            raise CaseError("invalid_number", f"“{field}”应为整数。", field)
        return int(raw)
    return float(raw)


def _bool(raw: Any, field: str) -> bool | None:
    if raw is None or isinstance(raw, bool):
        return raw
    raise CaseError("invalid_value", f"“{field}”应为 true、false 或 null。", field)


def _choice(raw: Any, field: str, allowed: tuple[str, ...]) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str) or raw not in allowed:
        raise CaseError("invalid_value", f"“{field}”只能是 {'、'.join(allowed)} 之一，收到的是“{shown(raw)}”。", field)
    return raw


def _mapping(raw: Any, field: str) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise CaseError("invalid_value", f"“{field}”应为对象（键值对）。", field)
    return raw


def _as_of(raw: Any) -> date:
    if raw is None or raw == "":
        return date.today()
    if isinstance(raw, str):
        try:
            day = date.fromisoformat(raw.strip())
        except ValueError:
            day = None
        if day is not None:
            if not MIN_DATE <= day <= MAX_DATE:
                raise CaseError(
                    "invalid_date", f"查询日期{shown(raw)}超出范围（{MIN_DATE.year}-{MAX_DATE.year}年）。", "as_of"
                )
            return day
    raise CaseError("invalid_date", f"查询日期应为 YYYY-MM-DD 格式，收到的是“{shown(raw)}”。", "as_of")


def _text_field(raw: Any, field: str) -> str | None:
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str) or len(raw) > MAX_TEXT:
        raise CaseError("invalid_value", f"“{field}”应为不超过{MAX_TEXT}字的文字。", field)
    return raw.strip() or None


def _illness(raw: dict, field: str, rulebook: Rulebook, on: date) -> tuple[str | None, str | None, bool | None]:
    """(class, name, serious_illness): `illness_name` is classified by the rulebook's lists; an explicit
    `illness` class or the older `serious_illness` flag wins when given."""
    name = _text_field(raw.get("illness_name"), f"{field}.illness_name")
    kind = _choice(raw.get("illness"), f"{field}.illness", ILLNESS_CLASSES)
    flag = _bool(raw.get("serious_illness"), f"{field}.serious_illness")
    if name is not None:
        found = match_illness(name, rulebook, on)  # 「老伴尿毒症，每周透析」 -> ("serious", "尿毒症")
        if found is not None:
            name = found[1]
        if kind is None:
            kind = found[0] if found is not None else "unknown"
    if kind is None and flag is not None:
        kind = "serious" if flag else None
    serious = {"serious": True, "ordinary": False, "unknown": None, None: flag}[kind]
    return kind, name, serious


def _member(raw: Any, i: int, rulebook: Rulebook, on: date) -> Member:
    field = f"household[{i}]"
    if not isinstance(raw, dict):
        raise CaseError("invalid_value", f"“{field}”应为一个家庭成员对象。", field)
    income_type = _choice(raw.get("income_type"), f"{field}.income_type", INCOME_TYPES) or "other"
    income = _number(raw.get("monthly_income"), f"{field}.monthly_income", MAX_MONTHLY_AMOUNT)
    incomes = [(income_type, income or 0.0)]
    items = raw.get("income_items")
    if items is not None:
        if not isinstance(items, list) or len(items) > 20:
            raise CaseError("invalid_value", f"“{field}.income_items”应为收入项列表。", f"{field}.income_items")
        for j, item in enumerate(items):
            item_field = f"{field}.income_items[{j}]"
            item = _mapping(item, item_field)
            kind = _choice(item.get("type"), f"{item_field}.type", INCOME_TYPES)
            amount = _number(item.get("amount"), f"{item_field}.amount", MAX_MONTHLY_AMOUNT)
            if kind is None or amount is None:
                raise CaseError("missing_field", f"“{item_field}”要写明 type 和 amount。", item_field)
            incomes.append((kind, amount))
    relation = raw.get("relation") or ("self" if i == 0 else "other")
    level = _number(raw.get("disability_level"), f"{field}.disability_level", 4, integer=True, lower=1)
    illness, illness_name, serious = _illness(raw, field, rulebook, on)
    return Member(
        index=i + 1,
        relation=_choice(relation, f"{field}.relation", RELATIONS) or "other",
        age=_number(raw.get("age"), f"{field}.age", MAX_AGE, integer=True),
        incomes=tuple(incomes),
        income_reported=income is not None or items is not None,
        employed=_bool(raw.get("employed"), f"{field}.employed"),
        disability_level=level,
        disability_kind=_choice(raw.get("disability_kind"), f"{field}.disability_kind", DISABILITY_KINDS),
        serious_illness=serious,
        able_to_work=_bool(raw.get("able_to_work"), f"{field}.able_to_work"),
        illness=illness,
        illness_name=illness_name,
    )


def _job(raw: Any) -> Job | None:
    if raw is None:
        return None
    raw = _mapping(raw, "job")
    return Job(
        poverty_alleviated=_bool(raw.get("poverty_alleviated"), "job.poverty_alleviated"),
        monitored_household=_bool(raw.get("monitored_household"), "job.monitored_household"),
        employer_type=_choice(raw.get("employer_type"), "job.employer_type", EMPLOYER_TYPES),
        months_employed=_number(raw.get("months_employed"), "job.months_employed", MAX_MONTHS),
        work_location=_choice(raw.get("work_location"), "job.work_location", WORK_LOCATIONS),
    )


def parse_case(raw: Any, rulebook: Rulebook) -> Case:
    """Validate a case dict (the contract's input) against the rulebook's districts. Raises CaseError."""
    if not isinstance(raw, dict):
        raise CaseError("invalid_case", "输入应为一个 JSON 对象。", None)
    program = raw.get("program")
    if program is None:
        raise CaseError("missing_field", "缺少“program”（要查询的项目）。", "program")
    if not isinstance(program, str) or program not in PROGRAMS:
        raise CaseError("unknown_program", f"不认识的项目“{shown(program)}”，可选：{'、'.join(PROGRAMS)}。", "program")
    if raw.get("district") in (None, ""):
        raise CaseError("missing_field", "缺少“district”（所在县区）。", "district")
    district = rulebook.normalise_district(raw.get("district")) if isinstance(raw.get("district"), str) else None
    if district is None:
        raise CaseError(
            "unknown_district",
            f"不认识的县区“{shown(raw.get('district'))}”，请填秦皇岛的县区，如：{'、'.join(rulebook.districts)}。",
            "district",
        )
    residence = _choice(raw.get("residence"), "residence", ("urban", "rural"))
    if residence is None and program != "job_subsidy":
        raise CaseError("missing_field", "缺少“residence”（城市 urban 或农村 rural）。", "residence")
    household = raw.get("household")
    if household is None:
        raise CaseError("missing_field", "缺少“household”（家庭成员列表）。", "household")
    if not isinstance(household, list):
        raise CaseError("invalid_value", "“household”应为家庭成员列表。", "household")
    if not household:
        raise CaseError("empty_household", "家庭成员不能为空，至少要有申请人本人。", "household")
    if len(household) > MAX_MEMBERS:
        raise CaseError("absurd_amount", f"家庭成员超过{MAX_MEMBERS}人，请核对。", "household")
    as_of = _as_of(raw.get("as_of"))
    members = tuple(_member(m, i, rulebook, as_of) for i, m in enumerate(household))
    rigid_raw = _mapping(raw.get("rigid_expenses_monthly"), "rigid_expenses_monthly")
    rigid = []
    for kind, amount in rigid_raw.items():
        field = f"rigid_expenses_monthly.{kind}"
        if kind not in RIGID_KINDS:
            raise CaseError("invalid_value", f"“{field}”不是认可的支出类别（{'、'.join(RIGID_KINDS)}）。", field)
        value = _number(amount, field, MAX_MONTHLY_AMOUNT)
        if value:
            rigid.append((kind, value))
    assets_raw = _mapping(raw.get("assets"), "assets")
    assets: dict[str, float | None] = {}
    for key in ASSET_KEYS:
        upper = MAX_DEPOSITS if key == "deposits" else MAX_COUNT
        assets[key] = _number(assets_raw.get(key), f"assets.{key}", upper, integer=key != "deposits")
    if program == "job_subsidy" and raw.get("job") is None:
        raise CaseError("missing_field", "就业补贴要填写“job”（就业情况）。", "job")
    return Case(
        program=program,
        as_of=as_of,
        district=district,
        residence=residence,
        members=members,
        rigid=tuple(rigid),
        assets=assets,
        receiving_dibao=_bool(raw.get("receiving_dibao"), "receiving_dibao"),
        income_rose_due_to_employment=_bool(raw.get("income_rose_due_to_employment"), "income_rose_due_to_employment"),
        has_able_supporter=_bool(raw.get("has_able_supporter"), "has_able_supporter"),
        hardship_kind=_choice(raw.get("hardship_kind"), "hardship_kind", HARDSHIP_KINDS),
        job=_job(raw.get("job")),
    )
