"""The six programs as small functions over (rules context, case). Each returns an Outcome; bot.eligibility
assembles the contract's result JSON from it. All figures come from the rulebook through Ctx.v()."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.eligibility.case import DISABILITY_KIND_ZH, DISABILITY_KINDS, Member
from bot.eligibility.core import (
    Condition,
    Ctx,
    Income,
    Standard,
    Tri,
    all_of,
    assess_income,
    assets_condition,
    dibao_standard,
    income_condition,
    money,
    negate,
    standard_caveats,
)
from bot.rulebook import ParamValue


@dataclass(slots=True)
class Outcome:
    conditions: list[Condition]
    income: Income | None = None
    standard: Standard | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _hukou_caveat(ctx: Ctx) -> None:
    ctx.caveat("申请一般要在户籍所在地的乡镇（街道）提出；户籍、家庭成员和收入财产以入户调查和经济状况核对为准。")


def _household_basis(ctx: Ctx) -> tuple[Standard, Income]:
    std = dibao_standard(ctx)
    standard_caveats(ctx, std)
    return std, assess_income(ctx, ctx.case.members, "dibao")


def _hebei_average_hint(ctx: Ctx, cond: Condition) -> None:
    """When the floor cannot decide, give the province-wide figure as context (clearly not the local figure)."""
    if cond.passed is not None or ctx.case.residence is None:
        return
    pv = ctx.v(f"dibao.hebei_average.{ctx.case.residence}_monthly")
    if pv.value is not None:
        ctx.caveat(
            f"仅供参考：河北省{pv.date_zh()}{'城市' if ctx.case.residence == 'urban' else '农村'}低保的全省数字"
            f"约每人每月{money(pv.value)}元（不是{ctx.case.district}的标准；来源：{pv.source_title}）。"
        )


def dibao(ctx: Ctx) -> Outcome:
    """Whole-household dibao: per-capita income below the local standard and assets within the rules."""
    std, income = _household_basis(ctx)
    below = income_condition(ctx, income, std)
    _hebei_average_hint(ctx, below)
    _hukou_caveat(ctx)
    return Outcome([below, assets_condition(ctx, std)], income, std)


def _kind_level(ctx: Ctx, prefix: str, kind: str) -> ParamValue | None:
    """The `<prefix>.<kind>_max_level` rule for a disability kind, or None when the rulebook lists none."""
    pid = f"{prefix}.{kind}_max_level"
    return ctx.v(pid) if pid in ctx.rb.parameters else None


def _level_by_kind(ctx: Ctx, prefix: str, level: int, kind: str | None) -> Tri:
    """Is a disability of `level` within the per-kind levels of `prefix`? With the kind unknown: True when every
    kind would do, None when only some would (the resident is asked the kind), False when none would."""
    kinds = (kind,) if kind is not None else DISABILITY_KINDS
    fits = []
    for k in kinds:
        rule = _kind_level(ctx, prefix, k)
        fits.append(
            None if rule is not None and rule.value is None else bool(rule is not None and level <= float(rule.value))
        )
    if kind is not None:
        return fits[0]
    return True if all(f is True for f in fits) else (None if any(f is not False for f in fits) else False)


def _member_qualifies(ctx: Ctx, m: Member) -> tuple[Tri, str]:
    """Does this member belong to the groups that may be admitted alone (民发〔2021〕57号 Art. 8)?"""
    severe = ctx.v("single_person.severe_disability_max_level")
    illness = ctx.v("single_person.serious_illness_qualifies")
    level, kind = m.disability_level, m.disability_kind
    unknown: list[str] = []
    if level is not None:
        if severe.value is None:
            unknown.append("单人保的残疾条件在该日期没有收录")
        elif level <= severe.value:
            return True, f"持{level}级残疾证（重度残疾）"
        fits = _level_by_kind(ctx, "single_person", level, kind)
        if fits is True:
            return True, f"{level}级{DISABILITY_KIND_ZH.get(kind or '', '')}残疾"
        if fits is None:
            unknown.append(
                f"{level}级残疾，要看残疾类别：三级智力残疾或三级精神残疾（含孤独症）可以单独纳入，"
                f"其他类别的三级残疾不能；请看残疾证上写的类别"
            )
    if m.illness_name:  # classified by the rulebook's lists, which are not Qinhuangdao's own
        ctx.unconfirmed(ctx.v("illness.serious.names"))
    if m.illness == "serious" or m.serious_illness:
        if illness.value is None:
            unknown.append("单人保的重病条件在该日期没有收录")
        elif illness.value:
            name = f"（{m.illness_name}）" if m.illness_name else ""
            return True, f"患重特大疾病{name}（病种以当地认定为准）"
    elif m.illness == "unknown":
        what = f"“{m.illness_name}”" if m.illness_name else "所患的病"
        unknown.append(f"{what}是否属于当地认定的重特大疾病需要核实")
    if unknown:
        return None, "；".join(unknown)
    if m.illness == "ordinary":
        return False, f"所患{m.illness_name or '的病'}属于一般慢性病，不属于重特大疾病，也不是重度残疾"
    return False, "不属于重度残疾或重特大疾病患者"


def _adult_unemployed_severe(ctx: Ctx, m: Member) -> tuple[Tri, ParamValue]:
    """民发〔2022〕83号 §1(1): 成年无业重度残疾人 may apply 参照单人户 (their own income, not the family's)."""
    rule = ctx.v("single_person.adult_unemployed_severe_disability")
    adult = ctx.v("single_person.adult_min_age")
    severe = ctx.v("single_person.severe_disability_max_level")
    if not rule.value or severe.value is None or m.disability_level is None or m.disability_level > severe.value:
        return False, rule
    is_adult = None if m.age is None or adult.value is None else m.age >= adult.value
    jobless = None if m.employed is None else not m.employed
    return all_of(is_adult, jobless), rule


def single_person(ctx: Ctx) -> Outcome:
    """单人保, one decision per member.

    A member with a qualifying condition (level 1-2 disability of any kind, level 3 intellectual or
    mental disability, or a locally recognised serious illness) in a 低保边缘 family may be covered
    alone. The family is "低保边缘" when its per-capita income is at or above the dibao standard S but
    below edge_multiple x S. Observation that makes the answer decidable even when S is only known as a
    floor: if income < S the whole family qualifies for dibao (and the member with it); if
    S <= income < edge x S the member qualifies alone. So for a qualifying member the only question is
    income < edge x S; with S >= floor, income < edge x floor settles it (eligible true) whichever way
    the unknown real standard goes. Above edge x floor the real standard decides -> null.

    members[].eligible therefore means "this person can be covered by dibao, alone (单人保) or with the
    whole family"; a member without a qualifying condition is covered only if the whole family is.
    The program's `eligible` is about the 单人保 route: it needs at least one qualifying member.
    """
    std, income = _household_basis(ctx)
    edge = ctx.v("dibao.edge_multiple")
    ctx.unconfirmed(edge)
    if edge.value is None:
        edge_cond = Condition("income_below_edge_line", None, "低保边缘家庭的收入线在该日期没有收录", edge)
    else:
        edge_cond = income_condition(ctx, income, std, "income_below_edge_line", float(edge.value), "低保边缘线")
        edge_cond.ref = edge
    whole = std.below(income.per_capita, income.per_capita_high)
    assets = assets_condition(ctx, std)
    rows, qualifying, alone_routes = [], [], []
    for m in ctx.case.members:
        q, why = _member_qualifies(ctx, m)
        qualifying.append(q)
        alone, alone_rule = _adult_unemployed_severe(ctx, m)
        if q:
            ok = all_of(edge_cond.passed, assets.passed)
            route = (
                "全家人均收入已低于低保标准，可整户申请低保，该成员随全家纳入"
                if whole is True
                else "可以参照“单人户”单独纳入低保"
                if ok
                else "家庭收入或财产需要核实，暂不能确定"
                if ok is None
                else "家庭收入或财产不符合低保边缘家庭条件"
            )
            if ok is not True and alone is not False:
                own = assess_income(ctx, (m,), "dibao")
                own_ok = all_of(alone, std.below(own.per_capita, own.per_capita_high), assets.passed)
                alone_routes.append(own_ok)
                if own_ok is not False:
                    ok = True if own_ok is True else ok if ok is not False else None
                    route += (
                        f"；另外，成年无业重度残疾人可以参照“单人户”申请低保，按本人收入（每月{money(own.per_capita)}元）"
                        f"核算（{alone_rule.source_title}）"
                    )
        else:
            ok = all_of(whole, assets.passed)
            route = (
                "不能单独纳入；但全家人均收入低于低保标准，可随全家申请低保"
                if ok
                else "不能单独纳入；如当地标准高于全家人均收入，可随全家申请低保"
                if ok is None
                else "不能单独纳入"
            )
        rows.append({"index": m.index, "eligible": ok, "detail_zh": f"第{m.index}位成员{why}：{route}"})
    any_q = True if any(q is True for q in qualifying) else (None if any(q is None for q in qualifying) else False)
    names = "、".join(f"第{m.index}位" for m, q in zip(ctx.case.members, qualifying) if q)
    unsure = [row["detail_zh"] for row, q in zip(rows, qualifying) if q is None]
    q_detail = (
        f"{names}家庭成员属于重度残疾或重特大疾病患者，可以单独申请"
        if any_q
        else "家庭成员中没有可以单独纳入低保的重度残疾人或重特大疾病患者"
        if any_q is False
        else "家庭成员是否符合单人保条件需要核实：" + "；".join(unsure)
    )
    q_ref = ctx.v("single_person.severe_disability_max_level")
    alone_best = True if True in alone_routes else (None if None in alone_routes else False)
    if (edge_cond.passed is False and alone_best is not False) or (edge_cond.passed is None and alone_best is True):
        rule = ctx.v("single_person.adult_unemployed_severe_disability")
        edge_cond = Condition(
            "income_below_edge_line",
            alone_best,
            edge_cond.detail_zh + "；但家中成年无业重度残疾人可以按本人收入参照“单人户”申请低保",
            rule,
        )
    if whole is True:
        ctx.caveat("全家人均收入已低于低保标准，应整户申请低保（不能只给部分成员办）。")
    _hebei_average_hint(ctx, edge_cond)
    _hukou_caveat(ctx)
    conditions = [edge_cond, assets, Condition("member_qualifies", any_q, q_detail, q_ref)]
    return Outcome(conditions, income, std, {"members": rows})


def gradual_exit(ctx: Ctx) -> Outcome:
    """渐退期: a dibao family whose income rose above the standard because a member found work keeps the
    allowance for up to gradual_exit.max_months. If income is still below the standard there is
    nothing to exit (condition fails: the family simply stays on dibao)."""
    std, income = _household_basis(ctx)
    case = ctx.case
    receiving = Condition(
        "receiving_dibao",
        case.receiving_dibao,
        {
            True: "现在是低保对象",
            False: "现在不是低保对象，渐退期只适用于已享受低保的家庭",
            None: "没有说明现在是否享受低保",
        }[case.receiving_dibao],
    )
    rose = Condition(
        "income_rose_due_to_employment",
        case.income_rose_due_to_employment,
        {
            True: "收入增加是因为家庭成员就业",
            False: "收入增加不是因为就业，不适用渐退期",
            None: "没有说明收入增加是否因为就业",
        }[case.income_rose_due_to_employment],
    )
    below = income_condition(ctx, income, std)
    above = Condition("income_above_standard", negate(below.passed), below.detail_zh, std.pv)
    if above.passed is False:
        above.detail_zh += "；收入没有超过标准，继续按低保对象管理，不需要渐退"
    months = ctx.v("gradual_exit.max_months")
    receiving.ref = rose.ref = months
    extra = {"gradual_exit_months": int(months.value) if months.value is not None else None}
    ctx.unconfirmed(months)
    if (
        months.value is not None
        and case.receiving_dibao
        and case.income_rose_due_to_employment
        and above.passed is not False
    ):
        ctx.caveat(
            f"家庭成员就业后收入超过当地标准的，县区民政部门可以给予渐退期（不是一定给），原则上不超过"
            f"{money(months.value)}个月（{months.source_title}）；给不给、给多久由县区民政局决定。"
            f"如果收入仍低于当地标准，则继续按低保对象管理。"
        )
    poverty = ctx.v("gradual_exit.poverty_household_min_months")
    if poverty.value is not None:
        ctx.caveat(
            f"脱贫攻坚期内，建档立卡贫困户的农村低保渐退期原则上不少于{money(poverty.value)}个月（{poverty.source_title}）。"
        )
    return Outcome([receiving, rose, above], income, std, extra)


def _unable_to_work(ctx: Ctx, m: Member) -> tuple[Tri, str, Any]:
    """特困人员认定办法 Art. 7: 60+, under 16, or a listed disability (per-kind levels in the rulebook);
    Hebei's 2020 measures cover minors to 18. A disability outside the list is not "unable to work" by
    Art. 7(3), but may be by 7(4) (the province's other situations, not found): review, not refusal."""
    old = ctx.v("extreme_poverty.unable_to_work.elderly_min_age")
    young = ctx.v("extreme_poverty.unable_to_work.minor_below_age")
    minor_until = ctx.v("extreme_poverty.minor_support_until_age")
    if m.age is not None and old.value is not None and m.age >= old.value:
        return True, f"申请人{m.age}岁，年满{money(old.value)}周岁视为无劳动能力", old
    if m.age is not None and young.value is not None and m.age < young.value:
        return True, f"申请人{m.age}岁，未满{money(young.value)}周岁", young
    if m.age is not None and minor_until.value is not None and m.age < minor_until.value:
        ctx.unconfirmed(minor_until)
        return (
            True,
            (
                f"申请人{m.age}岁；河北省2020年起把特困供养覆盖的未成年人年龄延长到{money(minor_until.value)}周岁"
                f"（{minor_until.source_title}）"
            ),
            minor_until,
        )
    if m.disability_level is not None:
        fits = _level_by_kind(ctx, "extreme_poverty.unable_to_work", m.disability_level, m.disability_kind)
        kind_zh = DISABILITY_KIND_ZH.get(m.disability_kind or "", "")
        rule = _kind_level(ctx, "extreme_poverty.unable_to_work", m.disability_kind or "intellectual") or old
        if fits is True:
            return True, f"申请人为{m.disability_level}级{kind_zh}残疾，属于认定办法列明的无劳动能力情形", rule
        if m.disability_kind is None:
            return (
                None,
                (
                    f"申请人为{m.disability_level}级残疾，要看残疾类别：一至三级智力或精神残疾、一至二级肢体残疾、"
                    f"一级视力残疾属于无劳动能力，请看残疾证上写的类别"
                ),
                rule,
            )
        return (
            None,
            (
                f"申请人为{m.disability_level}级{kind_zh}残疾，不在认定办法列明的残疾类别和等级内；"
                f"是否属于省里规定的其他无劳动能力情形，需要县区民政部门评估认定"
            ),
            rule,
        )
    if m.able_to_work is False:
        return None, "申请人是否无劳动能力，需要县区民政部门评估认定", old
    if m.age is None:
        ctx.caveat("没有提供申请人年龄，无法判断是否无劳动能力。")
        return None, "没有提供申请人年龄和残疾情况", old
    return False, f"申请人{m.age}岁，不属于老年人、未成年人或重度残疾人，一般不认定为无劳动能力", old


def extreme_poverty(ctx: Ctx) -> Outcome:
    """特困: the applicant (first member) must be unable to work, have income below the local dibao
    standard (特困 income exclusions apply), assets within the rules (the 特困 asset rule is not found;
    the dibao rule is used as the nearest reference), and no one legally obliged and able to support them."""
    case = ctx.case
    applicant = case.members[0]
    std = dibao_standard(ctx)
    standard_caveats(ctx, std)
    unable, why, ref = _unable_to_work(ctx, applicant)
    income = assess_income(ctx, (applicant,), "extreme_poverty", deductions=False)
    below = income_condition(ctx, income, std, "no_means_of_living")
    below.detail_zh = below.detail_zh.replace("家庭人均月收入", "申请人月收入")
    assets = assets_condition(ctx, std)
    ctx.unconfirmed(ctx.v("extreme_poverty.assets.rule"))
    ctx.caveat("特困人员的财产这里参照低保的财产规定判断。")
    support = Condition(
        "no_able_supporter",
        negate(case.has_able_supporter),
        {
            True: "有法定赡养、抚养、扶养义务人且有能力履行，不符合特困条件",
            False: "没有法定义务人，或义务人没有履行能力",
            None: "没有说明是否有能够赡养（抚养、扶养）的义务人，需要核实",
        }[case.has_able_supporter],
        ctx.v("extreme_poverty.unable_to_work.elderly_min_age"),
    )
    multiple = ctx.v("extreme_poverty.basic_living_multiple")
    extra: dict[str, Any] = {"support_standard_monthly": None}
    if multiple.value is not None and std.monthly is not None:
        extra["support_standard_monthly"] = round(std.monthly * float(multiple.value), 2)
        ctx.caveat(
            f"特困人员基本生活标准一般不低于当地低保标准的{money(multiple.value)}倍"
            f"（{multiple.source_title}），即不低于每人每月约{money(extra['support_standard_monthly'])}元。"
        )
    ctx.unconfirmed(multiple)
    ctx.unconfirmed(ctx.v("extreme_poverty.care_standard_monthly"))
    _hukou_caveat(ctx)
    conditions = [Condition("unable_to_work", unable, why, ref), below, assets, support]
    return Outcome(conditions, income, std, extra)


def temporary_assistance(ctx: Ctx) -> Outcome:
    """临时救助: the rules support a referral, not an amount. Emergency (急难型) and spending (支出型) cases
    may apply; whether the family's basic living is in serious difficulty is the office's judgement, and
    the local multiples and caps are not found, so a reported hardship gives eligible null with where to go."""
    case = ctx.case
    std, income = _household_basis(ctx)
    advance = ctx.v("temporary_assistance.advance_aid_allowed")
    kind = case.hardship_kind
    hardship = Condition(
        "hardship",
        {"emergency": True, "expenditure": True, "none": False, None: None}[kind],
        {
            "emergency": "遭遇火灾、事故、突发重病等急难情况（急难型临时救助）",
            "expenditure": "看病、上学等必需支出突然增加，超出家庭承受能力（支出型临时救助）",
            "none": "没有遭遇急难情况或大额必需支出，不属于临时救助范围",
            None: "没有说明遇到的困难（急难情况或大额必需支出）",
        }[kind],
        advance,
    )
    conditions = [hardship]
    if kind == "expenditure":
        below = std.below(income.per_capita, income.per_capita_high)
        conditions.append(
            Condition(
                "income_below_local_average",
                True if below else None,
                f"家庭人均月收入{money(income.per_capita)}元"
                + ("，低于当地上年人均可支配收入" if below else "，是否低于当地上年人均可支配收入需要核实"),
                ctx.v("stats.disposable_income.urban_yearly"),
            )
        )
        conditions.append(assets_condition(ctx, std))
    conditions.append(
        Condition(
            "office_assessment", None, "是否救助、救助多少，由乡镇（街道）或县区民政部门根据实际困难核定", advance
        )
    )
    if advance.value:
        ctx.caveat("情况紧急的，可以先救助、后补手续：请马上联系乡镇（街道）或村（居）委会。")
    ctx.unconfirmed(ctx.v("temporary_assistance.multiple_of_urban_dibao"))
    return Outcome(conditions, income, std)


_HIRING_EMPLOYERS = ("enterprise", "farm_business", "workshop")
_TRAVEL_RANGES = ("outside_province", "inside_province")
_LOCATION_ZH = {
    "outside_province": "省外务工",
    "inside_province": "省内市外务工",
    "inside_city": "市内县外务工",
    "local": "在本县务工",
}


def _subsidy(sid: str, eligible: Tri, amount: float | None, detail: str, pv: Any, **extra: Any) -> dict:
    return {
        "id": sid,
        "eligible": eligible,
        "amount": round(float(amount), 2) if amount is not None else None,
        "detail_zh": detail,
        "reference": pv.reference(),
        **extra,
    }


def _at_least(value: float | None, pv: Any) -> Tri:
    """value >= the rule's figure; an unconfirmed figure may pass a case but never fails it (-> None)."""
    if value is None or pv.value is None:
        return None
    if value >= pv.value:
        return True
    return False if pv.confirmed else None


def _confirmed_no(value: Tri, pv: Any) -> Tri:
    """A False that rests on an unconfirmed rule becomes None."""
    return None if value is False and not pv.confirmed else value


def job_subsidy(ctx: Ctx) -> Outcome:
    """Employment subsidies for 脱贫劳动力 (the travel subsidy also for 监测对象: 脱贫户 and 监测户 are
    different answers). Amounts the rulebook does not know are null with a caveat; ranges give amount_min/
    amount_max; a measure whose figures are no longer in force on the date is listed with current false."""
    job = ctx.case.job
    assert job is not None  # parse_case requires it
    target = job.poverty_alleviated
    travel_target = (
        True
        if (job.poverty_alleviated or job.monitored_household)
        else (None if job.poverty_alleviated is None or job.monitored_household is None else False)
    )
    months = job.months_employed
    loc = job.work_location
    subsidies = []

    amount = ctx.v("job_subsidy.one_off_hiring.amount")
    need = ctx.v("job_subsidy.one_off_hiring.min_months")
    in_hebei = ctx.v("job_subsidy.one_off_hiring.employer_in_hebei")
    employer_ok = None if job.employer_type is None else job.employer_type in _HIRING_EMPLOYERS
    where_ok = (
        None
        if loc is None
        else (True if loc != "outside_province" or not in_hebei.value else _confirmed_no(False, in_hebei))
    )
    ok = all_of(target, employer_ok, where_ok, _at_least(months, need))
    where_zh = (
        "；在外省单位上班的，河北的这项补贴一般不适用，要问单位所在地人社部门" if loc == "outside_province" else ""
    )
    subsidies.append(
        _subsidy(
            "one_off_hiring",
            ok,
            amount.value if ok is not False else None,
            f"一次性吸纳就业补贴：用人单位（企业、农民专业合作社等经营主体、就业帮扶车间）吸纳脱贫劳动力"
            f"稳定就业满{money(need.value)}个月，每人补贴{money(amount.value)}元，发给用人单位{where_zh}",
            amount,
            paid_to="employer",
            current=True,
        )
    )
    ctx.unconfirmed(amount)
    if loc == "outside_province":
        ctx.unconfirmed(in_hebei)

    monthly = ctx.v("job_subsidy.on_job_training.monthly")
    max_months = ctx.v("job_subsidy.on_job_training.max_months")
    if monthly.value is None:
        past = next(
            (
                h
                for h in reversed(ctx.rb.history("job_subsidy.on_job_training.monthly"))
                if h.value is not None and h.effective_from is not None and h.effective_from <= ctx.case.as_of
            ),
            None,
        )
        if past is not None:
            subsidies.append(
                _subsidy(
                    "on_job_training",
                    None,
                    None,
                    f"以工代训补贴是{past.date_zh()}的阶段性措施（{past.source_title}）；{monthly.note_zh}，"
                    f"不作为现行补贴",
                    past,
                    paid_to="employer",
                    current=False,
                )
            )
    else:
        ok = all_of(target, employer_ok)
        total = None
        if ok is not False and max_months.value is not None and months is not None:
            total = float(monthly.value) * min(int(months), int(max_months.value))
        subsidies.append(
            _subsidy(
                "on_job_training",
                ok,
                total,
                f"以工代训补贴：每人每月最多{money(monthly.value)}元，最长{money(max_months.value)}个月，发给用人单位",
                monthly,
                paid_to="employer",
                amount_is_maximum=True,
                current=True,
            )
        )
        ctx.unconfirmed(monthly)

    need = ctx.v("job_subsidy.travel.min_months")
    away = None if loc is None else loc != "local"
    ok = all_of(travel_target, away, _at_least(months, need))
    lo = hi = None
    if loc in _TRAVEL_RANGES:
        lo = ctx.v(f"job_subsidy.travel.{loc}_min").value
        hi_pv = ctx.v(f"job_subsidy.travel.{loc}_max")
        hi = hi_pv.value
        ctx.unconfirmed(hi_pv)
        range_zh = f"一般{money(lo)}-{money(hi)}元，具体金额由县区确定"
    elif loc == "inside_city":
        city = ctx.v("job_subsidy.travel.inside_city_amount")
        ctx.unconfirmed(city)
        range_zh = "市内跨县务工的金额由各地自定"
        ok = None if ok is True else ok
    else:
        range_zh = "在本县务工不享受交通补助" if loc == "local" else "需说明务工地点"
    times = ctx.v("job_subsidy.travel.times_per_year")
    subsidies.append(
        _subsidy(
            "travel",
            ok,
            None,
            f"一次性交通补助：脱贫人口和监测对象到外地稳定务工满{money(need.value)}个月，"
            f"{_LOCATION_ZH.get(loc or '', '')}{range_zh}；每人每年最多{money(times.value)}次",
            need,
            paid_to="worker",
            amount_min=lo,
            amount_max=hi,
            current=True,
        )
    )
    if ok is not False:
        ctx.unconfirmed(need)

    if target:
        group = (True, "属于脱贫劳动力")
    elif job.monitored_household:
        group = (True, "属于防返贫监测对象（可申请交通补助；吸纳就业补贴只针对脱贫劳动力）")
    elif travel_target is False:
        group = (False, "不是脱贫劳动力或防返贫监测对象，这几项补贴不适用")
    else:
        group = (None, "没有说明是脱贫户还是防返贫监测户")
    target_cond = Condition("target_group", group[0], group[1], amount)
    states = [s["eligible"] for s in subsidies if s["current"]]
    any_ok = True if True in states else (None if None in states else False)
    applies = Condition(
        "any_subsidy_applies",
        any_ok,
        {
            True: "至少有一项补贴符合条件",
            False: "按填写的情况，没有符合条件的补贴",
            None: "是否能领补贴需要县区人社部门核实",
        }[any_ok],
        amount,
    )
    ctx.caveat("以上补贴由县区人社局（就业服务中心）核定发放，政策每年可能调整。")
    return Outcome([target_cond, applies], None, None, {"subsidies": subsidies})


PROGRAM_FUNCS: dict[str, Callable[[Ctx], Outcome]] = {
    "dibao": dibao,
    "single_person": single_person,
    "gradual_exit": gradual_exit,
    "extreme_poverty": extreme_poverty,
    "temporary_assistance": temporary_assistance,
    "job_subsidy": job_subsidy,
}
