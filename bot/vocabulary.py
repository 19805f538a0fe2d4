"""The assistant's vocabulary: every name that several parts share, with its one Chinese label.

Topic intents, help-request categories, urgencies, request statuses, conversation states, staff roles
and who wrote a transcript line are named here once. The store (bot.store.categories), the web pages
and their scripts (the operator console reads `console_labels()` embedded in its page), the actions and
bot.topics all import these; programme names and verdict words live in bot.eligibility.present (the one
place that words an outcome). Intent names are those of ../shared/contracts/intents.yml (stable by
contract); tests/unit/test_vocabulary.py checks them against domain.yml and bot.answers.
"""

from __future__ import annotations

# Topic intents: the `ask_*` intents answered from the rulebook (bot.answers.TOPICS), with their label.
TOPIC_LABELS: dict[str, str] = {
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
}
TOPIC_INTENTS: tuple[str, ...] = tuple(TOPIC_LABELS)

# Help-request categories: the topic a request is about (staff filter requests by the same topics
# analytics count), plus complaints and "other".
CATEGORIES: dict[str, str] = {**TOPIC_LABELS, "report_complaint": "投诉举报", "other": "其他"}

# Urgency of a help request as staff read it; the resident's buttons word the same three levels.
URGENCIES: dict[str, str] = {"normal": "一般", "urgent": "紧急", "emergency": "特别紧急"}
RESIDENT_URGENCIES: dict[str, str] = {"normal": "一般", "urgent": "比较急", "emergency": "非常紧急"}

STATUSES: dict[str, str] = {"new": "新提交", "in_progress": "办理中", "resolved": "已办结", "referred": "已转办"}

# Who answers a conversation (the operator console's filters and badges).
CONVERSATION_STATES: dict[str, str] = {"bot": "智能助手", "waiting": "等待人工", "operator": "人工服务中"}

# Who wrote a line of a transcript (operator console, staff desk).
SPEAKERS: dict[str, str] = {"user": "居民", "bot": "智能助手", "operator": "人工客服", "system": "系统"}

ROLES: dict[str, str] = {"operator": "话务员", "staff": "业务人员", "admin": "管理员"}


def category_label(category: str) -> str:
    """Chinese label of a category; the raw name for a category no longer listed (old records)."""
    return CATEGORIES.get(category, category)


def console_labels() -> dict[str, dict[str, str]]:
    """The labels the operator console's script shows, embedded by the server in the console page."""
    return {"states": CONVERSATION_STATES, "speakers": SPEAKERS}
