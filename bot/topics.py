"""Chinese labels for the topic intents, shared by clarifying questions, help-request categories and charts.

Keys are the intent names of ../shared/contracts/intents.yml; a help request's category is one of them
(or `other`), so analytics and the staff desk group requests by the same names the NLU returns.
"""
from __future__ import annotations

INTENT_LABELS_ZH: dict[str, str] = {
    "ask_dibao_standard": "低保标准",
    "ask_dibao_eligibility": "能不能办低保",
    "ask_dibao_application": "怎么申请低保",
    "ask_dibao_gradual_exit": "低保渐退期",
    "ask_single_person_coverage": "单人保",
    "ask_rigid_expenditure": "刚性支出扣除",
    "ask_employment_cost_deduction": "就业成本扣除",
    "ask_extreme_poverty_support": "特困供养（五保）",
    "ask_temporary_assistance": "临时救助",
    "ask_medical_assistance": "医疗救助",
    "ask_job_subsidy": "就业补贴",
    "ask_public_welfare_job": "公益性岗位",
    "ask_skills_training": "技能培训",
    "ask_job_vacancies": "找工作、招聘会",
    "ask_entrepreneurship": "创业贷款",
    "ask_poverty_monitoring": "防返贫监测",
    "ask_industry_support": "产业帮扶",
    "request_help": "登记求助",
    "check_request_status": "查求助进度",
    "report_complaint": "投诉举报",
}

# Help-request categories: the topics plus a catch-all.
CATEGORY_LABELS_ZH: dict[str, str] = {
    **{k: v for k, v in INTENT_LABELS_ZH.items() if k not in ("request_help", "check_request_status")},
    "other": "其他",
}

# Words a resident uses for a category (button titles included), most specific first.
_CATEGORY_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ask_single_person_coverage", ("单人保", "单独纳入", "单人户")),
    ("ask_dibao_gradual_exit", ("渐退",)),
    ("ask_extreme_poverty_support", ("特困", "五保")),
    ("ask_temporary_assistance", ("临时救助", "急难")),
    ("ask_medical_assistance", ("医疗救助", "看病", "医药费")),
    ("ask_rigid_expenditure", ("刚性支出",)),
    ("ask_public_welfare_job", ("公益性岗位", "护林员", "保洁员")),
    ("ask_skills_training", ("培训",)),
    ("ask_job_vacancies", ("招聘", "找工作")),
    ("ask_entrepreneurship", ("创业", "贷款")),
    ("ask_job_subsidy", ("就业", "补贴", "打工")),
    ("ask_poverty_monitoring", ("返贫", "监测")),
    ("ask_industry_support", ("产业", "养殖", "种植")),
    ("report_complaint", ("投诉", "举报", "骗保")),
    ("ask_dibao_eligibility", ("低保",)),
    ("other", ("其他", "别的")),
)


def category_for_text(text: str) -> str | None:
    """The help-request category a short answer names, or None when it names none."""
    for category, words in _CATEGORY_WORDS:
        if any(word in text for word in words):
            return category
    return None
