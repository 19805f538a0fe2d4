"""Eligibility engine: `evaluate(case, rulebook=None) -> dict` per /work/shared/contracts/eligibility.md.

Pure Python over a case and the rulebook: no I/O besides the (cached) rulebook load, so the chat
actions, the web API and the command line share one decision. See bot.eligibility.core for how
unknown and unconfirmed figures are treated, and bot.eligibility.programs for each program's rules.
"""
from __future__ import annotations

from typing import Any

from bot.eligibility.case import PROGRAM_ZH, PROGRAMS, CaseError, parse_case
from bot.eligibility.core import Condition, Ctx, all_of
from bot.eligibility.programs import PROGRAM_FUNCS, Outcome
from bot.rulebook import Rulebook, default_rulebook

__all__ = ["evaluate", "CaseError", "PROGRAMS"]

_MARK = {True: "【符合】", False: "【不符合】", None: "【待核实】"}


def _explanation(program: str, eligible: bool | None, conditions: list[Condition], district: str) -> str:
    """One summary line, then one line per condition with its source and effective date."""
    name = PROGRAM_ZH[program]
    summary = {
        True: f"结论：按您提供的情况，可能符合{name}条件，最终以入户调查和审核结果为准。",
        False: f"结论：按您提供的情况，目前不符合{name}条件。",
        None: f"结论：能否享受{name}，这里还不能确定，需要到{district}的乡镇（街道）或县区主管部门核实。",
    }[eligible]
    lines = [summary]
    for c in conditions:
        cite = ""
        if c.ref is not None and c.ref.effective_from is not None and c.ref.source_title:
            cite = f"（依据：{c.ref.source_title}，{c.ref.date_zh()}起）"
        lines.append(f"{_MARK[c.passed]}{c.detail_zh}{cite}")
    return "\n".join(lines)


def _result(ctx: Ctx, outcome: Outcome) -> dict[str, Any]:
    case = ctx.case
    eligible = all_of(*(c.passed for c in outcome.conditions))
    income, std = outcome.income, outcome.standard
    result: dict[str, Any] = {
        "program": case.program,
        "eligible": eligible,
        "as_of": case.as_of.isoformat(),
        "district": case.district,
        "residence": case.residence,
        "standard_monthly": std.monthly if std is not None else None,
        "standard_kind": std.pv.kind if std is not None else None,
        "gross_income_monthly": income.gross if income is not None else None,
        "deductions": income.deductions if income is not None else [],
        "per_capita_income_monthly": income.per_capita if income is not None else None,
        "conditions": [c.to_json() for c in outcome.conditions],
    }
    result.update(outcome.extra)
    result["explanation_zh"] = _explanation(case.program, eligible, outcome.conditions, case.district)
    result["caveats_zh"] = list(ctx.caveats)
    result["rulebook_version"] = ctx.rb.version
    return result


def evaluate(case: dict[str, Any], rulebook: Rulebook | None = None) -> dict[str, Any]:
    """Decide one case. Raises CaseError(code, message_zh, field) for invalid input."""
    rb = rulebook if rulebook is not None else default_rulebook()
    parsed = parse_case(case, rb)
    ctx = Ctx(rb, parsed)
    return _result(ctx, PROGRAM_FUNCS[parsed.program](ctx))
