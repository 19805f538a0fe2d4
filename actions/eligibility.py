"""Eligibility conversations: one form whose questions depend on the programme, then one engine call.

The form only collects facts, the way residents have them (whose income and what kind, which expense, who
is disabled or ill, 脱贫户 or 监测户, the employer when a subsidy needs it); bot.eligibility.intake turns them
into the engine's case and bot.eligibility.present words the outcome, the same as at the other doors.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import parsing
from actions.common import (
    CHECK_PROGRAM_BY_INTENT,
    closed_choice,
    latest_entities,
    latest_intent,
    latest_text,
    previous_slot_value,
    read_back_answer,
    slots_set_this_turn,
)
from actions.texts import message
from bot.answers import topic_figures
from bot.eligibility import CaseError, present
from bot.eligibility.case import DISABILITY_KIND_ZH, INCOME_TYPE_ZH, MAX_MEMBERS, MAX_MONTHLY_AMOUNT, MAX_MONTHS
from bot.eligibility.illness import match_illness
from bot.eligibility.intake import check
from bot.nlu.places import district_of
from bot.rulebook import default_rulebook
from bot.store import checks

log = logging.getLogger(__name__)
PROGRAM_SLOTS: dict[str, list[str]] = {
    "dibao": [
        "district",
        "residence",
        "household_size",
        "monthly_income",
        "rigid_expenses_monthly",
        "has_disqualifying_assets",
        "elig_confirm",
    ],
    "single_person": [
        "district",
        "residence",
        "household_size",
        "monthly_income",
        "member_disability_level",
        "has_disqualifying_assets",
        "elig_confirm",
    ],
    "gradual_exit": [
        "receiving_dibao",
        "income_rose_due_to_employment",
        "district",
        "residence",
        "household_size",
        "monthly_income",
        "elig_confirm",
    ],
    "job_subsidy": ["poverty_status", "months_employed", "work_location", "employer_type", "district", "elig_confirm"],
}
# Slots filled alongside an answer (parsed from the same words), never asked on their own.
DETAIL_SLOTS = {"member_disability_kind", "member_illness", "member_who", "income_items", "rigid_expense_kind"}
# Facts that describe the case; cleared when a new check starts so one check never leaks into the next.
CASE_SLOTS = sorted({s for slots in PROGRAM_SLOTS.values() for s in slots} | DETAIL_SLOTS)
# Bounds come from the engine's input checks, so the form never accepts what the engine would refuse.
MAX_HOUSEHOLD = MAX_MEMBERS
RESIDENCE_ZH = {"urban": "城镇", "rural": "农村"}
LOCATION_ZH = {"outside_province": "外省", "inside_province": "省内外市", "inside_city": "市内外县", "local": "本县"}
RELATION_ZH = {
    "self": "本人",
    "spouse": "配偶",
    "child": "子女",
    "parent": "父母",
    "sibling": "兄弟姐妹",
    "grandparent": "祖父母",
    "grandchild": "孙子女",
    "other": "另一位家人",
}
POVERTY_STATUS_ZH = {"alleviated": "脱贫户", "monitored": "防返贫监测户", "neither": "都不是"}
EMPLOYER_ZH = {
    "enterprise": "企业",
    "farm_business": "合作社等经营主体",
    "workshop": "就业帮扶车间",
    "public_post": "公益性岗位",
    "self_employed": "自己干（个体、零工）",
    "other": "其他",
}
EXPENSE_ZH = {"medical": "看病吃药", "disability_rehab": "残疾康复", "education": "上学"}


def _fmt(value: float | None) -> str:
    if value is None:
        return "未知"
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"


def start_check(dispatcher: CollectingDispatcher, program: str) -> list:
    """Announce the check; facts already said (in this message or before an offer) are kept and skipped."""
    dispatcher.utter_message(
        text=f"好的，我帮您初步算一算{present.program_name(program)}，先问几个问题。"
        "您说过的情况我不会再问；说错了随时告诉我，比如「不对，是五口人」；不想算了就说「算了」。"
    )
    return [SlotSet("elig_program", program), SlotSet("offered_check", None)]


class ActionStartCheck(Action):
    """Start an eligibility check for the programme the resident asked about."""

    def name(self) -> str:
        return "action_start_check"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list:
        return start_check(dispatcher, CHECK_PROGRAM_BY_INTENT.get(latest_intent(tracker) or "") or "dibao")


class ValidateEligibilityForm(FormValidationAction):
    """Check each answer; a bad answer is re-asked with a hint, never silently accepted."""

    def name(self) -> str:
        return "validate_eligibility_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        slots = PROGRAM_SLOTS.get(tracker.get_slot("elig_program") or "dibao", PROGRAM_SLOTS["dibao"])
        if tracker.get_slot("poverty_status") in ("monitored", "neither"):
            # The employer matters only for the subsidies paid for hiring 脱贫劳动力: do not ask the others.
            slots = [s for s in slots if s != "employer_type"]
        return slots

    def _requested(self, tracker: Tracker) -> str | None:
        return tracker.get_slot("requested_slot")

    def _keep_previous_unless_requested(self, slot: str, tracker: Tracker) -> dict[str, Any] | None:
        """A number said while another question is open (「0」 for 几口人, 「三百」 for 药费) answers that
        question, not `slot`: keep what `slot` held before (None if nothing)."""
        requested = self._requested(tracker)
        if requested not in (None, slot, "elig_confirm"):
            return {slot: previous_slot_value(tracker, slot)}
        return None

    def validate_district(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        canonical = district_of(str(value)) if value else None  # a district, or a township's district
        if canonical is None:
            dispatcher.utter_message(text="没听出是哪个区县。请说秦皇岛的区县名，比如「海港区」「青龙」「昌黎」。")
        return {"district": canonical}

    def validate_residence(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"residence": value if value in RESIDENCE_ZH else None}

    def validate_household_size(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if isinstance(value, list) and value:
            value = value[-1]  # the last size said is the corrected one
        number = value if isinstance(value, (int, float)) else parsing.parse_number(str(value))
        if number is None or not float(number).is_integer() or not 1 <= number <= MAX_HOUSEHOLD:
            dispatcher.utter_message(text=f"家里人数要说一个1到{MAX_HOUSEHOLD}之间的整数，比如「三口人」或「3」。")
            return {
                "household_size": previous_slot_value(tracker, "household_size")
                if self._requested(tracker) not in (None, "household_size")
                else None
            }
        return {"household_size": float(number)}

    def validate_monthly_income(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        kept = self._keep_previous_unless_requested("monthly_income", tracker)
        if kept is not None:
            return kept
        text = str(value)
        if isinstance(value, list) and all(isinstance(v, (int, float)) for v in value):
            number: float | None = float(sum(value))  # 「我一千二 老伴八百」: the household's total
        elif isinstance(value, (int, float)):
            number = float(value)
        elif parsing.says_none(text):
            number = 0.0
        else:
            number = parsing.parse_monthly_amount(text)
        if number is None or number < 0 or number > MAX_MONTHLY_AMOUNT:
            hint = "没关系，说个大概就行" if parsing.says_unknown(text) else "没听明白这个数"
            dispatcher.utter_message(text=f"{hint}：全家一个月总共收入大约多少元？比如「九百」「一千二」「一年两万」。")
            return {"monthly_income": None}
        items = parsing.parse_income_items(latest_text(tracker)) if number else []
        if len(items) > 1 and not isinstance(value, list):
            number = sum(i["amount"] for i in items)  # 「我打工一千二，老伴养老金一百八」: both, by member
        if not items or abs(sum(i["amount"] for i in items) - number) > 0.01:
            kind = parsing.parse_income_kind(latest_text(tracker)) or "other"
            items = [{"who": "self", "kind": kind, "amount": round(number, 2)}] if number else []
        return {"monthly_income": round(number, 2), "income_items": items}

    def validate_rigid_expenses_monthly(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = str(value)
        amounts = [
            e.get("value") for e in latest_entities(tracker, "amount") if isinstance(e.get("value"), (int, float))
        ]
        if parsing.says_none(text):
            return {"rigid_expenses_monthly": 0.0, "rigid_expense_kind": None}
        number = float(amounts[0]) if amounts else parsing.parse_monthly_amount(text)
        if number is None or number < 0 or number > MAX_MONTHLY_AMOUNT:
            dispatcher.utter_message(text="请说每月大概多少元（比如「药费每月三百」），没有就说「没有」。")
            return {"rigid_expenses_monthly": None}
        kind = parsing.parse_expense_kind(latest_text(tracker))
        if kind is None:
            dispatcher.utter_message(text="是哪一类支出？请连类别一起说，比如「药费每月三百」「康复费每月两百」。")
            return {"rigid_expenses_monthly": None}
        return {"rigid_expenses_monthly": round(number, 2), "rigid_expense_kind": kind}

    def validate_member_disability_level(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = latest_text(tracker)
        level = value if isinstance(value, (int, float)) else parsing.parse_disability_level(str(value))
        kind = parsing.parse_disability_kind(text)
        illness = tracker.get_slot("member_illness")
        who = parsing.parse_relation(text)
        named = match_illness(text, default_rulebook(), date.today())
        if level is None and (illness or named or "病" in text or "癌" in text or "症" in text):
            # 0 = no disability certificate, but ill (member_illness; the engine reads serious or not from the
            # rulebook's lists, and an illness it does not know stays "unknown").
            return {
                "member_disability_level": 0.0,
                "member_disability_kind": None,
                "member_illness": illness or text,
                "member_who": who,
            }
        if level is None or not 1 <= float(level) <= 4:
            dispatcher.utter_message(text="请说残疾等级（一级到四级）和类别，比如「一级肢体残疾」；患病的请说病名。")
            return {"member_disability_level": None}
        return {"member_disability_level": float(level), "member_disability_kind": kind, "member_who": who}

    def validate_poverty_status(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return closed_choice(
            "poverty_status",
            value,
            POVERTY_STATUS_ZH,
            parsing.parse_poverty_status,
            dispatcher,
            "请选一个：脱贫户（建档立卡）、防返贫监测户，或者都不是。",
        )

    def validate_employer_type(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return closed_choice(
            "employer_type",
            value,
            EMPLOYER_ZH,
            parsing.parse_employer_type,
            dispatcher,
            "请选一个：企业、合作社等经营主体、就业帮扶车间、公益性岗位、自己干，或者其他。",
        )

    def validate_months_employed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        months = parsing.parse_months(str(value))
        if months is None or months < 0 or months > MAX_MONTHS:
            dispatcher.utter_message(text="请说干了几个月，比如「三个月」「半年」「刚开始干」就说「0」。")
            return {"months_employed": None}
        return {"months_employed": months}

    def validate_work_location(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return closed_choice(
            "work_location",
            value,
            LOCATION_ZH,
            parsing.parse_work_location,
            dispatcher,
            "请选一个：外省、省内外市、市内外县、本县。",
        )

    def validate_elig_confirm(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        corrected = bool((slots_set_this_turn(tracker) & set(CASE_SLOTS)) - {"elig_confirm"})
        return read_back_answer(
            "elig_confirm",
            value,
            tracker,
            corrected,
            dispatcher,
            "哪一项不对？直接说正确的就行，比如「是五口人」「一个月一千二」「是农村的」。",
        )


def summarise_facts(tracker: Tracker) -> list[str]:
    """The collected facts in plain Chinese, for the confirmation question."""
    get = tracker.get_slot
    program = get("elig_program") or "dibao"
    lines = []
    if get("receiving_dibao") is not None:
        lines.append(f"现在{'在' if get('receiving_dibao') else '没有'}领低保")
    if get("income_rose_due_to_employment") is not None:
        lines.append(f"收入增加{'是' if get('income_rose_due_to_employment') else '不是'}因为家里有人就业")
    if get("poverty_status"):
        lines.append(f"户别（就业帮扶）：{POVERTY_STATUS_ZH.get(get('poverty_status'), get('poverty_status'))}")
    if get("employer_type"):
        lines.append(f"在哪类单位干：{EMPLOYER_ZH.get(get('employer_type'), get('employer_type'))}")
    if get("months_employed") is not None:
        lines.append(f"稳定就业 {_fmt(get('months_employed'))} 个月")
    if get("work_location"):
        lines.append(f"务工地点：{LOCATION_ZH.get(get('work_location'), get('work_location'))}")
    if get("district"):
        lines.append(f"区县：{get('district')}")
    if get("residence") and program != "job_subsidy":
        lines.append(f"户别：{RESIDENCE_ZH.get(get('residence'), get('residence'))}")
    if get("household_size") is not None and program != "job_subsidy":
        lines.append(f"家庭人口：{_fmt(get('household_size'))} 人")
    if get("monthly_income") is not None and program != "job_subsidy":
        items = get("income_items") or []
        parts = (
            "；".join(
                f"{RELATION_ZH.get(i['who'], '家人')}{INCOME_TYPE_ZH.get(i['kind'], '收入')} {_fmt(i['amount'])} 元"
                for i in items
                if i.get("kind") != "other"
            )
            if items
            else ""
        )
        lines.append(f"全家月收入：{_fmt(get('monthly_income'))} 元" + (f"（{parts}）" if parts else ""))
    if get("rigid_expenses_monthly") is not None:
        kind = EXPENSE_ZH.get(get("rigid_expense_kind") or "", "")
        lines.append(f"每月{kind}必需支出：{_fmt(get('rigid_expenses_monthly'))} 元")
    if get("member_disability_level") is not None:
        level = get("member_disability_level")
        who = RELATION_ZH.get(get("member_who") or "other", "另一位家人")
        if level == 0:
            lines.append(f"需单独纳入的家人（{who}）：患病（{get('member_illness') or '未说明'}）")
        else:
            kind = DISABILITY_KIND_ZH.get(get("member_disability_kind") or "", "")
            lines.append(f"需单独纳入的家人（{who}）：{_fmt(level)}级{kind or '（类别未说）'}残疾")
    if get("has_disqualifying_assets") is not None:
        lines.append(f"私家车或多套住房：{'有' if get('has_disqualifying_assets') else '没有'}")
    return lines


class ActionAskEligConfirm(Action):
    """Read the facts back before deciding, so a misheard number is caught by the resident."""

    def name(self) -> str:
        return "action_ask_elig_confirm"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list:
        facts = "\n".join(f"· {line}" for line in summarise_facts(tracker))
        dispatcher.utter_message(
            text=f"我核对一下您说的情况：\n{facts}\n对吗？不对的话直接说正确的。",
            buttons=[{"title": "对，帮我算", "payload": "/affirm"}, {"title": "不对", "payload": "/deny"}],
        )
        return []


def facts_from_slots(tracker: Tracker) -> dict[str, Any]:
    """The form's slots as intake facts (bot.eligibility.intake): nothing is assumed that was not said."""
    get = tracker.get_slot
    program = get("elig_program") or "dibao"
    facts: dict[str, Any] = {"program": program, "district": get("district")}
    if program == "job_subsidy":
        facts.update(
            {
                "poverty_status": get("poverty_status"),
                "employer_type": get("employer_type"),
                "months_employed": get("months_employed"),
                "work_location": get("work_location"),
                "household_size": 1,
            }
        )
        return facts
    facts["residence"] = get("residence")
    facts["household_size"] = int(get("household_size") or 1)
    facts["incomes"] = get("income_items") or (
        [{"who": "self", "kind": "other", "amount": float(get("monthly_income"))}] if get("monthly_income") else []
    )
    if get("rigid_expenses_monthly") and get("rigid_expense_kind"):
        facts["expenses"] = [{"kind": get("rigid_expense_kind"), "amount": float(get("rigid_expenses_monthly"))}]
    level = get("member_disability_level")
    if program == "single_person" and level is not None:
        member: dict[str, Any] = {"who": get("member_who") or "other"}
        if level == 0:
            member["illness_name"] = str(get("member_illness") or "")[:200] or None
            member["illness"] = None if member["illness_name"] else "unknown"
        else:
            member["disability_level"] = int(level)
            member["disability_kind"] = get("member_disability_kind")
        facts["members"] = [member]
    if get("has_disqualifying_assets") is not None:
        facts["has_disqualifying_assets"] = bool(get("has_disqualifying_assets"))
    if program == "gradual_exit":
        facts["receiving_dibao"] = get("receiving_dibao")
        facts["income_rose_due_to_employment"] = get("income_rose_due_to_employment")
    return facts


NEXT_STEP_TOPIC = {
    "dibao": "ask_dibao_application",
    "single_person": "ask_dibao_application",
    "gradual_exit": "ask_dibao_application",
    "job_subsidy": "ask_job_subsidy",
}


class ActionCheckEligibility(Action):
    """Run the engine on the confirmed facts and explain the result."""

    def name(self) -> str:
        return "action_check_eligibility"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list:
        program = tracker.get_slot("elig_program") or "dibao"
        try:
            case, result = check(facts_from_slots(tracker))
        except CaseError as error:
            dispatcher.utter_message(text=f"这些信息还不够算：{error.message_zh}。您可以重新说一下，或者说「转人工」。")
            return [SlotSet("elig_confirm", None)]
        contact = topic_figures(
            NEXT_STEP_TOPIC[program], district=case.get("district"), residence=case.get("residence")
        ).get("contact", "")
        card = present.card(result, contact)
        dispatcher.utter_message(text=present.card_text(card), json_message={"card": card})
        dispatcher.utter_message(**message("offer_help_request"))
        await asyncio.to_thread(_record, tracker.sender_id, program, case, result)
        snapshot = {"case": case, "result": result, "rulebook_version": result.get("rulebook_version")}
        # Forget the case facts (not the place) so that the next check starts clean.
        forget = [SlotSet(s, None) for s in CASE_SLOTS if s not in ("district", "residence")]
        return forget + [SlotSet("last_result", snapshot), SlotSet("last_topic", NEXT_STEP_TOPIC[program])]


def _record(sender_id: str, program: str, case: dict, result: dict) -> None:
    """Keep the outcome for the staff charts; a database hiccup must not cost the resident the answer."""
    try:
        checks.record_check(sender_id, program, case, result, entered_by="resident")
    except Exception:  # noqa: BLE001 - logged, the answer was already given
        log.exception("could not record eligibility check for charts")


def decline_offer(dispatcher: CollectingDispatcher) -> list:
    """「不用了」「算了」 with no form open: drop the pending offer, nothing else."""
    dispatcher.utter_message(**message("nothing_to_stop"))
    return [SlotSet("offered_check", None)]


class ActionDeclineOffer(Action):
    def name(self) -> str:
        return "action_decline_offer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list:
        return decline_offer(dispatcher)


class ActionStopCheck(Action):
    """「算了」 inside a form: leave it and forget the half-collected facts."""

    def name(self) -> str:
        return "action_stop"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list:
        dispatcher.utter_message(**message("stopped"))
        cleared = CASE_SLOTS + [
            "hr_consent",
            "hr_place",
            "hr_category",
            "hr_description",
            "hr_urgency",
            "hr_confirm",
            "person_name",
            "phone",
            "phone_last4",
            "elig_program",
            "offered_check",
            "requested_slot",
        ]
        return [ActiveLoop(None)] + [SlotSet(s, None) for s in cleared]
