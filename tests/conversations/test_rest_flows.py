"""Whole conversations through the REST webhook of real running servers, read back from the database.

The scripted resident answers only what the bot asks (it recognises the question, not the turn
number), so a changed question order still passes while a wrong or missing question fails.
"""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from sqlalchemy import create_engine, text

from bot.rulebook import default_rulebook
from bot.store.categories import STATUSES
from tests.support.data_stack import HELP_ANSWERS, REFERENCE, joined
from tests.support.data_stack import converse as scripted_resident

pytestmark = pytest.mark.timeout(600)


# Replies that end a flow: a decision, a saved request, a status.
DONE_MARKERS = ("初步判断", "求助编号是", "求助 QHD-", "没有查到")


def converse(
    stack,
    sender: str,
    opening: str,
    answers: dict[str, str],
    max_turns: int = 15,
    until: tuple[str, ...] = DONE_MARKERS,
) -> str:
    """Send `opening`, then answer each question whose text contains a key of `answers`.

    Returns the text of the first reply that ends the flow or asks nothing we know.
    """
    return scripted_resident(stack, sender, opening, answers, max_turns, until)


def fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


# The read-back quotes the facts, so its key comes first: a question is recognised by its own words.
DIBAO_ANSWERS = {
    "对吗": "对",
    "哪个区县": "海港区",
    "城镇户": "城镇",
    "几口人": "三口人",
    "收入大概": "九百",
    "掏钱": "没有",
    "私家车": "没有",
}


def test_standard_answer_quotes_rulebook_figure_with_date_and_source(stack):
    reply = joined(stack.say(f"t-{uuid.uuid4().hex[:8]}", "农村低保标准是多少"))
    rural = default_rulebook().value("dibao.standard.rural_yearly", on=date.today(), residence="rural")
    assert fmt(rural.value) in reply.replace(",", "")
    assert rural.effective_from.isoformat() in reply
    assert rural.source_title in reply


def test_dibao_check_with_a_resident_who_only_answers(stack):
    sender = f"t-{uuid.uuid4().hex[:8]}"
    result = converse(stack, sender, "我想问问我家能不能吃低保", DIBAO_ANSWERS)
    assert "初步判断：可能符合低保条件" in result and "不符合" not in result
    assert result.count("初步判断") == 1 and "结论：" not in result  # one verdict, not two
    assert "300" in result and "不低于 600 元" in result
    standard = default_rulebook().value(
        "dibao.standard.urban_monthly", on=date.today(), district="海港区", residence="urban"
    )
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
    answers = {
        "对吗": "对",
        "哪个区县": "海港区",
        "城镇户": "城镇",
        "几口人": "三口人",
        "收入大概": "两千四",
        "几级残疾": "一级肢体残疾",
        "私家车": "没有",
    }
    result = converse(stack, sender, "好的帮我算算", answers)
    assert "1级残疾" in result and "单独纳入" in result
    assert "初步判断：可能符合单人保条件" in result


def test_stop_leaves_the_check(stack):
    sender = f"t-{uuid.uuid4().hex[:8]}"
    converse(stack, sender, "我想查查够不够低保", {"哪个区县": "昌黎"})
    reply = joined(stack.say(sender, "算了不查了"))
    assert "先不办了" in reply
    reply = joined(stack.say(sender, "你好"))
    assert "几口人" not in reply and "区县" not in reply.split("。")[-1]


def _app_db(stack):
    return create_engine(stack.env["DATABASE_URL"], future=True)


def test_help_request_is_saved_with_all_fields_and_status_is_queryable(stack):
    sender = f"t-{uuid.uuid4().hex[:8]}"
    result = converse(stack, sender, "我想登记一下求助", HELP_ANSWERS)
    match = REFERENCE.search(result)
    assert match, result
    reference = match.group(0)
    with _app_db(stack).connect() as conn:
        row = (
            conn.execute(text("select * from qhd_help_requests where reference_no = :r"), {"r": reference})
            .mappings()
            .one()
        )
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
    reference = REFERENCE.search(reply)
    assert reference, reply
    with _app_db(stack).connect() as conn:
        count = conn.execute(text("select count(*) from qhd_help_requests where phone = '13912345670'")).scalar_one()
    assert count == 1


def test_request_human_pauses_the_bot(stack):
    sender = f"t-{uuid.uuid4().hex[:8]}"
    reply = joined(stack.say(sender, "转人工"))
    assert "转人工" in reply
    assert stack.say(sender, "你好") == []  # paused: the bot stays silent until an operator hands back


# --- intake classes (issue 9): facts are kept the way the resident said them ---------------------------


def _single_person(stack, disability_answer: str, income: str = "一千四百四", size: str = "两口人") -> tuple[str, str]:
    sender = f"t-{uuid.uuid4().hex[:8]}"
    answers = {
        "对吗": "对",
        "哪个区县": "海港区",
        "城镇户": "城镇",
        "几口人": size,
        "收入大概": income,
        "几级残疾": disability_answer,
        "私家车": "没有",
    }
    joined(stack.say(sender, "家里有病人能不能单独办低保"))
    summary = converse(stack, sender, "好的帮我算算", answers, until=("我核对一下",))
    return summary, joined(stack.say(sender, "对"))


@pytest.mark.parametrize("illness", ["老伴高血压", "老伴糖尿病", "老伴抑郁症"])
def test_ordinary_illness_is_not_taken_for_a_serious_one(stack, illness):
    summary, result = _single_person(stack, illness)
    assert "配偶" in summary and illness[2:] in summary
    assert "初步判断：不符合单人保条件" in result and "一般慢性病" in result


def test_serious_illness_on_the_list_is_covered_alone(stack):
    summary, result = _single_person(stack, "老伴尿毒症")
    assert "配偶" in summary
    assert "初步判断：可能符合单人保条件" in result and "尿毒症" in result


def test_illness_the_rules_do_not_list_stays_unknown(stack):
    _, result = _single_person(stack, "我妈得了一种怪病")
    assert "初步判断：还不能确定是否符合单人保条件" in result


def test_who_is_disabled_is_the_member_named_not_the_last_one(stack):
    summary, result = _single_person(stack, "我儿子三级智力残疾", size="三口人")
    assert "子女" in summary and "3级智力残疾" in summary
    assert "初步判断：可能符合单人保条件" in result


def test_level_three_without_a_kind_is_unknown_with_the_question(stack):
    _, result = _single_person(stack, "我儿子三级残疾")
    assert "初步判断：还不能确定" in result and "残疾证上写的类别" in result


def test_pension_and_wage_are_kept_apart(stack):
    sender = f"t-{uuid.uuid4().hex[:8]}"
    answers = dict(DIBAO_ANSWERS, **{"收入大概": "我打工一千二，老伴农村养老金一百八", "几口人": "两口人"})
    summary = converse(stack, sender, "我家能不能吃低保", answers, until=("我核对一下",))
    assert "本人工资 1200 元" in summary and "配偶城乡居民养老金 180 元" in summary
    assert "1380" in summary


@pytest.mark.parametrize("status,hiring_asked", [("脱贫户", True), ("监测户", False)])
def test_alleviated_and_monitored_are_different_answers(stack, status, hiring_asked):
    sender = f"t-{uuid.uuid4().hex[:8]}"
    asked: list[str] = []
    answers = {
        "对吗": "对",
        "要不要我": "好的帮我算算",
        "哪个区县": "卢龙",
        "脱贫户": status,
        "几个月": "四个月",
        "在哪儿打工": "外省",
        "哪类单位": "企业",
    }
    reply = joined(stack.say(sender, "就业补贴我能领吗"))
    for _ in range(10):
        asked.append(reply)
        key = next((k for k in answers if k in reply), None)
        if key is None or "初步判断" in reply:
            break
        reply = joined(stack.say(sender, answers[key]))
    transcript = "\n".join(asked)
    assert ("哪类单位" in transcript) is hiring_asked
    assert "初步判断：可能符合就业补贴条件" in reply and "一次性交通补助" in reply
    assert ("户别（就业帮扶）：防返贫监测户" in transcript) is (status == "监测户")
