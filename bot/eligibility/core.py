"""Building blocks shared by the programs: rule context, three-valued conditions, the standard, income, assets.

Three-valued logic. A condition is True (met), False (not met) or None (cannot be decided here: a fact
was not reported, or the rule that decides it is not found or not confirmed). A result is false exactly
when some condition is False, null when none is False but some is None, true otherwise.

How missing or uncertain figures are handled (why the engine is honest about the local gaps):
- A standard whose kind is "floor" (the 2016/2018 city rule "各县区不低于…") is an interval
  [floor, unknown]. Income below the floor is below the real standard too -> met; income at or above
  the floor may still be below the real (unknown, higher) local standard -> None.
- A deduction whose local rule is not found (share of rigid spending, an income item whose exclusion
  is not confirmed for the date) makes per-capita income an interval: the reported per-capita income
  applies the deduction in full (the resident's favourable reading, shown with a caveat) and the
  decision also checks the figure without it. If the two readings differ, the condition is None.
- A rule that is set but not confirmed locally (e.g. the Hebei 2013 asset trial rule) may let a
  condition pass (with a caveat naming it), but never makes it fail: an unconfirmed rule that would
  refuse a resident gives None instead, so the office decides, not an unverified figure.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.eligibility.case import INCOME_TYPE_ZH, Case, Member
from bot.eligibility.present import money
from bot.rulebook import ParamValue, Rulebook

Tri = bool | None
RIGID_KIND_ZH = {"medical": "自付医疗费", "education": "教育费用", "disability_rehab": "残疾康复费用"}
MONTHS_PER_YEAR = 12  # unit conversion, not a policy figure


def all_of(*values: Tri) -> Tri:
    if any(v is False for v in values):
        return False
    if any(v is None for v in values):
        return None
    return True


def negate(value: Tri) -> Tri:
    return None if value is None else not value


@dataclass(slots=True)
class Condition:
    id: str
    passed: Tri
    detail_zh: str
    ref: ParamValue | None = None

    def to_json(self) -> dict:
        ref = self.ref.reference() if self.ref is not None else {"title": "", "url": "", "effective_from": ""}
        return {"id": self.id, "passed": self.passed, "detail_zh": self.detail_zh, "reference": ref}


@dataclass(slots=True)
class Ctx:
    """The rules in force for one case: date, place, and the caveats collected while evaluating."""

    rb: Rulebook
    case: Case
    caveats: list[str] = field(default_factory=list)

    def v(self, pid: str, residence: str | None = None) -> ParamValue:
        return self.rb.value(pid, self.case.as_of, self.case.district, residence or self.case.residence)

    def caveat(self, text: str) -> None:
        if text not in self.caveats:
            self.caveats.append(text)

    def unconfirmed(self, pv: ParamValue) -> None:
        """Name an unconfirmed or missing figure that the decision used, and where to confirm it."""
        if pv.value is None:
            note = f"：{pv.note_zh}" if pv.note_zh else ""
            self.caveat(f"“{pv.description_zh}”没有找到可用的数值{note}。请向{pv.confirm_at_zh}确认。")
        elif not pv.confirmed:
            self.caveat(
                f"“{pv.description_zh}”按{pv.source_title}（{pv.date_zh()}起）计算，未经本地确认，"
                f"请向{pv.confirm_at_zh}确认。"
            )


@dataclass(frozen=True, slots=True)
class Standard:
    """The dibao standard per person per month as an interval [low, high] (see module docstring)."""

    low: float | None
    high: float
    monthly: float | None
    pv: ParamValue
    yearly: float | None = None

    def below(self, per_capita_low: float, per_capita_high: float, factor: float = 1.0) -> Tri:
        """Is per-capita income below factor x standard? Interval comparison on 2-decimal figures."""
        if self.low is None:
            return None
        low, high = round(self.low * factor, 2), self.high * factor
        if per_capita_high < low:
            return True
        if per_capita_low >= high:
            return False if self.pv.confirmed else None
        return None


def dibao_standard(ctx: Ctx, residence: str | None = None) -> Standard:
    """The standard for the case's place and date; rural yearly figures are converted to monthly (/12)."""
    residence = residence or ctx.case.residence
    if residence == "rural":
        pv = ctx.v("dibao.standard.rural_yearly", residence)
        yearly = float(pv.value) if pv.value is not None else None
        monthly = round(yearly / MONTHS_PER_YEAR, 2) if yearly is not None else None
    else:
        pv = ctx.v("dibao.standard.urban_monthly", residence)
        yearly = None
        monthly = float(pv.value) if pv.value is not None else None
    if monthly is None:
        return Standard(None, math.inf, None, pv)
    high = {"floor": math.inf, "ceiling": monthly, "exact": monthly}[pv.kind]
    low = 0.0 if pv.kind == "ceiling" else monthly
    return Standard(low, high, monthly, pv, yearly)


def standard_caveats(ctx: Ctx, std: Standard) -> None:
    pv = std.pv
    if std.monthly is None:
        ctx.caveat(
            f"{ctx.case.as_of.isoformat()}适用的低保标准没有收录。请向{ctx.case.district}民政局或乡镇（街道）确认。"
        )
        return
    if std.yearly is not None:
        ctx.caveat(
            f"农村低保标准是按年定的（每人每年{money(std.yearly)}元），这里除以12折算为每月{money(std.monthly)}元来比较。"
        )
    if pv.kind == "floor":
        amount = f"每人每年{money(std.yearly)}元" if std.yearly is not None else f"每人每月{money(std.monthly)}元"
        note = f"（{pv.note_zh}）" if pv.note_zh else ""
        ctx.caveat(
            f"{pv.date_zh()}起的规定是各县区不低于{amount}{note}；{ctx.case.district}{ctx.case.as_of.year}年实际执行的标准"
            f"可能更高，请向{ctx.case.district}民政局或乡镇（街道）确认。"
        )
    ctx.unconfirmed(pv)


@dataclass(slots=True)
class Income:
    """Household income assessment. per_capita applies every deduction; per_capita_high leaves out the
    deductions whose local rule is not found (so the decision can tell whether they matter)."""

    gross: float
    deductions: list[dict]
    total_deducted: float
    uncertain: float
    size: int

    @property
    def per_capita(self) -> float:
        return round((self.gross - self.total_deducted) / self.size, 2)

    @property
    def per_capita_high(self) -> float:
        return round((self.gross - self.total_deducted + self.uncertain) / self.size, 2)


def _deduction(kind: str, amount: float, pv: ParamValue | None, confirmed: bool, detail: str, **extra) -> dict:
    ref = pv.reference() if pv is not None else {"title": "", "url": "", "effective_from": ""}
    return {
        "kind": kind,
        "amount": round(amount, 2),
        "reference": ref,
        "confirmed": confirmed,
        "detail_zh": detail,
        **extra,
    }


def assess_income(ctx: Ctx, members: tuple[Member, ...], prefix: str, deductions: bool = True) -> Income:
    """Gross income, items not counted (rulebook `<prefix>.income.excluded.<type>`), then rigid-expenditure
    and employment-cost deductions where the rulebook sets them (`dibao.deduction.*`)."""
    gross = 0.0
    wages = 0.0
    by_type: dict[str, float] = {}
    for m in members:
        for kind, amount in m.incomes:
            if amount:
                gross += amount
                by_type[kind] = by_type.get(kind, 0.0) + amount
                if kind == "wage":
                    wages += amount
    if any(not m.income_reported for m in members):
        ctx.caveat("有家庭成员没有填写收入，已按0元计算；如有收入请补充，结果可能变化。")
    entries: list[dict] = []
    total = 0.0
    uncertain = 0.0
    for kind, amount in by_type.items():
        pid = f"{prefix}.income.excluded.{kind}"
        if pid not in ctx.rb.parameters:
            continue
        pv = ctx.v(pid)
        if pv.value is False:
            continue
        sure = pv.value is True
        entries.append(
            _deduction(
                "excluded_income",
                amount,
                pv,
                sure,
                f"{INCOME_TYPE_ZH[kind]}{money(amount)}元不计入家庭收入",
                income_type=kind,
            )
        )
        total += amount
        if not sure:
            uncertain += amount
            ctx.unconfirmed(pv)
    if deductions:
        room = max(0.0, gross - total)
        rigid, rigid_uncertain, rigid_pv = _rigid(ctx, room)
        entries.append(
            _deduction("rigid_expenditure", rigid, rigid_pv, rigid_uncertain == 0, f"刚性支出扣除{money(rigid)}元")
        )
        total += rigid
        uncertain += rigid_uncertain
        room = max(0.0, gross - total)
        job_cost, job_pv = _employment_cost(ctx, wages, room)
        entries.append(
            _deduction(
                "employment_cost", job_cost, job_pv, job_pv.value is not None, f"就业成本扣除{money(job_cost)}元"
            )
        )
        total += job_cost
    return Income(round(gross, 2), entries, round(total, 2), round(uncertain, 2), len(members))


def _rigid(ctx: Ctx, room: float) -> tuple[float, float, ParamValue]:
    """Rigid spending the rulebook lets us deduct: (amount, part of it whose rule is unknown, reference)."""
    share_pv = ctx.v("dibao.deduction.rigid_expenditure.share")
    if not ctx.case.rigid:
        return 0.0, 0.0, share_pv
    sure = unsure = 0.0
    for kind, amount in ctx.case.rigid:
        allowed = ctx.v(f"dibao.deduction.rigid_expenditure.{kind}")
        if allowed.value is False:
            ctx.caveat(f"{RIGID_KIND_ZH[kind]}不在低保刚性支出扣除范围内，没有扣除。")
            continue
        if allowed.value is None:
            ctx.unconfirmed(allowed)
            unsure += amount
        elif share_pv.value is None:
            unsure += amount
        else:
            sure += amount * float(share_pv.value) / 100
    if unsure:
        ctx.unconfirmed(share_pv)
        ctx.caveat("刚性支出先按您填写的金额全部扣除；实际能扣多少，要由县区民政局核实票据后确定。")
    sure = min(sure, room)
    unsure = min(unsure, room - sure)
    return sure + unsure, unsure, share_pv


def _employment_cost(ctx: Ctx, wages: float, room: float) -> tuple[float, ParamValue]:
    pv = ctx.v("dibao.deduction.employment_cost.share_of_wage")
    if not wages:
        return 0.0, pv
    if pv.value is None:
        ctx.unconfirmed(pv)  # the not-found sentence comes from the figure's own note
        ctx.caveat("工资收入的就业成本这里没有扣除，实际核算时人均收入可能更低。")
        return 0.0, pv
    return min(wages * float(pv.value) / 100, room), pv


def _asset_rule(
    ctx: Ctx,
    rule_id: str,
    allows: Callable[[Any], bool],
    results: list,
    details: list,
    not_found_zh: str,
    refused_zh: Callable[[Any], str],
) -> ParamValue:
    """One asset rule (a car, a number of homes): passes, fails (only if confirmed) or is unknown."""
    rule = ctx.v(rule_id)
    if rule.value is None:
        results.append(None)
        details.append(not_found_zh)
    elif allows(rule.value):
        results.append(True)
    else:
        results.append(False if rule.confirmed else None)
        details.append(refused_zh(rule.value))
    ctx.unconfirmed(rule)
    return rule


def assets_condition(ctx: Ctx, std: Standard) -> Condition:
    """Asset tests (deposits per person, private cars, number of homes). Facts not given count as not
    reported: they pass with a caveat. An unconfirmed rule never fails a case (see module docstring).

    Deposits: the limit is a multiple of the local per-capita disposable income, which is not in the
    rulebook. It is always above the yearly dibao standard (the standard is set as a share of local
    consumption spending, itself below disposable income), so deposits per person up to that multiple
    of 12 x the standard's floor are certainly within the limit; above it the office decides.
    """
    case = ctx.case
    size = len(case.members)
    results: list[Tri] = []
    details: list[str] = []
    missing = [
        name
        for key, name in (("deposits", "存款"), ("private_cars", "车辆"), ("homes", "住房"))
        if case.assets.get(key) is None
    ]
    if missing:
        ctx.caveat(f"没有提供{'、'.join(missing)}情况，按没有此类财产计算；实际审核时要核查家庭财产。")
    ref: ParamValue | None = None
    deposits = case.assets.get("deposits")
    if deposits:
        multiple = ctx.v("dibao.assets.deposit_limit_years_of_income")
        income_pid = (
            "stats.disposable_income.rural_yearly"
            if case.residence == "rural"
            else "stats.disposable_income.urban_yearly"
        )
        disposable = ctx.v(income_pid)
        ref = multiple
        per_person = deposits / size
        if multiple.value is None:
            results.append(None)
            details.append(f"人均存款{money(per_person)}元，存款限额没有找到")
            ctx.unconfirmed(multiple)
        elif disposable.value is not None:
            limit = float(multiple.value) * float(disposable.value)
            ok = per_person <= limit
            results.append(True if ok else (False if multiple.confirmed and disposable.confirmed else None))
            details.append(f"人均存款{money(per_person)}元，{'未超过' if ok else '超过'}限额{money(limit)}元")
            ctx.unconfirmed(multiple)
        elif std.low is not None and per_person <= float(multiple.value) * std.low * MONTHS_PER_YEAR:
            results.append(True)
            details.append(f"人均存款{money(per_person)}元，明显低于限额（当地上年人均可支配收入）")
            ctx.unconfirmed(multiple)
        else:
            results.append(None)
            details.append(f"人均存款{money(per_person)}元，是否超过限额（当地上年人均可支配收入）需核实")
            ctx.unconfirmed(multiple)
            ctx.unconfirmed(disposable)
    cars = case.assets.get("private_cars")
    if cars:
        ref = ref or _asset_rule(
            ctx,
            "dibao.assets.private_car_allowed",
            bool,
            results,
            details,
            f"有私家车{cars}辆，车辆规定没有找到",
            lambda _: f"有私家车{cars}辆，按规定有私家车的一般不能享受低保（残疾人代步车除外）",
        )
    homes = case.assets.get("homes")
    if homes:
        ref = ref or _asset_rule(
            ctx,
            "dibao.assets.max_homes",
            lambda limit: homes <= limit,
            results,
            details,
            f"有住房{homes}套，住房规定没有找到",
            lambda limit: f"有住房{homes}套，超过{money(limit)}套",
        )
    passed = all_of(*results)
    if passed is True:
        detail = "家庭财产符合规定" + (f"（{'；'.join(details)}）" if details else "（按已提供的情况）")
    elif passed is False:
        detail = "家庭财产不符合规定：" + "；".join(details)
    else:
        detail = "家庭财产需要核实：" + "；".join(d for d in details)
    return Condition("assets_within_limits", passed, detail, ref or ctx.v("dibao.assets.max_homes"))


def income_condition(
    ctx: Ctx,
    income: Income,
    std: Standard,
    cid: str = "income_below_standard",
    factor: float = 1.0,
    line_zh: str = "低保标准",
) -> Condition:
    """Per-capita income below factor x standard, explained in plain words."""
    passed = std.below(income.per_capita, income.per_capita_high, factor)
    pc = money(income.per_capita)
    if std.monthly is None:
        return Condition(cid, None, f"家庭人均月收入{pc}元；{line_zh}没有收录，需到民政部门核实", std.pv)
    line = money(round(std.monthly * factor, 2))
    times = "" if factor == 1 else f"，即低保标准{money(std.monthly)}元的{money(factor)}倍"
    if std.pv.kind == "floor":
        basis = f"{line_zh}（按全市最低标准算为每人每月{line}元{times}）"
    else:
        basis = f"{line_zh}（每人每月{line}元{times}）"
    if passed is True:
        extra = (
            ""
            if income.per_capita_high == income.per_capita
            else f"（不扣除待核定项目也只有{money(income.per_capita_high)}元）"
        )
        return Condition(cid, True, f"家庭人均月收入{pc}元{extra}，低于{basis}", std.pv)
    if passed is False:
        return Condition(cid, False, f"家庭人均月收入{pc}元，不低于{basis}", std.pv)
    below_with_deductions = std.low is not None and income.per_capita < round(std.low * factor, 2)
    if below_with_deductions:
        why = f"扣除后人均{pc}元低于{basis}，但不扣除待核定的项目是{money(income.per_capita_high)}元，扣除金额要由民政部门核定"
    elif std.pv.kind == "floor":
        why = f"家庭人均月收入{pc}元，没有低于{basis}；当地现行标准可能更高，是否符合要按现行标准核实"
    else:
        why = f"家庭人均月收入{pc}元，按未经本地确认的{basis}不符合，需要按现行标准核实"
    return Condition(cid, None, why, std.pv)
