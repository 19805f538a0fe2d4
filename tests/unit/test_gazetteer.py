"""The township gazetteer (data/gazetteer/qinhuangdao.yml) and every place it reaches.

Expected districts are typed by hand from the source the gazetteer names (NBS 2022 codes,
modood/Administrative-divisions-of-China dist/streets.csv at dc3a1d7): e.g. 130302106 石门寨镇 and
130302107 驻操营镇 are both under 130302 海港区.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml
from rasa_sdk.executor import CollectingDispatcher

from actions import eligibility
from actions import requests as request_actions
from bot.nlu import places
from bot.nlu.entity_rules import extract
from tests.unit.test_actions import make_tracker

ROOT = Path(__file__).resolve().parents[2]
CANONICAL = {
    "海港区",
    "山海关区",
    "北戴河区",
    "抚宁区",
    "青龙满族自治县",
    "昌黎县",
    "卢龙县",
    "秦皇岛经济技术开发区",
    "北戴河新区",
}


@pytest.mark.parametrize(
    "text, district",
    [
        ("石门寨镇", "海港区"),
        ("石门寨", "海港区"),
        ("驻操营", "海港区"),
        ("驻操营镇", "海港区"),
        ("建设大街街道", "海港区"),
        ("白塔岭", "海港区"),
        ("海港开发区", "海港区"),
        ("杜庄镇", "海港区"),
        ("第一关镇", "山海关区"),
        ("孟姜", "山海关区"),
        ("南关街道", "山海关区"),
        ("牛头崖镇", "北戴河区"),
        ("戴河镇", "北戴河区"),
        ("西山街道", "北戴河区"),
        ("骊城街道办事处", "抚宁区"),
        ("台营", "抚宁区"),
        ("茶棚乡", "抚宁区"),
        ("留守营镇", "抚宁区"),
        ("木头凳镇", "青龙满族自治县"),
        ("祖山", "青龙满族自治县"),
        ("凉水河乡", "青龙满族自治县"),
        ("都阳路街道", "青龙满族自治县"),
        ("龙王庙乡", "青龙满族自治县"),
        ("茨榆山", "青龙满族自治县"),
        ("靖安镇", "昌黎县"),
        ("泥井", "昌黎县"),
        ("大蒲河镇", "昌黎县"),
        ("团林乡", "昌黎县"),
        ("荒佃庄", "昌黎县"),
        ("燕河营镇", "卢龙县"),
        ("刘田各庄", "卢龙县"),
        ("印庄乡", "卢龙县"),
        ("石门镇", "卢龙县"),
        ("渤海乡", "秦皇岛经济技术开发区"),
        ("腾飞路街道", "秦皇岛经济技术开发区"),
        ("船厂路街道办", "秦皇岛经济技术开发区"),
        ("南戴河街道", "北戴河新区"),
        ("南戴河", "北戴河新区"),
        ("大蒲河管理处", "北戴河新区"),
        ("团林管理处", "北戴河新区"),
        # districts themselves still work, inside longer answers too
        ("青龙", "青龙满族自治县"),
        ("秦皇岛市海港区", "海港区"),
        ("北戴河新区", "北戴河新区"),
    ],
)
def test_district_of_a_township_street_or_district(text: str, district: str) -> None:
    assert places.district_of(text) == district


@pytest.mark.parametrize(
    "text",
    [
        "大蒲河",
        "团林",
        "留守营",  # listed under 北戴河新区 and under 昌黎县 / 抚宁区
        "路南",
        "河东",
        "渤海",
        "海滨",
        "石门",  # common words, not taken as places
        "文化路",  # a road name alone: roads of that name exist elsewhere
        "秦皇岛",
        "不知道",
    ],
)
def test_ambiguous_or_common_words_are_not_mapped(text: str) -> None:
    assert places.district_of(text) is None


def test_two_different_districts_named_give_none() -> None:
    assert places.district_of("石门寨还是木头凳") is None


def test_a_named_district_wins_over_a_township_of_another() -> None:
    assert places.district_of("青龙的石门寨") == "青龙满族自治县"


def test_every_place_has_a_canonical_district_and_the_source_counts() -> None:
    assert {t.district for t in places.TOWNSHIPS} == CANONICAL
    counts = Counter(t.district for t in places.TOWNSHIPS)
    assert counts == {
        "海港区": 20,
        "山海关区": 7,
        "北戴河区": 5,
        "抚宁区": 8,
        "青龙满族自治县": 25,
        "昌黎县": 16,
        "卢龙县": 12,
        "秦皇岛经济技术开发区": 5,
        "北戴河新区": 4,
    }
    kinds = {t.name: t.kind for t in places.TOWNSHIPS}
    assert (kinds["石门寨镇"], kinds["茶棚乡"], kinds["骊城街道"], kinds["大蒲河管理处"]) == (
        "town",
        "township",
        "street",
        "other",
    )


def test_gazetteer_names_its_source() -> None:
    source = yaml.safe_load(places.GAZETTEER_PATH.read_text(encoding="utf-8"))["source"]
    assert source["commit"] == "dc3a1d7acd85ca1b0979543e9259604142c52e8e"
    assert source["path"] == "dist/streets.csv" and "2022" in source["dataset"]


def test_a_form_claimed_by_two_districts_is_ambiguous() -> None:
    a = places.Township("甲镇", "130302999", "town", "海港区", short=("甲",))
    b = places.Township("甲乡", "130321999", "township", "青龙满族自治县", short=("甲",))
    c = places.Township("甲街道", "130302998", "street", "海港区", short=("甲",))
    assert places.township_table((a, b))["甲"] is None
    assert places.township_table((a, c))["甲"] == "海港区"
    assert places.township_table((a, b))["甲镇"] == "海港区"


def test_a_wrong_district_in_the_data_fails_loudly(tmp_path: Path) -> None:
    bad = tmp_path / "g.yml"
    bad.write_text("places:\n  - {name: 木头凳镇, code: '130321102', kind: town, district: 青龙县}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="木头凳镇"):
        places.load_gazetteer(bad)


def _township_forms() -> set[str]:
    return {f for t in places.TOWNSHIPS for f in t.forms() if f not in places.DISTRICT_ALIASES}


def test_jieba_dictionary_holds_every_form_and_the_lookup_every_name() -> None:
    """jieba keeps every form whole; the lookup (an intent feature) holds only full and former names,
    since short forms such as 安山 or 新集 would fire inside unrelated words."""
    jieba_words = {
        line.split()[0]
        for line in (ROOT / "data/jieba/places.txt").read_text(encoding="utf-8").splitlines()
        if line.strip()
    }
    lookups = yaml.safe_load((ROOT / "data/nlu/lookups.yml").read_text(encoding="utf-8"))["nlu"]
    township = next(t for t in lookups if t.get("lookup") == "township")
    lookup_words = {line.removeprefix("- ").strip() for line in township["examples"].splitlines() if line.strip()}
    assert _township_forms() <= jieba_words
    assert lookup_words == {n for t in places.TOWNSHIPS for n in (t.name, *t.former)}


# --------------------------------------------------------------------------- extractor on sentences


def _districts(text: str) -> list[str]:
    return [f.value for f in extract(text) if f.entity == "district"]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("我是青龙的木头凳镇的", ["青龙满族自治县"]),
        ("住石门寨", ["海港区"]),
        ("我家在驻操营镇，三口人", ["海港区"]),
        ("俺是骊城街道办事处的", ["抚宁区"]),
        ("海港开发区上班", ["海港区"]),
        ("我在大蒲河住", []),
        ("不是石门寨，是木头凳", ["青龙满族自治县"]),
    ],
)
def test_extractor_gives_the_district_of_a_township(text: str, expected: list[str]) -> None:
    assert _districts(text) == expected


def test_township_does_not_disturb_other_entities() -> None:
    found = {f.entity: f.value for f in extract("我家在驻操营镇，三口人，一个月收入九百")}
    assert found == {"district": "海港区", "household_size": 3, "amount": 900}


# --------------------------------------------------------------------------- forms


def test_eligibility_form_takes_a_township_for_the_district() -> None:
    form = eligibility.ValidateEligibilityForm()
    tracker = make_tracker({"requested_slot": "district"}, text="石门寨镇")
    assert form.validate_district("石门寨镇", CollectingDispatcher(), tracker, {}) == {"district": "海港区"}
    dispatcher = CollectingDispatcher()
    assert form.validate_district("大蒲河", dispatcher, tracker, {}) == {"district": None}
    assert dispatcher.messages  # asked again, with a hint


def test_help_request_keeps_the_township_text_and_sets_its_district() -> None:
    form = request_actions.ValidateHelpRequestForm()
    tracker = make_tracker({"requested_slot": "hr_place"}, text="驻操营镇")
    result = form.validate_hr_place("驻操营镇", CollectingDispatcher(), tracker, {})
    assert result == {"hr_place": "驻操营镇", "district": "海港区"}


def test_help_request_asks_again_for_an_ambiguous_place() -> None:
    form = request_actions.ValidateHelpRequestForm()
    dispatcher = CollectingDispatcher()
    tracker = make_tracker({"requested_slot": "hr_place"}, text="团林")
    assert form.validate_hr_place("团林", dispatcher, tracker, {}) == {"hr_place": None}
    assert "区县" in "".join(m.get("text") or "" for m in dispatcher.messages)
