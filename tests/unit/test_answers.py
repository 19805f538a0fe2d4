"""Every number the assistant's topic answers quote traces to a rulebook value."""

from __future__ import annotations

import re
from datetime import date

import pytest
import yaml

from bot.answers import TOPICS, topic_figures
from bot.rulebook import REPO_ROOT, default_rulebook

# ../shared/contracts/intents.yml from the repository root (the shared folder beside the checkouts).
CONTRACT = next(
    (
        root / "shared" / "contracts" / "intents.yml"
        for root in (REPO_ROOT.parent, REPO_ROOT.parent.parent)
        if (root / "shared" / "contracts" / "intents.yml").is_file()
    ),
    REPO_ROOT.parent / "shared" / "contracts" / "intents.yml",
)
NUMBER = re.compile(r"(\d+(?:\.\d+)?)(万)?")
DATES = re.compile(r"\d{4}-\d{2}-\d{2}|\d{4}年(?:\d{1,2}月)?(?:\d{1,2}日)?")
DOC_NO = re.compile(r"〔\d{4}〕\d+号")
URL = re.compile(r"https?://[\w./:?=&%-]+")


def _ask_intents() -> list[str]:
    """The contract's topic intents; a missing or unreadable contract fails the tests, never passes them."""
    intents = yaml.safe_load(CONTRACT.read_text(encoding="utf-8"))["intents"]
    asked = sorted(i for i in intents if i.startswith("ask_"))
    assert asked, f"{CONTRACT} lists no ask_* intents"
    return asked


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
    assert urban.note_zh and urban.note_zh in text and "民政局" in text  # the not-found sentence is the figure's note


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


def test_a_long_answer_becomes_a_card_with_the_conclusion_first():
    from bot.answers import answer_card

    text = (
        "低保看三点：收入、财产、户籍。另外还要看户口。\n"
        "城市低保：每人每月不低于600元（2018-01-01起，秦政字〔2017〕44号）\n"
        "以工代训补贴：每人每月最多300元（2020年起，某省措施，未经本地确认）\n"
        "这是全市的最低线，县区实际执行的标准可能更高，请向县区民政局确认。\n"
        "可以到乡镇政府或街道办事处申请。"
    )
    card = answer_card(text, "可以到乡镇政府或街道办事处申请。")
    assert card == {
        "summary": "低保看三点：收入、财产、户籍。",
        "figures": [
            {"label": "城市低保", "value": "每人每月不低于600元"},
            {"label": "以工代训补贴", "value": "每人每月最多300元（未经本地确认）"},
        ],
        "next_step": "可以到乡镇政府或街道办事处申请。",
        "details": [
            "另外还要看户口。",
            "城市低保：每人每月不低于600元（2018-01-01起，秦政字〔2017〕44号）",
            "以工代训补贴：每人每月最多300元（2020年起，某省措施，未经本地确认）",
            "这是全市的最低线，县区实际执行的标准可能更高，请向县区民政局确认。",
        ],
    }


def test_a_short_answer_stays_plain_text():
    from bot.answers import answer_card

    assert answer_card("低保标准每人每月不低于600元。\n可以到街道办事处申请。", "可以到街道办事处申请。") is None


@pytest.mark.parametrize("intent", sorted(TOPICS))
def test_every_topic_card_keeps_every_line_of_the_answer(intent):
    from actions.texts import topic_answer
    from bot.answers import answer_card

    figures = topic_figures(intent, on=date(2026, 6, 1))
    text = topic_answer(intent, figures)
    card = answer_card(text, figures["contact"])
    if card is None:
        return
    shown = card["summary"] + "".join(card["details"]) + card["next_step"]
    assert shown == "".join(line.strip() for line in text.splitlines() if line.strip())
    for fig in card["figures"]:  # every figure on the card is quoted with its source in the details
        assert any(
            line.startswith(f"{fig['label']}：{fig['value'].replace('（未经本地确认）', '')}（")
            for line in card["details"]
        )


def test_out_of_scope_points_other_errands_to_the_rulebook_hotline_and_the_service_hall():
    from actions.answers import GOVERNMENT_HOTLINE, out_of_scope_text
    from bot.rulebook import default_rulebook

    hotline = default_rulebook().value(GOVERNMENT_HOTLINE)
    text = out_of_scope_text()
    assert hotline.value and hotline.value in text
    assert "政务服务大厅" in text and "驾照" in text and "{" not in text
