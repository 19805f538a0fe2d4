"""Figures for topic answers: `topic_figures(intent, district, residence, on) -> {"figures", "contact"}`.

actions/texts.yml (section `topics`) holds the static wording of each topic answer with the placeholders
{figures} and {contact}; this module fills them from the rulebook only, so a figure changes in one place
(policies/*.yml) and every answer quotes it with its effective date and source. Lines are short: a
resident reads them on a phone. Templates here contain wording only; every number comes from a
rulebook value (tests/unit/test_answers.py checks that).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from bot.eligibility.present import money
from bot.rulebook import ParamValue, Rulebook, default_rulebook

Line = Callable[["_Ask"], str]
_UNCONFIRMED = "未经本地确认"  # the mark `_Ask.cite` adds to a figure's citation; a figure on a card keeps it


class _Ask:
    """One answer being built: the rulebook, date and place the resident asked about."""

    def __init__(self, rb: Rulebook, on: date, district: str | None, residence: str | None) -> None:
        self.rb, self.on, self.district, self.residence = rb, on, district, residence

    def v(self, pid: str, district: str | None = None, residence: str | None = None) -> ParamValue:
        return self.rb.value(pid, self.on, district or self.district, residence or self.residence)

    @staticmethod
    def cite(*pvs: ParamValue) -> str:
        pv = pvs[0]
        mark = "" if all(p.confirmed for p in pvs) else "，未经本地确认"
        if pv.id.startswith("press."):  # statistics of a dated press conference: say whose year they are
            year = f"{pv.effective_from.year}年的统计数字，不是现在的数字；" if pv.effective_from else ""
            return f"（{year}{pv.source_title}）"
        return f"（{pv.date_zh()}起，{pv.source_title}{mark}）"

    @staticmethod
    def show(pv: ParamValue) -> str:
        value = pv.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return str(value)
        if pv.unit == "元" and value >= 10000 and value % 10000 == 0:
            return f"{money(value / 10000)}万"
        return money(value)

    def missing(self, pv: ParamValue) -> str:
        note = f"：{pv.note_zh}" if pv.note_zh else ""
        return f"{pv.description_zh}：暂未找到公开数据{note}，请向{pv.confirm_at_zh}确认。"

    def fig(
        self, pid: str, template: str, district: str | None = None, residence: str | None = None, *more: str
    ) -> str:
        """`template` with {v} (and {v2}, {v3}... for `more` ids) filled from the rulebook, then one citation;
        or the honest 'not found' sentence when any of the figures is unset."""
        pvs = [self.v(p, district, residence) for p in (pid, *more)]
        for pv in pvs:
            if pv.value is None:
                return self.missing(pv)
        names = {"v": self.show(pvs[0]), **{f"v{i + 2}": self.show(pv) for i, pv in enumerate(pvs[1:])}}
        return template.format(**names) + self.cite(*pvs)


def _dibao_standard(a: _Ask) -> list[str]:
    lines = []
    floors = []
    for residence, pid, template in (
        ("urban", "dibao.standard.urban_monthly", "城市低保：每人每月不低于{v}元"),
        ("rural", "dibao.standard.rural_yearly", "农村低保：每人每年不低于{v}元"),
    ):
        if a.residence in (None, residence):
            pv = a.v(pid, residence=residence)
            lines.append(
                a.fig(pid, template if pv.kind == "floor" else template.replace("不低于", ""), residence=residence)
            )
            floors += [pv] if pv.kind == "floor" else []
    if floors:  # only a floor needs the caveat: an exact local standard (approved by staff) is the answer
        place = a.district or "各县区"
        note = f"（{floors[0].note_zh}）" if floors[0].note_zh else ""
        lines.append(f"这是全市的最低线{note}，{place}实际执行的标准可能更高，请向{place}民政局或乡镇（街道）确认。")
    res = a.residence or "urban"
    avg = a.v(f"dibao.hebei_average.{res}_monthly", residence=res)
    if avg.value is not None:
        lines.append(
            a.fig(
                f"dibao.hebei_average.{res}_monthly",
                f"参考：河北省{'城市' if res == 'urban' else '农村'}低保的全省数字每人每月{{v}}元（不是本地标准）",
                residence=res,
            )
        )
    return lines


def _dibao_eligibility(a: _Ask) -> list[str]:
    return [
        *_dibao_standard(a)[:2],
        a.fig("dibao.edge_multiple", "人均收入高于低保标准但低于{v}倍的，属于低保边缘家庭"),
        a.fig(
            "dibao.assets.private_car_allowed",
            "财产方面：家里有私家车（残疾人代步车除外）或存款较多的，一般不能享受低保",
        ),
        a.fig("dibao.assets.max_homes", "住房超过{v}套的，一般不能享受低保"),
    ]


def _dibao_application(a: _Ask) -> list[str]:
    return [
        a.fig("dibao.application.investigation_start_working_days", "受理后{v}个工作日内开始入户调查"),
        a.fig("dibao.application.public_notice_days", "在村（社区）公示{v}天"),
        a.fig("dibao.application.county_decision_working_days", "县区民政局收到材料后{v}个工作日内作出决定"),
        a.fig("dibao.application.total_working_days", "全程一般不超过{v}个工作日"),
        a.fig("dibao.application.documents", "一般要带：{v}"),
    ]


def _gradual_exit(a: _Ask) -> list[str]:
    return [
        a.fig(
            "gradual_exit.max_months",
            "因家庭成员就业、收入超过低保标准的，县区民政部门可以给予渐退期（不是一定给），原则上不超过{v}个月",
        )
    ]


def _single_person(a: _Ask) -> list[str]:
    return [
        a.fig("dibao.edge_multiple", "低保边缘家庭：人均收入低于当地低保标准的{v}倍"),
        a.fig("single_person.severe_disability_max_level", "可单独纳入：一级到{v}级残疾的重度残疾人"),
        a.fig("single_person.intellectual_max_level", "智力、精神残疾（含孤独症）放宽到{v}级"),
        a.fig("single_person.serious_illness_qualifies", "患重特大疾病的成员也可以（病种以当地认定为准）"),
        a.fig(
            "single_person.adult_unemployed_severe_disability",
            "成年、没有工作的重度残疾人，可以参照“单人户”单独申请低保",
        ),
    ]


def _rigid(a: _Ask) -> list[str]:
    return [
        a.fig(
            "dibao.deduction.rigid_expenditure.medical",
            "因残疾、患重病增加的自付医疗、康复等支出，可以从家庭收入中扣除",
        ),
        a.fig("dibao.deduction.rigid_expenditure.share", "扣除比例{v}%"),
        a.fig("dibao.deduction.rigid_expenditure.education", "子女上学的自付费用也可以扣除"),
    ]


def _employment_cost(a: _Ask) -> list[str]:
    return [a.fig("dibao.deduction.employment_cost.share_of_wage", "工资收入扣除{v}%的就业成本")]


def _extreme_poverty(a: _Ask) -> list[str]:
    return [
        a.fig("extreme_poverty.unable_to_work.elderly_min_age", "年满{v}周岁的老年人视为无劳动能力"),
        a.fig("extreme_poverty.unable_to_work.minor_below_age", "未满{v}周岁的未成年人视为无劳动能力"),
        a.fig(
            "extreme_poverty.basic_living_multiple",
            "基本生活标准一般不低于当地低保标准的{v}倍",
            residence=a.residence or "urban",
        ),
        a.fig("extreme_poverty.care_standard_monthly", "照料护理标准每人每月{v}元"),
        a.fig("extreme_poverty.application.township_investigation_working_days", "乡镇（街道）{v}个工作日内调查核实"),
    ]


def _temporary(a: _Ask) -> list[str]:
    return [
        a.fig("temporary_assistance.multiple_of_urban_dibao", "救助金额为城市低保月标准的{v}倍"),
        a.fig(
            "temporary_assistance.unemployed_no_income_months",
            "没有参保的失业人员连续{v}个月没有收入的，可以在务工地或居住地申请一次性临时救助",
        ),
        a.fig("press.temporary_assistance_cases", "全市已临时救助{v}人次"),
    ]


def _medical(a: _Ask) -> list[str]:
    return ["秦皇岛医疗救助的比例和年度限额没有找到公开数据，请向县区医保局或民政局确认。"]


def _job_subsidy(a: _Ask) -> list[str]:
    t = "job_subsidy.travel."
    return [
        a.fig(
            "job_subsidy.one_off_hiring.amount",
            "一次性吸纳就业补贴：单位吸纳脱贫劳动力稳定就业满{v2}个月，每人{v}元（发给单位）",
            None,
            None,
            "job_subsidy.one_off_hiring.min_months",
        ),
        a.fig(
            "job_subsidy.on_job_training.monthly",
            "以工代训补贴：每人每月最多{v}元，最长{v2}个月",
            None,
            None,
            "job_subsidy.on_job_training.max_months",
        ),
        a.fig(
            t + "outside_province_min",
            "一次性交通补助：跨省务工一般{v}-{v2}元，省内跨市一般{v3}-{v4}元，"
            "在外稳定务工满{v5}个月，每人每年{v6}次，具体金额由县区定",
            None,
            None,
            t + "outside_province_max",
            t + "inside_province_min",
            t + "inside_province_max",
            t + "min_months",
            t + "times_per_year",
        ),
    ]


def _public_welfare(a: _Ask) -> list[str]:
    return [
        a.fig("job_subsidy.public_welfare_post_monthly", "公益性岗位补贴每人每月{v}元"),
        a.fig("press.public_welfare_posts", "全市已有{v}名脱贫劳动力在公益性岗位上岗"),
    ]


def _skills(a: _Ask) -> list[str]:
    return [
        a.fig("job_subsidy.skills_training", "培训补贴每人{v}元"),
        a.fig("press.training_institutions", "全市有{v}家培训机构"),
    ]


def _vacancies(a: _Ask) -> list[str]:
    lines = [a.fig("press.job_fairs", "全市已办线上线下招聘会{v}场")]
    if a.district:
        lines.append(a.fig("employment.min_wage.monthly", f"{a.district}最低工资每月{{v}}元"))
    else:
        for district in ("海港区", "昌黎县"):
            pv = a.v("employment.min_wage.monthly", district=district)
            same = "、".join(
                d for d in a.rb.districts if a.v("employment.min_wage.monthly", district=d).value == pv.value
            )
            if pv.value is not None:
                lines.append(a.fig("employment.min_wage.monthly", f"{same}最低工资每月{{v}}元", district=district))
    return lines


def _entrepreneurship(a: _Ask) -> list[str]:
    return [
        a.fig(
            "entrepreneurship.loan.individual_max",
            "创业担保贷款：个人最高{v}元，最长{v2}年，政府贴息{v3}%",
            None,
            None,
            "entrepreneurship.loan.individual_term_years",
            "entrepreneurship.loan.interest_subsidy_percent",
        ),
        a.fig("entrepreneurship.loan.small_firm_max", "小微企业最高{v}元"),
    ]


def _monitoring(a: _Ask) -> list[str]:
    lines = [
        line
        for pv in a.rb.history("monitoring.income_line_yearly")
        if pv.value is not None
        for line in [f"监测线：人均年收入{money(pv.value)}元{a.cite(pv)}"]
    ]
    lines.append(a.fig("monitoring.income_line_yearly", "当前监测线：人均年收入{v}元"))
    lines.append(a.fig("monitoring.recognition_max_days", "从发现风险到认定，一般不超过{v}天"))
    return lines


def _industry(a: _Ask) -> list[str]:
    return [
        a.fig("press.industry_projects", "全市针对脱贫户实施产业帮扶项目{v}个"),
        a.fig("press.industry_funds", "投入产业帮扶资金{v}亿元"),
    ]


_CIVIL = "civil"
_HRSS = "hrss"
_RURAL = "rural"
TOPICS: dict[str, tuple[Callable[[_Ask], list[str]], str]] = {
    "ask_dibao_standard": (_dibao_standard, _CIVIL),
    "ask_dibao_eligibility": (_dibao_eligibility, _CIVIL),
    "ask_dibao_application": (_dibao_application, _CIVIL),
    "ask_dibao_gradual_exit": (_gradual_exit, _CIVIL),
    "ask_single_person_coverage": (_single_person, _CIVIL),
    "ask_rigid_expenditure": (_rigid, _CIVIL),
    "ask_employment_cost_deduction": (_employment_cost, _CIVIL),
    "ask_extreme_poverty_support": (_extreme_poverty, _CIVIL),
    "ask_temporary_assistance": (_temporary, _CIVIL),
    "ask_medical_assistance": (_medical, _CIVIL),
    "ask_job_subsidy": (_job_subsidy, _HRSS),
    "ask_public_welfare_job": (_public_welfare, _HRSS),
    "ask_skills_training": (_skills, _HRSS),
    "ask_job_vacancies": (_vacancies, _HRSS),
    "ask_entrepreneurship": (_entrepreneurship, _HRSS),
    "ask_poverty_monitoring": (_monitoring, _RURAL),
    "ask_industry_support": (_industry, _RURAL),
}


def _contact(a: _Ask, office: str) -> str:
    place = a.district or "您所在县区"
    if office == _HRSS:
        url = a.v("contact.hrss.url")
        return (
            f"可以到{place}人社局或就业服务中心、乡镇（街道）人社服务站咨询办理"
            + (f"，秦皇岛市人社局网站：{url.value}" if url.value else "")
            + "。"
        )
    if office == _RURAL:
        hotline = a.v("monitoring.hotline")
        return (
            f"可以向村委会、乡镇防贫工作站或{place}乡村振兴部门申报咨询"
            + (f"；全国乡村振兴热线{hotline.value}（河北是否使用未确认）" if hotline.value else "")
            + "。"
        )
    url = a.v("contact.civil_affairs.url")
    return (
        f"可以到户籍所在地的乡镇政府或街道办事处咨询申请，也可以问{place}民政局"
        + (f"，秦皇岛市民政局网站：{url.value}" if url.value else "")
        + "。"
    )


def topic_figures(
    intent: str,
    district: str | None = None,
    residence: str | None = None,
    on: date | None = None,
    rulebook: Rulebook | None = None,
) -> dict[str, str]:
    """{"figures": multi-line Chinese with each figure's date and source, "contact": where to go}.

    Unknown district or residence values (e.g. unvalidated slots) are ignored rather than raising, and
    intents without figures get an empty figures text and the civil-affairs contact.
    """
    rb = rulebook or default_rulebook()
    district = rb.normalise_district(district) if district else None
    residence = residence if residence in ("urban", "rural") else None
    ask = _Ask(rb, on or date.today(), district, residence)
    builder, office = TOPICS.get(intent, (lambda a: [], _CIVIL))
    return {"figures": "\n".join(builder(ask)), "contact": _contact(ask, office)}


LONG_ANSWER_CHARS = 120  # longer than about four lines on a 360 px phone: shown as a card
_SENTENCE_END = re.compile(r"(?<=[。！？])")
_FIGURE_LINE = re.compile(r"^(?P<label>[^：（]{2,12})：(?P<value>.+)$")
MAX_CARD_FIGURES = 3
MAX_FIGURE_CHARS = 40


def _without_citation(text: str) -> str:
    """`text` without the trailing （date起，source） that `_Ask.cite` appends (titles may nest brackets)."""
    if not text.endswith("）"):
        return text
    depth = 0
    for i in range(len(text) - 1, -1, -1):
        depth += {"）": 1, "（": -1}.get(text[i], 0)
        if depth == 0:
            return text[:i] if "起，" in text[i:] or text[i + 1 :].startswith("20") else text
    return text


def answer_card(text: str, next_step: str = "") -> dict | None:
    """A long topic answer as the widget's card, or None when it is short enough to read as it is.

    Same shape as the eligibility presenter's card: the first sentence is the summary; the short
    "label：figure" lines (without their citation) are the figures; `next_step` (where to go) is
    the next step; every other line, each with its date and source, is a detail shown on demand.
    The full text stays the message's text, so nothing here is the only place a resident can read it.
    """
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(text) <= LONG_ANSWER_CHARS or len(lines) < 2:
        return None
    first, *rest = [part for part in _SENTENCE_END.split(lines[0]) if part]
    details = ["".join(rest)] if rest else []
    details += [line for line in lines[1:] if line != next_step.strip()]
    figures = []
    for line in details:
        match = _FIGURE_LINE.match(line)
        value = _without_citation(match.group("value")) if match else ""
        if match and value != match.group("value") and len(value) <= MAX_FIGURE_CHARS:
            unconfirmed = f"（{_UNCONFIRMED}）" if _UNCONFIRMED in match.group("value")[len(value) :] else ""
            figures.append({"label": match.group("label"), "value": value + unconfirmed})
    return {"summary": first, "figures": figures[:MAX_CARD_FIGURES], "next_step": next_step.strip(), "details": details}
