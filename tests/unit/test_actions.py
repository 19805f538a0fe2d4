"""Custom actions on tracker fixtures: each action's events and messages for a given conversation state."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import ConversationPaused
from rasa_sdk.executor import CollectingDispatcher

from actions import eligibility, handoff
from actions import requests as request_actions


def make_tracker(
    slots: dict[str, Any] | None = None,
    text: str = "",
    intent: str = "inform",
    entities: list[dict] | None = None,
    events: list[dict] | None = None,
    active_loop: str | None = None,
    sender: str = "tester",
) -> Tracker:
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.9},
        "entities": entities or [],
        "intent_ranking": [{"name": intent, "confidence": 0.9}],
    }
    user_event = {"event": "user", "text": text, "parse_data": latest}
    return Tracker(
        sender,
        slots or {},
        latest,
        (events or []) + [user_event],
        False,
        None,
        {"name": active_loop} if active_loop else {},
        "action_listen",
    )


def run(action, tracker: Tracker) -> tuple[list[dict], list[dict]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, {}))
    return events, dispatcher.messages


def texts(messages: list[dict]) -> str:
    return "\n".join(m.get("text") or "" for m in messages)


@pytest.fixture
def app_db(tmp_path, monkeypatch):
    from bot.store.db import upgrade_database

    url = f"sqlite:///{tmp_path / 'app.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    upgrade_database(url)
    return url


# --- eligibility form validation ---------------------------------------------------------------


def test_household_size_out_of_range_is_asked_again():
    form = eligibility.ValidateEligibilityForm()
    dispatcher = CollectingDispatcher()
    tracker = make_tracker({"requested_slot": "household_size"}, text="200口人")
    assert form.validate_household_size(200, dispatcher, tracker, {}) == {"household_size": None}
    assert "1到" in texts(dispatcher.messages)
    assert form.validate_household_size("三口", CollectingDispatcher(), tracker, {}) == {"household_size": 3.0}


def test_amount_said_for_another_question_keeps_the_income():
    form = eligibility.ValidateEligibilityForm()
    earlier = [{"event": "slot", "name": "monthly_income", "value": 900.0}]
    tracker = make_tracker(
        {"requested_slot": "rigid_expenses_monthly", "monthly_income": 300.0}, text="药费每月三百", events=earlier
    )
    assert form.validate_monthly_income(300.0, CollectingDispatcher(), tracker, {}) == {"monthly_income": 900.0}


def test_two_incomes_in_one_message_are_added():
    form = eligibility.ValidateEligibilityForm()
    tracker = make_tracker({"requested_slot": "monthly_income"}, text="我一千二 老伴八百")
    got = form.validate_monthly_income([1200, 800], CollectingDispatcher(), tracker, {})
    assert got["monthly_income"] == 2000.0
    assert [(i["who"], i["amount"]) for i in got["income_items"]] == [("self", 1200.0), ("spouse", 800.0)]


def test_pension_and_wage_are_kept_apart_by_member():
    form = eligibility.ValidateEligibilityForm()
    text = "我打工一千二，老伴农村养老金一百八"
    tracker = make_tracker({"requested_slot": "monthly_income"}, text=text)
    got = form.validate_monthly_income(text, CollectingDispatcher(), tracker, {})
    assert got["income_items"] == [
        {"who": "self", "kind": "wage", "amount": 1200.0},
        {"who": "spouse", "kind": "resident_pension", "amount": 180.0},
    ]


def test_an_expense_without_its_kind_is_asked_again():
    form = eligibility.ValidateEligibilityForm()
    dispatcher = CollectingDispatcher()
    tracker = make_tracker({"requested_slot": "rigid_expenses_monthly"}, text="每月三百")
    assert form.validate_rigid_expenses_monthly("每月三百", dispatcher, tracker, {})["rigid_expenses_monthly"] is None
    tracker = make_tracker({"requested_slot": "rigid_expenses_monthly"}, text="康复费每月两百")
    assert form.validate_rigid_expenses_monthly("康复费每月两百", CollectingDispatcher(), tracker, {}) == {
        "rigid_expenses_monthly": 200.0,
        "rigid_expense_kind": "disability_rehab",
    }


def test_unknown_income_gets_a_hint_not_a_value():
    form = eligibility.ValidateEligibilityForm()
    dispatcher = CollectingDispatcher()
    tracker = make_tracker({"requested_slot": "monthly_income"}, text="不知道")
    assert form.validate_monthly_income("不知道", dispatcher, tracker, {}) == {"monthly_income": None}
    assert "大概" in texts(dispatcher.messages)


def test_required_slots_follow_the_programme():
    form = eligibility.ValidateEligibilityForm()
    tracker = make_tracker({"elig_program": "job_subsidy"})
    slots = asyncio.run(form.required_slots([], CollectingDispatcher(), tracker, {}))
    assert "work_location" in slots and "monthly_income" not in slots and slots[-1] == "elig_confirm"


def test_confirmation_reads_back_the_facts():
    tracker = make_tracker(
        {
            "elig_program": "dibao",
            "district": "海港区",
            "residence": "urban",
            "household_size": 3.0,
            "monthly_income": 900.0,
            "rigid_expenses_monthly": 0.0,
        }
    )
    _, messages = run(eligibility.ActionAskEligConfirm(), tracker)
    said = texts(messages)
    assert "海港区" in said and "3 人" in said and "900 元" in said and "城镇" in said
    assert messages[0]["buttons"]


def test_single_person_facts_keep_who_is_disabled_and_whose_income():
    tracker = make_tracker(
        {
            "elig_program": "single_person",
            "district": "海港区",
            "residence": "urban",
            "household_size": 3.0,
            "monthly_income": 2000.0,
            "member_disability_level": 1.0,
            "member_disability_kind": "physical",
            "member_who": "spouse",
            "income_items": [
                {"who": "self", "kind": "wage", "amount": 1200},
                {"who": "spouse", "kind": "resident_pension", "amount": 800},
            ],
        }
    )
    from bot.eligibility.intake import case_from_facts

    case = case_from_facts(eligibility.facts_from_slots(tracker))
    assert len(case["household"]) == 3
    spouse = next(m for m in case["household"] if m["relation"] == "spouse")
    assert spouse["disability_level"] == 1
    assert spouse["income_items"] == [{"type": "resident_pension", "amount": 800}]
    assert case["household"][0]["income_items"] == [{"type": "wage", "amount": 1200}]


def test_job_facts_keep_monitored_apart_from_alleviated():
    tracker = make_tracker(
        {
            "elig_program": "job_subsidy",
            "district": "卢龙县",
            "poverty_status": "monitored",
            "months_employed": 4.0,
            "work_location": "outside_province",
        }
    )
    from bot.eligibility.intake import case_from_facts

    job = case_from_facts(eligibility.facts_from_slots(tracker))["job"]
    assert job["poverty_alleviated"] is False and job["monitored_household"] is True
    assert job["employer_type"] is None  # not asked of a monitored household, never assumed


def test_check_sends_one_verdict_with_its_card(app_db):
    slots = {
        "elig_program": "dibao",
        "district": "海港区",
        "residence": "urban",
        "household_size": 3.0,
        "monthly_income": 900.0,
        "rigid_expenses_monthly": 0.0,
        "has_disqualifying_assets": False,
        "income_items": [{"who": "self", "kind": "wage", "amount": 900}],
    }
    tracker = make_tracker(slots)
    events, messages = run(eligibility.ActionCheckEligibility(), tracker)
    verdicts = [m for m in messages if (m.get("custom") or {}).get("card")]
    assert len(verdicts) == 1
    card = verdicts[0]["custom"]["card"]
    assert card["summary"] == "初步判断：可能符合低保条件"
    said = verdicts[0]["text"]
    assert said.count("初步判断") == 1 and "结论：" not in said  # one verdict, not the explanation's second one
    assert "不低于 600 元/人·月" in said and "300 元" in said
    assert "至少约 900 元/月（估算）" in said
    snapshot = next(e["value"] for e in events if e.get("name") == "last_result")
    assert snapshot["result"]["eligible"] is True


def test_stop_inside_a_form_clears_the_case():
    tracker = make_tracker({"household_size": 3.0}, text="算了", intent="stop", active_loop="eligibility_form")
    events, messages = run(eligibility.ActionStopCheck(), tracker)
    assert {"event": "active_loop", "name": None} in [{k: e.get(k) for k in ("event", "name")} for e in events]
    assert any(e.get("name") == "household_size" and e.get("value") is None for e in events)


# --- handoff and clarification --------------------------------------------------------------------


def test_second_clarification_in_a_row_hands_over(app_db):
    from bot.store import conversations

    fallback = {"event": "user", "text": "嗯嗯那个", "parse_data": {"intent": {"name": "nlu_fallback"}}}
    first = make_tracker(text="啊啊", intent="nlu_fallback", sender="c1")
    events, messages = run(handoff.ActionClarify(), first)
    assert not any(e.get("event") == "pause" for e in events) and messages[0]["buttons"]
    second = make_tracker(text="啊啊", intent="nlu_fallback", events=[fallback], sender="c2")
    events, messages = run(handoff.ActionClarify(), second)
    assert ConversationPaused() in events
    assert conversations.get_state("c2")["state"] == "waiting"


# --- help requests --------------------------------------------------------------------------------

HR_SLOTS = {
    "person_name": "王秀兰",
    "phone": "13812345678",
    "hr_place": "青龙木头凳镇",
    "district": "青龙满族自治县",
    "hr_category": "ask_dibao_eligibility",
    "hr_description": "老伴瘫痪在床想办低保",
    "hr_urgency": "urgent",
    "hr_confirm": True,
    "hr_consent": True,
}


def test_submit_saves_once_and_offers_to_add_to_a_duplicate(app_db):
    from bot.store import help_requests

    events, messages = run(request_actions.ActionSubmitHelpRequest(), make_tracker(HR_SLOTS, sender="r1"))
    reference = help_requests.list_requests()[0]["reference_no"]
    assert reference in texts(messages)
    # the same conversation retried (action server restarted): still one record
    run(request_actions.ActionSubmitHelpRequest(), make_tracker(HR_SLOTS, sender="r1"))
    # the same conversation asks again with the same phone and category: offered to add
    again = dict(HR_SLOTS, hr_description="又想起来一件事")
    events, messages = run(request_actions.ActionSubmitHelpRequest(), make_tracker(again, sender="r1"))
    assert reference in texts(messages)
    assert any(e.get("name") == "hr_duplicate_of" and e.get("value") == reference for e in events)
    assert len(help_requests.list_requests()) == 1
    # another conversation typing the same phone learns nothing about r1's request: its own is saved
    events, messages = run(request_actions.ActionSubmitHelpRequest(), make_tracker(HR_SLOTS, sender="r2"))
    assert reference not in texts(messages)
    assert not any(e.get("name") == "hr_duplicate_of" and e.get("value") for e in events)
    assert len(help_requests.list_requests()) == 2


def test_status_needs_the_right_last_four_digits(app_db):
    from bot.store import help_requests

    record = help_requests.create_request(
        {
            "phone": HR_SLOTS["phone"],
            "district": HR_SLOTS["district"],
            "description": HR_SLOTS["hr_description"],
            "sender_id": "s1",
            "name": "王秀兰",
            "township": "木头凳镇",
            "category": "ask_dibao_eligibility",
            "urgency": "normal",
            "decision_snapshot": None,
            "entered_by": "resident",
            "consent": True,
        },
        actor="resident",
    )
    ok = make_tracker({"reference_no": record["reference_no"], "phone_last4": "5678"})
    _, messages = run(request_actions.ActionCheckRequestStatus(), ok)
    from bot.store.categories import STATUSES

    assert record["reference_no"] in texts(messages) and STATUSES["new"] in texts(messages)
    wrong = make_tracker({"reference_no": record["reference_no"], "phone_last4": "0000"})
    _, messages = run(request_actions.ActionCheckRequestStatus(), wrong)
    assert "对不上" in texts(messages) and "王" not in texts(messages)


def test_invalid_phone_is_refused_with_a_hint():
    form = request_actions.ValidateHelpRequestForm()
    dispatcher = CollectingDispatcher()
    assert form.validate_phone("abcdefg", dispatcher, make_tracker(), {}) == {"phone": None}
    assert "手机号" in texts(dispatcher.messages)


def test_a_greeting_is_not_taken_for_a_name():
    form = request_actions.ValidateHelpRequestForm()
    dispatcher = CollectingDispatcher()
    greeting = make_tracker({"requested_slot": "person_name"}, text="你好", intent="greet")
    assert form.validate_person_name("你好", dispatcher, greeting, {}) == {"person_name": None}
    name = make_tracker({"requested_slot": "person_name"}, text="王秀英", intent="ask_dibao_standard")
    assert form.validate_person_name("王秀英", CollectingDispatcher(), name, {}) == {"person_name": "王秀英"}


def test_a_long_topic_answer_is_one_message_with_its_card():
    from actions.answers import ActionAnswerTopic

    _, messages = run(ActionAnswerTopic(), make_tracker(text="怎么办低保", intent="ask_dibao_application"))
    answer = messages[0]
    card = answer["custom"]["card"]
    assert answer["text"].startswith(card["summary"]) and card["details"]
    assert card["next_step"] and card["next_step"] in answer["text"]
    for detail in card["details"]:
        assert detail in answer["text"]
