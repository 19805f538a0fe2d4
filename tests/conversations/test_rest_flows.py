"""Whole conversations through the REST webhook of real running servers, read back from the database.

The scripted resident answers only what the bot asks (it recognises the question, not the turn
number), so a changed question order still passes while a wrong or missing question fails.
"""
from __future__ import annotations

import re
import uuid
from datetime import date

import pytest
from sqlalchemy import create_engine, text

from bot.rulebook import default_rulebook
from bot.store.categories import STATUSES
from tests.support.data_stack import converse as scripted_resident

pytestmark = pytest.mark.timeout(600)


def joined(replies: list[dict]) -> str:
    return "\n".join(r.get("text", "") for r in replies)


# Replies that end a flow: a decision, a saved request, a status.
DONE_MARKERS = ("初步判断", "求助编号是", "求助 QHD-", "没有查到")


def converse(stack, sender: str, opening: str, answers: dict[str, str], max_turns: int = 15,
             until: tuple[str, ...] = DONE_MARKERS) -> str:
    """Send `opening`, then answer each question whose text contains a key of `answers`.

    Returns the text of the first reply that ends the flow or asks nothing we know.
    """
    return scripted_resident(stack, sender, opening, answers, max_turns, until)


def fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


# The read-back quotes the facts, so its key comes first: a question is recognised by its own words.
DIBAO_ANSWERS = {"对吗": "对", "哪个区县": "海港区", "城镇户": "城镇", "几口人": "三口人", "收入大概": "九百",
                 "必需的自付支出": "没有", "私家车": "没有"}


def test_standard_answer_quotes_rulebook_figure_with_date_and_source(stack):
    reply = joined(stack.say(f"t-{uuid.uuid4().hex[:8]}", "农村低保标准是多少"))
    rural = default_rulebook().value("dibao.standard.rural_yearly", on=date.today(), residence="rural")
    assert fmt(rural.value) in reply.replace(",", "")
    assert rural.effective_from.isoformat() in reply
    assert rural.source_title in reply


def test_dibao_check_with_a_resident_who_only_answers(stack):
    sender = f"t-{uuid.uuid4().hex[:8]}"
    result = converse(stack, sender, "我想问问我家能不能吃低保", DIBAO_ANSWERS)
    assert "符合条件" in result and "不符合" not in result
    assert "300" in result
    standard = default_rulebook().value("dibao.standard.urban_monthly", on=date.today(), district="海港区", residence="urban")
    assert fmt(standard.value) in result and standard.effective_from.isoformat() in result


def test_opening_message_facts_are_not_asked_again(stack):
    sender = f"t-{uuid.uuid4().hex[:8]}"
    first = joined(stack.say(sender, "我家四口人住在青龙农村 一个月两千四 能吃低保吗"))
    asked = [first]
    reply = first
    for _ in range(6):
        if "对吗" in reply:
            break
        answer = "没有" if ("支出" in reply or "私家车" in reply) else "不知道"
        reply = joined(stack.say(sender, answer))
        asked.append(reply)
    transcript = "\n".join(asked)
    assert "几口人" not in transcript and "哪个区县" not in transcript and "收入大概" not in transcript
    assert "4 人" in reply and "2400" in reply and "青龙满族自治县" in reply


def test_correction_at_confirmation_changes_the_fact(stack):
    sender = f"t-{uuid.uuid4().hex[:8]}"
    summary = converse(stack, sender, "帮我算算能不能办低保", DIBAO_ANSWERS, until=("我核对一下",))
    assert "3 人" in summary
    corrected = joined(stack.say(sender, "不对不对，是五口人"))
    assert "5 人" in corrected and "对吗" in corrected
    result = joined(stack.say(sender, "对"))
    assert "180" in result  # 900 / 5


def test_bad_answers_are_asked_again_not_accepted(stack):
    sender = f"t-{uuid.uuid4().hex[:8]}"
    reply = converse(stack, sender, "俺家够不够低保条件", {"哪个区县": "海港区", "城镇户": "城镇"})
    assert "几口人" in reply
    for bad in ("200口人", "0"):
        reply = joined(stack.say(sender, bad))
        assert "1到30" in reply
    reply = joined(stack.say(sender, "三口人"))
    assert "收入" in reply
    reply = joined(stack.say(sender, "不知道"))
    assert "大概" in reply


def test_single_person_check_for_a_level_one_disabled_member(stack):
    sender = f"t-{uuid.uuid4().hex[:8]}"
    joined(stack.say(sender, "俺儿子一级残疾 能不能单独给他办低保"))
    answers = {"对吗": "对", "哪个区县": "海港区", "城镇户": "城镇", "几口人": "三口人", "收入大概": "两千四",
               "几级残疾": "一级肢体残疾", "私家车": "没有"}
    result = converse(stack, sender, "好的帮我算算", answers)
    assert "1级残疾" in result and "单独纳入" in result
    assert "初步判断：符合条件" in result


def test_stop_leaves_the_check(stack):
    sender = f"t-{uuid.uuid4().hex[:8]}"
    converse(stack, sender, "我想查查够不够低保", {"哪个区县": "昌黎"})
    reply = joined(stack.say(sender, "算了不查了"))
    assert "先不办了" in reply
    reply = joined(stack.say(sender, "你好"))
    assert "几口人" not in reply and "区县" not in reply.split("。")[-1]


HELP_ANSWERS = {"同意这样登记吗": "同意", "确认登记": "确认", "怎么称呼": "王秀兰", "手机号": "13812345678", "哪个区县": "青龙木头凳镇",
                "哪方面": "低保", "什么困难": "老伴瘫痪在床，一个月收入一千多，想申请低保不知道怎么办",
                "急不急": "比较急"}


def _app_db(stack):
    return create_engine(stack.env["DATABASE_URL"], future=True)


def test_help_request_is_saved_with_all_fields_and_status_is_queryable(stack):
    sender = f"t-{uuid.uuid4().hex[:8]}"
    result = converse(stack, sender, "我想登记一下求助", HELP_ANSWERS)
    match = re.search(r"QHD-\d{4}-(?:\d{6}|[0-9A-Z]{7})", result)
    assert match, result
    reference = match.group(0)
    with _app_db(stack).connect() as conn:
        row = conn.execute(text("select * from qhd_help_requests where reference_no = :r"), {"r": reference}).mappings().one()
    assert row["name"] == "王秀兰" and row["phone"] == "13812345678"
    assert row["district"] == "青龙满族自治县" and row["category"] == "ask_dibao_eligibility"
    assert "瘫痪" in row["description"] and row["urgency"] == "urgent" and row["sender_id"] == sender
    assert row["status"] == "new"
    wrong = converse(stack, sender, f"查一下求助进度 {reference}", {"后四位": "0000"})
    assert "对不上" in wrong
    right = converse(stack, sender, f"查一下求助进度 {reference}", {"后四位": "5678"})
    assert reference in right and STATUSES["new"] in right


def test_no_request_lost_when_action_server_restarts_before_save(stack):
    sender = f"t-{uuid.uuid4().hex[:8]}"
    answers = dict(HELP_ANSWERS, **{"手机号": "13912345670"})
    summary = converse(stack, sender, "帮我登记个求助", answers, until=("请核对求助信息",))
    assert "确认登记" in summary
    stack.stop("actions")
    try:
        reply = joined(stack.say(sender, "确认"))
    finally:
        stack.start_actions()
    assert "重新提交" in reply  # the resident is told how to finish, nothing silently dropped
    reply = joined(stack.say(sender, "重新提交"))
    reference = re.search(r"QHD-\d{4}-(?:\d{6}|[0-9A-Z]{7})", reply)
    assert reference, reply
    with _app_db(stack).connect() as conn:
        count = conn.execute(text("select count(*) from qhd_help_requests where phone = '13912345670'")).scalar_one()
    assert count == 1


def test_request_human_pauses_the_bot(stack):
    sender = f"t-{uuid.uuid4().hex[:8]}"
    reply = joined(stack.say(sender, "转人工"))
    assert "转人工" in reply
    assert stack.say(sender, "你好") == []  # paused: the bot stays silent until an operator hands back
