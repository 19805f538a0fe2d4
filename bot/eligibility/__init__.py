"""Eligibility engine: `evaluate(case, rulebook=None) -> dict` per /work/shared/contracts/eligibility.md.

Pure Python over a case and the rulebook: no I/O besides the (cached) rulebook load, so the chat
actions, the web API and the command line share one decision. See bot.eligibility.core for how
unknown and unconfirmed figures are treated, and bot.eligibility.programs for each program's rules.
"""

from __future__ import annotations

from typing import Any

from bot.eligibility.case import PROGRAMS, CaseError, parse_case
from bot.eligibility.core import Ctx, Income, Standard, all_of, money
from bot.eligibility.present import explanation
from bot.eligibility.programs import PROGRAM_FUNCS, Outcome
from bot.rulebook import Rulebook, default_rulebook

__all__ = ["evaluate", "CaseError", "PROGRAMS"]


def _estimate(ctx: Ctx, eligible: bool | None, income: Income | None, std: Standard | None) -> dict[str, Any] | None:
    """「能领多少钱」: the gap between the standard and per-capita income, times the household size
    (社会救助暂行办法 Art. 10, `dibao.benefit.pays_gap`). Exact only where the standard is exact and every
    deduction is settled; from a floor it is "at least"; none when the verdict is no or nothing is known."""
    rule = ctx.v("dibao.benefit.pays_gap")
    if eligible is False or income is None or std is None or std.monthly is None or not rule.value:
        return None
    if std.pv.kind == "ceiling":
        return None
    per_capita = income.per_capita_high  # without deductions the office has not settled: the lower figure
    gap = round(std.monthly - per_capita, 2)
    if gap <= 0:
        return None
    exact = std.pv.kind == "exact" and income.per_capita_high == income.per_capita
    kind = "exact" if exact else "at_least"
    std_zh = f"{'不低于' if std.pv.kind == 'floor' else ''}{money(std.monthly)}元"
    basis = (
        f"按差额发放：（低保标准{std_zh} − 家庭人均月收入{money(per_capita)}元）× {income.size}人"
        f" = {'至少' if kind == 'at_least' else ''}{money(gap * income.size)}元/月"
        f"（{rule.source_title}）；这是估算，实际金额由县区民政局核定"
    )
    return {"monthly": round(gap * income.size, 2), "kind": kind, "basis_zh": basis}


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
    result["estimate"] = _estimate(ctx, eligible, income, std) if case.program == "dibao" else None
    result["explanation_zh"] = explanation(case.program, eligible, result["conditions"], case.district)
    result["caveats_zh"] = list(ctx.caveats)
    result["rulebook_version"] = ctx.rb.version
    return result


def evaluate(case: dict[str, Any], rulebook: Rulebook | None = None) -> dict[str, Any]:
    """Decide one case. Raises CaseError(code, message_zh, field) for invalid input."""
    rb = rulebook if rulebook is not None else default_rulebook()
    parsed = parse_case(case, rb)
    ctx = Ctx(rb, parsed)
    return _result(ctx, PROGRAM_FUNCS[parsed.program](ctx))
