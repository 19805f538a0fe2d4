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
from actions.texts import fact, message, reask, say
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
        return fact("unknown_number")
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"


def start_check(dispatcher: CollectingDispatcher, program: str) -> list:
    """Announce the check; facts already said (in this message or before an offer) are kept and skipped."""
    dispatcher.utter_message(**say("check_start", program=present.program_name(program)))
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
            dispatcher.utter_message(text=reask("district"))
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
            dispatcher.utter_message(text=reask("household_size", max_household=MAX_HOUSEHOLD))
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
            unsure = parsing.says_unknown(text)
            dispatcher.utter_message(text=reask("monthly_income_unsure" if unsure else "monthly_income"))
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
            dispatcher.utter_message(text=reask("rigid_expenses_monthly"))
            return {"rigid_expenses_monthly": None}
        kind = parsing.parse_expense_kind(latest_text(tracker))
        if kind is None:
            dispatcher.utter_message(text=reask("rigid_expense_kind"))
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
            dispatcher.utter_message(text=reask("member_disability_level"))
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
            reask("poverty_status"),
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
            reask("employer_type"),
        )

    def validate_months_employed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        months = parsing.parse_months(str(value))
        if months is None or months < 0 or months > MAX_MONTHS:
            dispatcher.utter_message(text=reask("months_employed"))
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
            reask("work_location"),
        )

    def validate_elig_confirm(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        corrected = bool((slots_set_this_turn(tracker) & set(CASE_SLOTS)) - {"elig_confirm"})
        return read_back_answer("elig_confirm", value, tracker, corrected, dispatcher, reask("elig_confirm"))


def summarise_facts(tracker: Tracker) -> list[str]:
    """The collected facts in plain Chinese (actions/texts.yml, section `facts`), for the confirmation question."""
    get = tracker.get_slot
    program = get("elig_program") or "dibao"
    lines = []
    if get("receiving_dibao") is not None:
        lines.append(fact("receiving_dibao" if get("receiving_dibao") else "not_receiving_dibao"))
    if get("income_rose_due_to_employment") is not None:
        rose = get("income_rose_due_to_employment")
        lines.append(fact("income_rose_due_to_employment" if rose else "income_rose_otherwise"))
    if get("poverty_status"):
        lines.append(fact("poverty_status", value=POVERTY_STATUS_ZH.get(get("poverty_status"), get("poverty_status"))))
    if get("employer_type"):
        lines.append(fact("employer_type", value=EMPLOYER_ZH.get(get("employer_type"), get("employer_type"))))
    if get("months_employed") is not None:
        lines.append(fact("months_employed", months=_fmt(get("months_employed"))))
    if get("work_location"):
        lines.append(fact("work_location", value=LOCATION_ZH.get(get("work_location"), get("work_location"))))
    if get("district"):
        lines.append(fact("district", value=get("district")))
    if get("residence") and program != "job_subsidy":
        lines.append(fact("residence", value=RESIDENCE_ZH.get(get("residence"), get("residence"))))
    if get("household_size") is not None and program != "job_subsidy":
        lines.append(fact("household_size", size=_fmt(get("household_size"))))
    if get("monthly_income") is not None and program != "job_subsidy":
        items = "；".join(
            fact(
                "income_item",
                who=RELATION_ZH.get(i["who"], fact("someone")),
                kind=INCOME_TYPE_ZH.get(i["kind"], fact("some_income")),
                amount=_fmt(i["amount"]),
            )
            for i in get("income_items") or []
            if i.get("kind") != "other"
        )
        amount = _fmt(get("monthly_income"))
        lines.append(
            fact("monthly_income_by_member", amount=amount, items=items)
            if items
            else fact("monthly_income", amount=amount)
        )
    if get("rigid_expenses_monthly") is not None:
        kind = EXPENSE_ZH.get(get("rigid_expense_kind") or "", "")
        lines.append(fact("rigid_expenses_monthly", kind=kind, amount=_fmt(get("rigid_expenses_monthly"))))
    if get("member_disability_level") is not None:
        level = get("member_disability_level")
        who = RELATION_ZH.get(get("member_who") or "other", RELATION_ZH["other"])
        if level == 0:
            lines.append(fact("member_ill", who=who, illness=get("member_illness") or fact("illness_unsaid")))
        else:
            kind = DISABILITY_KIND_ZH.get(get("member_disability_kind") or "", "")
            disabled = fact("member_disabled", who=who, level=_fmt(level), kind=kind or fact("disability_kind_unsaid"))
            lines.append(disabled)
    if get("has_disqualifying_assets") is not None:
        lines.append(fact("has_disqualifying_assets" if get("has_disqualifying_assets") else "no_disqualifying_assets"))
    return lines


class ActionAskEligConfirm(Action):
    """Read the facts back before deciding, so a misheard number is caught by the resident."""

    def name(self) -> str:
        return "action_ask_elig_confirm"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list:
        facts = "\n".join(f"· {line}" for line in summarise_facts(tracker))
        dispatcher.utter_message(**say("check_read_back", facts=facts))
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
            dispatcher.utter_message(**say("check_incomplete", error=error.message_zh))
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
    except Exception:  # logged, the answer was already given
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
