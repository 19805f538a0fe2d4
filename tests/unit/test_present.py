"""The presenter: one wording of an outcome, and the card shape the widget (issue 13) builds against."""

from __future__ import annotations

from bot.eligibility import evaluate, present
from bot.rulebook import default_rulebook

HAIGANG_3 = {
    "program": "dibao",
    "as_of": "2026-11-29",
    "district": "海港区",
    "residence": "urban",
    "household": [{"monthly_income": 900}, {"monthly_income": 0}, {"monthly_income": 0}],
}


def test_card_shape_and_words_for_a_floor() -> None:
    card = present.card(evaluate(HAIGANG_3, default_rulebook()), "请联系乡镇（街道）。")
    assert set(card) == {"summary", "figures", "next_step", "details"}
    assert card["summary"] == "初步判断：可能符合低保条件"
    assert card["figures"] == [
        {"label": "家庭人均月收入", "value": "300 元"},
        {"label": "对照的低保标准", "value": "不低于 600 元/人·月"},
        {"label": "估计每月能领", "value": "至少约 900 元/月（估算）"},
    ]
    assert card["next_step"].endswith("请联系乡镇（街道）。")
    assert all(isinstance(d, str) for d in card["details"])
    assert any("秦政字〔2017〕44号" in d and "2018-01-01" in d for d in card["details"])


def test_unknown_and_refused_summaries() -> None:
    assert present.summary({"program": "single_person", "eligible": None}) == "初步判断：还不能确定是否符合单人保条件"
    assert present.summary({"program": "dibao", "eligible": False}) == "初步判断：不符合低保条件"


def test_job_card_lists_only_subsidies_that_apply() -> None:
    case = {
        "program": "job_subsidy",
        "as_of": "2026-11-29",
        "district": "卢龙县",
        "household": [{}],
        "job": {
            "poverty_alleviated": False,
            "monitored_household": True,
            "employer_type": None,
            "months_employed": 4,
            "work_location": "outside_province",
        },
    }
    card = present.card(evaluate(case, default_rulebook()))
    assert card["figures"] == [{"label": "一次性交通补助", "value": "一般 300-1000 元"}]
    text = "\n".join(card["details"])
    assert "【已不是现行补贴】以工代训" in text and "一次性吸纳就业补贴：" not in text
