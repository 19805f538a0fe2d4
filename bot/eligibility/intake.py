"""Facts as residents and operators have them -> the engine's case, and one `check` every door calls.

Residents do not think in the contract's household array: they say 「我工资一千二，老伴养老金八百」,
「药费每月三百」, 「我儿子三级智力残疾」, 「我们是监测户」. `case_from_facts` keeps each of those facts
where it belongs (income by member and kind, expenses by kind, the disabled or ill member as that member,
脱贫户 and 监测户 as different answers, the employer type only when it was said) instead of flattening
them into the applicant's wage.

Facts (every key optional except program and district):
    {"program": "dibao", "as_of": "2026-11-29", "district": "青龙", "residence": "rural",
     "household_size": 3,
     "incomes": [{"who": "self", "kind": "wage", "amount": 1200},
                 {"who": "spouse", "kind": "resident_pension", "amount": 180}],
     "expenses": [{"kind": "medical", "amount": 300}],
     "members": [{"who": "child", "disability_level": 3, "disability_kind": "intellectual",
                  "illness_name": "尿毒症", "age": 20, "employed": false}],
     "has_disqualifying_assets": false,
     "receiving_dibao": true, "income_rose_due_to_employment": true,
     "poverty_status": "alleviated" | "monitored" | "neither",
     "employer_type": "enterprise", "months_employed": 4, "work_location": "outside_province"}
A dict that already has "household" is a contract case and passes through unchanged, so the JSON doors
(CLI, /api/eligibility) and the chat share `check`.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.eligibility import CaseError, evaluate
from bot.eligibility.case import INCOME_TYPES, RELATIONS, RIGID_KINDS, shown
from bot.rulebook import Rulebook, default_rulebook

log = logging.getLogger(__name__)

POVERTY_STATUSES = ("alleviated", "monitored", "neither")
_MEMBER_KEYS = ("age", "disability_level", "disability_kind", "illness", "illness_name", "employed", "able_to_work")


def _list(facts: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = facts.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise CaseError("invalid_value", f"“{key}”应为列表。", key)
    return value


def _relation(who: Any) -> str:
    return who if isinstance(who, str) and who in RELATIONS else "other"


def _household(facts: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per person: the applicant first, then each member a fact was said about, then the rest."""
    size = facts.get("household_size") or 1
    if isinstance(size, bool) or not isinstance(size, (int, float)) or size != int(size):
        raise CaseError("invalid_number", f"“household_size”应为整数，收到的是“{shown(size)}”。", "household_size")
    rows: list[dict[str, Any]] = [{"relation": "self", "income_items": []}]
    for member in _list(facts, "members"):
        relation = _relation(member.get("who"))
        row = rows[0] if relation == "self" else {"relation": relation, "income_items": []}
        row.update({k: member[k] for k in _MEMBER_KEYS if member.get(k) is not None})
        if row is not rows[0]:
            rows.append(row)
    for item in _list(facts, "incomes"):
        kind = item.get("kind") if item.get("kind") in INCOME_TYPES else "other"
        relation = _relation(item.get("who") or "self")
        row = next(
            (r for r in rows if r["relation"] == relation and (relation != "other" or not r["income_items"])), None
        )
        if row is None:
            row = {"relation": relation, "income_items": []}
            rows.append(row)
        row["income_items"].append({"type": kind, "amount": item.get("amount")})
    while len(rows) < int(size):
        rows.append({"relation": "other", "income_items": []})
    if len(rows) > int(size) and facts.get("household_size"):
        raise CaseError(
            "invalid_value", f"说到的家庭成员（{len(rows)}人）比家庭人口（{int(size)}人）多，请核对。", "household_size"
        )
    for row in rows:
        # Incomes were said for the household: a member without an item has none (not "not reported").
        if row["income_items"] or "incomes" in facts:
            row["monthly_income"] = 0
        if not row["income_items"]:
            row.pop("income_items")
    return rows


def _assets(facts: dict[str, Any], rulebook: Rulebook) -> dict[str, Any] | None:
    """「有没有私家车或多套住房」 answered yes/no: yes means at least one item over the rule (the rulebook's
    home limit + 1), no means none; the engine decides what that implies."""
    if isinstance(facts.get("assets"), dict):
        return facts["assets"]
    said = facts.get("has_disqualifying_assets")
    if said is None:
        return None
    limit = rulebook.value("dibao.assets.max_homes").value
    homes = int(limit) + 1 if said and limit is not None else (1 if not said else None)
    return {"private_cars": 1 if said else 0, "homes": homes}


def _job(facts: dict[str, Any]) -> dict[str, Any]:
    status = facts.get("poverty_status")
    if status is not None and status not in POVERTY_STATUSES:
        raise CaseError(
            "invalid_value", f"“poverty_status”只能是 {'、'.join(POVERTY_STATUSES)} 之一。", "poverty_status"
        )
    return {
        "poverty_alleviated": None if status is None else status == "alleviated",
        "monitored_household": None if status is None else status == "monitored",
        "employer_type": facts.get("employer_type"),
        "months_employed": facts.get("months_employed"),
        "work_location": facts.get("work_location"),
    }


def case_from_facts(facts: Any, rulebook: Rulebook | None = None) -> dict[str, Any]:
    """The contract's case for a facts dict (see the module docstring); a case passes through unchanged."""
    if not isinstance(facts, dict):
        raise CaseError("invalid_case", "输入应为一个 JSON 对象。", None)
    if "household" in facts:
        return facts
    rb = rulebook if rulebook is not None else default_rulebook()
    program = facts.get("program")
    case: dict[str, Any] = {"program": program, "district": facts.get("district"), "household": _household(facts)}
    for key in (
        "as_of",
        "residence",
        "receiving_dibao",
        "income_rose_due_to_employment",
        "has_able_supporter",
        "hardship_kind",
    ):
        if facts.get(key) is not None:
            case[key] = facts[key]
    expenses: dict[str, float] = {}
    for item in _list(facts, "expenses"):
        kind = item.get("kind")
        if kind not in RIGID_KINDS:
            raise CaseError("invalid_value", f"“{shown(kind)}”不是认可的支出类别。", "expenses")
        amount = item.get("amount")
        expenses[kind] = expenses.get(kind, 0) + (amount if isinstance(amount, (int, float)) else 0)
    if expenses:
        case["rigid_expenses_monthly"] = expenses
    assets = _assets(facts, rb)
    if assets is not None:
        case["assets"] = assets
    if program == "job_subsidy":
        case["job"] = _job(facts)
    return case


def check(facts: Any, rulebook: Rulebook | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(case, result) for facts or a case. Raises CaseError for anything the engine cannot take, including
    input so deep or odd that Python itself gives up: a door answers a CaseError, never a traceback."""
    try:
        case = case_from_facts(facts, rulebook)
        return case, evaluate(case, rulebook)
    except CaseError:
        raise
    except (RecursionError, OverflowError, TypeError, ValueError, AttributeError) as exc:
        log.warning("eligibility input the validators did not catch: %s", type(exc).__name__)
        raise CaseError("invalid_case", "输入的格式无法处理（数值过大、嵌套过深或类型不对），请核对。", None) from None
