"""Every number the assistant's topic answers quote traces to a rulebook value."""
from __future__ import annotations

import re
from datetime import date

import pytest
import yaml

from bot.answers import TOPICS, topic_figures
from bot.rulebook import REPO_ROOT, default_rulebook

CONTRACT = REPO_ROOT.parent.parent / "shared" / "contracts" / "intents.yml"
NUMBER = re.compile(r"(\d+(?:\.\d+)?)(万)?")
DATES = re.compile(r"\d{4}-\d{2}-\d{2}|\d{4}年(?:\d{1,2}月)?(?:\d{1,2}日)?")
DOC_NO = re.compile(r"〔\d{4}〕\d+号")
URL = re.compile(r"https?://[\w./:?=&%-]+")


def _ask_intents() -> list[str]:
    try:
        intents = yaml.safe_load(CONTRACT.read_text(encoding="utf-8"))["intents"]
        return sorted(i for i in intents if i.startswith("ask_"))
    except OSError:
        return sorted(TOPICS)


def _rulebook_numbers() -> set[float]:
    rb = default_rulebook()
    numbers: set[float] = set()
    for _, entry in rb.entries():
        if isinstance(entry.value, bool):
            continue
        if isinstance(entry.value, (int, float)):
            numbers.add(round(float(entry.value), 2))
        elif isinstance(entry.value, str):
            numbers.update(round(float(n), 2) for n, _ in NUMBER.findall(entry.value))
    return numbers


def _quoted_numbers(text: str) -> list[float]:
    rb = default_rulebook()
    for source in rb.sources.values():  # titles carry dates and document numbers, not figures
        text = text.replace(source.title, "")
    for pattern in (URL, DATES, DOC_NO):
        text = pattern.sub("", text)
    return [round(float(n) * (10000 if wan else 1), 2) for n, wan in NUMBER.findall(text)]


def test_every_contract_topic_intent_has_figures() -> None:
    assert set(_ask_intents()) <= set(TOPICS)


@pytest.mark.parametrize("intent", _ask_intents())
@pytest.mark.parametrize("district,residence", [(None, None), ("青龙", "rural"), ("海港区", "urban"), ("开发区", None)])
def test_every_quoted_number_is_a_rulebook_value(intent, district, residence) -> None:
    known = _rulebook_numbers()
    answer = topic_figures(intent, district, residence, on=date(2026, 11, 29))
    assert set(answer) >= {"figures", "contact"} and answer["contact"]
    for number in _quoted_numbers(answer["figures"] + "\n" + answer["contact"]):
        assert number in known, f"{intent}: {number} is not a rulebook value:\n{answer['figures']}"


def test_dibao_standard_answer_quotes_floor_date_source_and_gap() -> None:
    rb = default_rulebook()
    on = date(2026, 11, 29)
    text = topic_figures("ask_dibao_standard", on=on)["figures"]
    urban = rb.value("dibao.standard.urban_monthly", on, residence="urban")
    rural = rb.value("dibao.standard.rural_yearly", on, residence="rural")
    assert f"{urban.value}元" in text and f"{rural.value}元" in text
    assert urban.source_title in text and urban.date_zh() in text
    assert "没有找到" in text and "民政局" in text


def test_answers_follow_the_date() -> None:
    old = topic_figures("ask_dibao_standard", residence="urban", on=date(2017, 6, 1))["figures"]
    new = topic_figures("ask_dibao_standard", residence="urban", on=date(2018, 6, 1))["figures"]
    assert old != new


def test_unknown_intent_and_garbage_slots_do_not_fail() -> None:
    answer = topic_figures("greet", district="火星", residence="sky")
    assert answer["figures"] == "" and "民政局" in answer["contact"]
    assert "人社" in topic_figures("ask_job_subsidy", district="xx")["contact"]


def test_the_trace_check_catches_a_figure_written_outside_the_rulebook() -> None:
    rb = default_rulebook()
    cite = rb.value("dibao.standard.urban_monthly", date(2026, 11, 29)).cite_zh()
    quoted = _quoted_numbers(f"城市低保每人每月不低于987.65元{cite}")
    assert quoted == [987.65] and 987.65 not in _rulebook_numbers()


def test_out_of_scope_points_other_errands_to_the_rulebook_hotline_and_the_service_hall():
    from actions.answers import GOVERNMENT_HOTLINE, out_of_scope_text
    from bot.rulebook import default_rulebook

    hotline = default_rulebook().value(GOVERNMENT_HOTLINE)
    text = out_of_scope_text()
    assert hotline.value and hotline.value in text
    assert "政务服务大厅" in text and "驾照" in text and "{" not in text
