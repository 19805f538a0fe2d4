"""Help-request categories, statuses and urgencies with their Chinese labels.

Why a constant module: a request's category is the topic intent the conversation was about (the names
in /work/shared/contracts/intents.yml, which are stable by contract), so staff can filter requests by the
same topics analytics count. One entry per `ask_*` topic intent plus complaints and "other".
"""
from __future__ import annotations

CATEGORIES: dict[str, str] = {
    "ask_dibao_standard": "低保标准",
    "ask_dibao_eligibility": "低保申请/资格",
    "ask_dibao_application": "低保办理流程",
    "ask_dibao_gradual_exit": "低保渐退",
    "ask_single_person_coverage": "单人保",
    "ask_rigid_expenditure": "刚性支出扣除",
    "ask_employment_cost_deduction": "就业成本扣除",
    "ask_extreme_poverty_support": "特困人员救助供养",
    "ask_temporary_assistance": "临时救助",
    "ask_medical_assistance": "医疗救助",
    "ask_job_subsidy": "就业补贴",
    "ask_public_welfare_job": "公益性岗位",
    "ask_skills_training": "职业技能培训",
    "ask_job_vacancies": "求职招聘",
    "ask_entrepreneurship": "创业扶持",
    "ask_poverty_monitoring": "防止返贫监测",
    "ask_industry_support": "产业帮扶",
    "report_complaint": "投诉举报",
    "other": "其他",
}

URGENCIES: dict[str, str] = {
    "normal": "一般",
    "urgent": "紧急",
    "emergency": "特别紧急",
}

STATUSES: dict[str, str] = {
    "new": "新提交",
    "in_progress": "办理中",
    "resolved": "已办结",
    "referred": "已转办",
}

# The request workflow: new -> in_progress -> resolved | referred. Terminal states have no way out.
TRANSITIONS: dict[str, frozenset[str]] = {
    "new": frozenset({"in_progress"}),
    "in_progress": frozenset({"resolved", "referred"}),
    "resolved": frozenset(),
    "referred": frozenset(),
}

CONVERSATION_STATES: dict[str, str] = {
    "bot": "机器人应答",
    "waiting": "等待人工",
    "operator": "人工接管",
}

ROLES: dict[str, str] = {
    "operator": "话务员",
    "staff": "业务人员",
    "admin": "管理员",
}


def category_label(category: str) -> str:
    """Chinese label of a category; the raw name for a category no longer listed (old records)."""
    return CATEGORIES.get(category, category)
