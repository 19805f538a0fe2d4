"""The one place that turns an engine outcome into words: programme names, verdict words, citations, the
standard as a resident should read it (「不低于 600 元」 for a floor), the estimate, the next step.

Chat (actions/eligibility.py), the operator console (/api/eligibility adds `card`) and the staff pages all
use these functions, so a verdict is worded the same way at every door and printed once.

`card(result)` is the short form the chat widget shows (issue 13 builds against this exact shape):
    {"summary": str, "figures": [{"label": str, "value": str}, ...2-3], "next_step": str, "details": [str, ...]}
`chat_text(result, contact)` is the same content as plain text (summary, figures, next step, details), so a
REST client that ignores `custom` still gets everything.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

PROGRAM_ZH: dict[str, str] = {
    "dibao": "低保",
    "single_person": "单人保",
    "gradual_exit": "低保渐退期",
    "extreme_poverty": "特困人员救助供养",
    "temporary_assistance": "临时救助",
    "job_subsidy": "就业补贴",
}
# Staff-facing one-word verdicts (lists, charts, review pages).
VERDICT_WORD = {True: "符合", False: "不符合", None: "待核实"}
# Resident-facing conclusions: never more certain than the engine.
_SUMMARY = {
    True: "初步判断：可能符合{name}条件",
    False: "初步判断：不符合{name}条件",
    None: "初步判断：还不能确定是否符合{name}条件",
}
_MARK = {True: "【符合】", False: "【不符合】", None: "【待核实】"}
_FINAL_WORD = "这是根据您说的情况做的初步测算，最终以乡镇（街道）和县区部门审核为准。"


def money(x: float | int | None) -> str:
    """Yuan for Chinese text: 600 -> '600', 333.333 -> '333.33'."""
    if x is None:
        return "未知"
    x = round(float(x), 2)
    return str(int(x)) if x == int(x) else f"{x:.2f}".rstrip("0").rstrip(".")


def program_name(program: str | None) -> str:
    return PROGRAM_ZH.get(program or "", program or "")


def verdict_word(eligible: object) -> str:
    return VERDICT_WORD.get(eligible if isinstance(eligible, bool) else None, VERDICT_WORD[None])


def summary(result: dict[str, Any]) -> str:
    eligible = result.get("eligible")
    key = eligible if isinstance(eligible, bool) else None
    return _SUMMARY[key].format(name=program_name(result.get("program")))


def citation(reference: dict[str, Any] | None) -> str:
    """'（依据：title，2018-01-01起）' for a condition's or a deduction's reference; '' when it has none."""
    if not reference or not reference.get("title") or not reference.get("effective_from"):
        return ""
    return f"（依据：{reference['title']}，{reference['effective_from']}起）"


def explanation(program: str, eligible: bool | None, conditions: Iterable[dict[str, Any]], district: str) -> str:
    """The contract's explanation_zh: one summary line, then one line per condition with its source and date."""
    name = program_name(program)
    head = {
        True: f"结论：按您提供的情况，可能符合{name}条件，最终以入户调查和审核结果为准。",
        False: f"结论：按您提供的情况，目前不符合{name}条件。",
        None: f"结论：能否享受{name}，这里还不能确定，需要到{district}的乡镇（街道）或县区主管部门核实。",
    }[eligible]
    return "\n".join(
        [head] + [f"{_MARK[c.get('passed')]}{c.get('detail_zh', '')}{citation(c.get('reference'))}" for c in conditions]
    )


def standard_text(result: dict[str, Any]) -> str | None:
    """The standard applied, as a resident should read it: a floor is 「不低于」, a ceiling 「不高于」."""
    std = result.get("standard_monthly")
    if std is None:
        return None
    prefix = {"floor": "不低于 ", "ceiling": "不高于 "}.get(result.get("standard_kind") or "", "")
    return f"{prefix}{money(std)} 元/人·月"


def estimate_text(result: dict[str, Any]) -> str | None:
    est = result.get("estimate")
    if not est or est.get("monthly") is None:
        return None
    word = "至少约 " if est.get("kind") == "at_least" else "约 "
    return f"{word}{money(est['monthly'])} 元/月（估算）"


def figures(result: dict[str, Any]) -> list[dict[str, str]]:
    """2-3 labelled figures: per-capita income, the standard applied, the estimate when there is one."""
    out = []
    if result.get("per_capita_income_monthly") is not None:
        out.append({"label": "家庭人均月收入", "value": f"{money(result['per_capita_income_monthly'])} 元"})
    std = standard_text(result)
    if std:
        out.append({"label": "对照的低保标准", "value": std})
    est = estimate_text(result)
    if est:
        out.append({"label": "估计每月能领", "value": est})
    for subsidy in _applying_subsidies(result):
        if len(out) >= 3:
            break
        out.append({"label": _SUBSIDY_ZH.get(subsidy.get("id"), "补贴"), "value": _subsidy_amount(subsidy)})
    return out[:3]


_SUBSIDY_ZH = {
    "one_off_hiring": "一次性吸纳就业补贴（发给单位）",
    "on_job_training": "以工代训补贴",
    "travel": "一次性交通补助",
}


def _subsidy_amount(subsidy: dict[str, Any]) -> str:
    if subsidy.get("amount") is not None:
        return f"{money(subsidy['amount'])} 元"
    if subsidy.get("amount_min") is not None and subsidy.get("amount_max") is not None:
        return f"一般 {money(subsidy['amount_min'])}-{money(subsidy['amount_max'])} 元"
    return "金额由县区确定"


def _applying_subsidies(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in result.get("subsidies") or [] if s.get("eligible") is True and s.get("current", True)]


def next_step(result: dict[str, Any], contact: str = "") -> str:
    """One sentence: what to do now, given the verdict."""
    program, eligible = result.get("program"), result.get("eligible")
    office = "县区人社局（就业服务中心）" if program == "job_subsidy" else "户籍所在地的乡镇（街道）"
    step = {
        True: "可以带上身份证、户口簿去申请",
        None: "请说明情况，由工作人员核实后再定",
        False: "如果情况有变化，或者认为算得不对，可以再去咨询",
    }[eligible if isinstance(eligible, bool) else None]
    return f"{step}：{contact}" if contact else f"{step}，地点：{office}。"


def details(result: dict[str, Any]) -> list[str]:
    """Each reason with its source and date, the members or subsidies that matter, then the caveats."""
    lines = [
        f"{_MARK[c.get('passed')]}{c.get('detail_zh', '')}{citation(c.get('reference'))}"
        for c in result.get("conditions") or []
    ]
    for member in result.get("members") or []:
        if member.get("eligible") is not False and member.get("detail_zh"):
            lines.append(member["detail_zh"])
    for subsidy in result.get("subsidies") or []:
        if not subsidy.get("current", True):
            lines.append(f"【已不是现行补贴】{subsidy.get('detail_zh', '')}")
        elif subsidy.get("eligible") is True:
            lines.append(f"【符合】{subsidy.get('detail_zh', '')}{citation(subsidy.get('reference'))}")
        elif subsidy.get("eligible") is None:
            lines.append(f"【待核实】{subsidy.get('detail_zh', '')}{citation(subsidy.get('reference'))}")
    est = result.get("estimate")
    if est and est.get("basis_zh"):
        lines.append(f"估算依据：{est['basis_zh']}")
    lines += [f"请注意：{c}" for c in result.get("caveats_zh") or []]
    lines.append(_FINAL_WORD)
    return lines


def card(result: dict[str, Any], contact: str = "") -> dict[str, Any]:
    """The short answer a widget shows; see the module docstring for the shape."""
    return {
        "summary": summary(result),
        "figures": figures(result),
        "next_step": next_step(result, contact),
        "details": details(result),
    }


def card_text(shown: dict[str, Any]) -> str:
    """A card as plain text, in the order a resident reads it."""
    lines = [shown["summary"] + "。"]
    lines += [f"{f['label']}：{f['value']}" for f in shown["figures"]]
    lines.append(f"下一步：{shown['next_step']}")
    lines += [f"· {d}" for d in shown["details"]]
    return "\n".join(lines)


def chat_text(result: dict[str, Any], contact: str = "") -> str:
    return card_text(card(result, contact))
