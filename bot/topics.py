"""Topic intents in residents' words: labels for clarifying questions, and categories named in free text.

Labels come from the help-request categories of bot.vocabulary, which use the intent names of
../shared/contracts/intents.yml, so requests, charts and clarifications all speak of the same topics.
"""

from __future__ import annotations

from bot.vocabulary import CATEGORIES

# Labels for clarifying questions: the help-request categories (topics, complaints) plus the service intents.
INTENT_LABELS_ZH: dict[str, str] = {
    **{k: v for k, v in CATEGORIES.items() if k != "other"},
    "request_help": "登记求助",
    "check_request_status": "查求助进度",
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
