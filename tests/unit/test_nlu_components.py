"""Unit tests for the custom NLU components (bot/nlu/) and the NLU training data they rely on.

The components are run directly on rasa Messages, the way the Rasa graph runs them.
"""

from __future__ import annotations

import collections
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.constants import TOKENS_NAMES
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.loading import load_data
from rasa.shared.nlu.training_data.message import Message

from bot.nlu import places
from bot.nlu.entity_extractor import HotlineEntityExtractor
from bot.nlu.numerals import parse_number
from bot.nlu.tokenizer import SafeJiebaTokenizer, dictionary_files

ROOT = Path(__file__).resolve().parents[2]
DICTIONARY = ROOT / "data" / "jieba"
NLU_DATA = ROOT / "data" / "nlu"
CONTRACT = next(
    (
        p
        for p in (ROOT.parent / "shared" / "contracts" / "intents.yml", Path("/work/shared/contracts/intents.yml"))
        if p.exists()
    ),
    None,
)
OURS = "HotlineEntityExtractor"


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory: pytest.TempPathFactory) -> SafeJiebaTokenizer:
    storage = LocalModelStorage(tmp_path_factory.mktemp("storage"))
    config = {**SafeJiebaTokenizer.get_default_config(), "dictionary_path": str(DICTIONARY)}
    return SafeJiebaTokenizer.create(config, storage, Resource("tokenizer"), None)


@pytest.fixture(scope="module")
def extractor() -> HotlineEntityExtractor:
    config = HotlineEntityExtractor.get_default_config()
    return HotlineEntityExtractor.create(config, None, Resource("extractor"), None)


def tokens_of(tokenizer: SafeJiebaTokenizer, text: str) -> list[str]:
    message = Message(data={TEXT: text})
    tokenizer.process([message])
    return [t.text for t in message.get(TOKENS_NAMES[TEXT])]


def run(extractor: HotlineEntityExtractor, text: str, entities: list | None = None) -> list[dict[str, Any]]:
    message = Message(data={TEXT: text, ENTITIES: entities or []})
    extractor.process([message])
    return message.get(ENTITIES)


def values(entities: list[dict[str, Any]], entity: str) -> list[Any]:
    return [e["value"] for e in entities if e["entity"] == entity]


def only(entities: list[dict[str, Any]], entity: str) -> dict[str, Any]:
    found = [e for e in entities if e["entity"] == entity]
    assert len(found) == 1, f"expected one {entity}, got {entities}"
    return found[0]


# --------------------------------------------------------------------------- tokenizer


def test_tokenizer_drops_whitespace_and_keeps_offsets(tokenizer: SafeJiebaTokenizer) -> None:
    text = "我想申请  低保 \t 咋办"
    message = Message(data={TEXT: text})
    tokenizer.process([message])
    tokens = message.get(TOKENS_NAMES[TEXT])
    assert all(t.text.strip() for t in tokens)
    assert [t.text for t in tokens][-2:] == ["低保", "咋办"]
    for token in tokens:
        assert text[token.start : token.end] == token.text


@pytest.mark.parametrize(
    "text, word",
    [
        ("低保边缘户能办单人保吗", "单人保"),
        ("刚性支出扣除咋算", "刚性支出扣除"),
        ("一次性吸纳就业补贴多钱", "一次性吸纳就业补贴"),
        ("俺家在青龙县木头凳镇", "木头凳镇"),
        ("我住石门寨镇那边", "石门寨镇"),
        ("驻操营的", "驻操营"),
        ("骊城街道办事处的", "骊城街道办事处"),
        ("北戴河新区的", "北戴河新区"),
        ("俺家3口人", "3口人"),
        ("想当护林员找谁", "护林员"),
        ("转人工", "转人工"),
    ],
)
def test_tokenizer_keeps_dictionary_terms_whole(tokenizer: SafeJiebaTokenizer, text: str, word: str) -> None:
    assert word in tokens_of(tokenizer, text)


def test_tokenizer_persists_only_dictionary_files(tmp_path: Path) -> None:
    folder = tmp_path / "jieba"
    folder.mkdir()
    (folder / "terms.txt").write_text("单人户施保 3000 n\n", encoding="utf-8")
    (folder / "README.md").write_text("not a dictionary\n", encoding="utf-8")
    (tmp_path / "storage").mkdir()
    storage = LocalModelStorage(tmp_path / "storage")
    resource = Resource("tok")
    config = {**SafeJiebaTokenizer.get_default_config(), "dictionary_path": str(folder)}
    SafeJiebaTokenizer.create(config, storage, resource, None).train(None)
    with storage.read_from(resource) as directory:
        assert sorted(p.name for p in Path(directory).iterdir()) == ["terms.txt"]
    loaded = SafeJiebaTokenizer.load(config, storage, resource, None)
    assert "单人户施保" in tokens_of(loaded, "单人户施保是啥")


def test_dictionary_folder_has_dictionaries() -> None:
    files = dictionary_files(str(DICTIONARY))
    assert files, "data/jieba has no *.txt dictionary"
    for file in files:
        for number, line in enumerate(Path(file).read_text(encoding="utf-8").splitlines(), 1):
            parts = line.split()
            assert 1 <= len(parts) <= 3 and (len(parts) < 2 or parts[1].isdigit()), f"{file}:{number}"


# --------------------------------------------------------------------------- numerals


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1200", 1200),
        ("1,200", 1200),
        ("１２００", 1200),
        ("1.2k", 1200),
        ("1.2万", 12000),
        ("一千二", 1200),
        ("一千二百", 1200),
        ("两千四", 2400),
        ("一万二", 12000),
        ("两万", 20000),
        ("千", 1000),
        ("三四百", 350),
        ("仨", 3),
        ("俩", 2),
        ("一点五万", 15000),
        ("1万2", 12000),
        ("一点", None),
        ("", None),
    ],
)
def test_parse_number(text: str, expected: float | None) -> None:
    value = parse_number(text)
    assert value == expected
    if expected is not None and float(expected).is_integer():
        assert isinstance(value, int)


# --------------------------------------------------------------------------- extractor: values


@pytest.mark.parametrize(
    "text, expected",
    [
        ("俺家3口人", 3),
        ("我家三口人", 3),
        ("我们仨", 3),
        ("仨人", 3),
        ("仨人 一个月一千二 老伴脑梗", 3),
        ("四口之家", 4),
        ("家里五个人", 5),
        ("一家五口 都在村里", 5),
        ("就我一个人", 1),
        ("我和老伴两个人过", 2),
        ("3个人", 3),
        ("三口人，不对不对，是四口人", 4),
        ("家里就我一个人挣钱 一共四口人", 4),
    ],
)
def test_household_size(extractor: HotlineEntityExtractor, text: str, expected: int) -> None:
    entity = only(run(extractor, text), "household_size")
    assert entity["value"] == expected and isinstance(entity["value"], int)
    assert entity["extractor"] == OURS


@pytest.mark.parametrize(
    "text",
    ["家里有三个孩子", "就我一个人挣钱", "我今年65岁", "家里就一个人有病", "公益岗能不能两口子都干", "家里俩人上班"],
)
def test_no_household_size_where_none_is_said(extractor: HotlineEntityExtractor, text: str) -> None:
    assert values(run(extractor, text), "household_size") == []


@pytest.mark.parametrize(
    "text, expected",
    [
        ("一个月收入一千二", 1200),
        ("俺家3口人 一个月1200块", 1200),
        ("工资1,200元", 1200),
        ("一个月一千二百块", 1200),
        ("两千四", 2400),
        ("1.2k左右", 1200),
        ("一个月千把块钱", 1000),
        ("两千左右", 2000),
        ("不到一千", 1000),
        ("收入一千多", 1000),
        ("退休金八九百块", 850),
        ("说错了 一个月一千五", 1500),
        ("今年65岁一个月退休金一千二", 1200),
        ("两千四一个月", 2400),
        ("我一个月退休金一千二一个人过", 1200),
        ("家里病人住院花了 报销以后还剩两万", 20000),
        ("我六十八了 一个月五百多块养老金", 500),
    ],
)
def test_monthly_amount(extractor: HotlineEntityExtractor, text: str, expected: float) -> None:
    entity = only(run(extractor, text), "amount")
    assert entity["value"] == expected and isinstance(entity["value"], int)
    assert entity["period"] == "month"


@pytest.mark.parametrize(
    "text, yearly",
    [
        ("一年两万来块", 20000),
        ("年收入3万", 30000),
        ("四口之家一年收入两万四", 24000),
        ("两万来块一年", 20000),
        ("种地一年下来也就一万多块", 10000),
    ],
)
def test_yearly_amount_is_divided_by_twelve(extractor: HotlineEntityExtractor, text: str, yearly: int) -> None:
    entity = only(run(extractor, text), "amount")
    assert entity["value"] == round(yearly / 12, 2)
    assert entity["period"] == "year"


def test_yearly_whole_result_is_int(extractor: HotlineEntityExtractor) -> None:
    entity = only(run(extractor, "年收入2万4"), "amount")
    assert entity["value"] == 2000 and isinstance(entity["value"], int)


def test_two_amounts_keep_their_own_periods(extractor: HotlineEntityExtractor) -> None:
    entities = run(extractor, "我一个月一千二 一年下来还有一万二的地租")
    amounts = [(e["value"], e["period"]) for e in entities if e["entity"] == "amount"]
    assert amounts == [(1200, "month"), (1000, "year")]


@pytest.mark.parametrize(
    "text",
    [
        "我今年65岁",
        "我六十八了",
        "2026年3月份申请的",
        "家里种了五亩地",
        "住在建设大街288号",
        "孩子上三年级",
        "一级",
        "做手术花了好几万",
        "低保一个月给几百块",
    ],
)
def test_numbers_that_are_not_money(extractor: HotlineEntityExtractor, text: str) -> None:
    assert values(run(extractor, text), "amount") == []


@pytest.mark.parametrize(
    "text, expected",
    [
        ("青龙的木头凳镇", "青龙满族自治县"),
        ("我是青龙县的", "青龙满族自治县"),
        ("海港", "海港区"),
        ("我在昌黎", "昌黎县"),
        ("卢龙农村的", "卢龙县"),
        ("抚宁", "抚宁区"),
        ("山海关那边", "山海关区"),
        ("北戴河", "北戴河区"),
        ("北戴河新区的", "北戴河新区"),
        ("新区", "北戴河新区"),
        ("经开区", "秦皇岛经济技术开发区"),
        ("开发区", "秦皇岛经济技术开发区"),
        ("不是海港 是山海关", "山海关区"),
    ],
)
def test_district_short_forms(extractor: HotlineEntityExtractor, text: str, expected: str) -> None:
    assert values(run(extractor, text), "district") == [expected]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("城里的", "urban"),
        ("县城", "urban"),
        ("市区", "urban"),
        ("农村户口", "rural"),
        ("乡下", "rural"),
        ("村里的", "rural"),
    ],
)
def test_residence(extractor: HotlineEntityExtractor, text: str, expected: str) -> None:
    assert values(run(extractor, text), "residence") == [expected]


@pytest.mark.parametrize(
    "text, expected",
    [("老伴一级残疾", 1), ("儿子二级残急", 2), ("残疾证是三级肢体", 3), ("1级残疾", 1), ("二级的", 2)],
)
def test_disability_level(extractor: HotlineEntityExtractor, text: str, expected: int) -> None:
    assert values(run(extractor, text), "disability_level") == [expected]


@pytest.mark.parametrize("text", ["孩子上二级学校", "工伤伤残五级", "一级棒"])
def test_no_disability_level_without_disability_words(extractor: HotlineEntityExtractor, text: str) -> None:
    assert values(run(extractor, text), "disability_level") == []


@pytest.mark.parametrize(
    "text, expected",
    [("电话13812345678", "13812345678"), ("138 1234 5678", "13812345678"), ("手机号159-0335-1234", "15903351234")],
)
def test_phone(extractor: HotlineEntityExtractor, text: str, expected: str) -> None:
    entities = run(extractor, text)
    assert values(entities, "phone") == [expected]
    assert values(entities, "amount") == []


@pytest.mark.parametrize("text", ["电话12812345678", "138123456789", "0335-1234567"])
def test_invalid_mobile_is_not_a_phone(extractor: HotlineEntityExtractor, text: str) -> None:
    assert values(run(extractor, text), "phone") == []


@pytest.mark.parametrize(
    "text",
    [
        "QHD-2026-000123",
        "qhd-2026-000123",
        "单号 qhd 2026 000123 查一下",
        "ＱＨＤ－２０２６－０００１２３",
        "QHD2026000123",
    ],
)
def test_reference_number_is_normalised(extractor: HotlineEntityExtractor, text: str) -> None:
    entities = run(extractor, text)
    assert values(entities, "reference_no") == ["QHD-2026-000123"]
    assert values(entities, "amount") == []


def test_full_story_message(extractor: HotlineEntityExtractor) -> None:
    text = "我青龙县农村的家里4口人老伴一级残疾一年收入两万四电话13903351234能不能吃低保"
    entities = run(extractor, text)
    assert values(entities, "district") == ["青龙满族自治县"]
    assert values(entities, "residence") == ["rural"]
    assert values(entities, "household_size") == [4]
    assert values(entities, "disability_level") == [1]
    assert values(entities, "amount") == [2000]
    assert values(entities, "phone") == ["13903351234"]
    for entity in entities:
        assert text[entity["start"] : entity["end"]]


# --------------------------------------------------------------------------- extractor: merging


def diet(entity: str, text: str, part: str, value: Any = None) -> dict[str, Any]:
    start = text.index(part)
    return {
        "entity": entity,
        "start": start,
        "end": start + len(part),
        "value": part if value is None else value,
        "extractor": "DIETClassifier",
    }


def test_replaces_overlapping_diet_entities_and_keeps_names(extractor: HotlineEntityExtractor) -> None:
    text = "我叫王秀兰 海港的 一个月一千二"
    entities = run(
        extractor,
        text,
        [
            diet("person_name", text, "王秀兰"),
            diet("district", text, "海港"),
            diet("amount", text, "一千"),
        ],
    )
    assert only(entities, "person_name")["extractor"] == "DIETClassifier"
    district, amount = only(entities, "district"), only(entities, "amount")
    assert (district["value"], district["extractor"]) == ("海港区", OURS)
    assert (amount["value"], amount["extractor"]) == (1200, OURS)


def test_normalises_diet_entity_the_rules_did_not_find(extractor: HotlineEntityExtractor) -> None:
    text = "他给了一千多"
    entities = run(extractor, text, [diet("amount", text, "一千多")])
    amount = only(entities, "amount")
    assert amount["value"] == 1000 and amount["extractor"] == "DIETClassifier"
    assert OURS in amount["processors"]


def test_drops_diet_entity_without_a_usable_value(extractor: HotlineEntityExtractor) -> None:
    text = "我住大蒲河"  # 昌黎县 or 北戴河新区: no value
    entities = run(extractor, text, [diet("district", text, "大蒲河"), diet("illness", text, "住")])
    assert values(entities, "district") == []
    assert values(entities, "illness") == ["住"]


def test_can_keep_unnormalised_entities_when_configured() -> None:
    config = {**HotlineEntityExtractor.get_default_config(), "drop_unnormalised": False}
    keep = HotlineEntityExtractor.create(config, None, Resource("x"), None)
    text = "我住大蒲河"
    assert values(run(keep, text, [diet("district", text, "大蒲河")]), "district") == ["大蒲河"]


def test_only_configured_types_are_extracted() -> None:
    config = {**HotlineEntityExtractor.get_default_config(), "entity_types": ["phone"]}
    phones_only = HotlineEntityExtractor.create(config, None, Resource("x"), None)
    entities = run(phones_only, "海港区三口人电话13812345678")
    assert [e["entity"] for e in entities] == ["phone"]


def test_unknown_entity_type_is_refused() -> None:
    with pytest.raises(ValueError):
        HotlineEntityExtractor({"entity_types": ["shoe_size"], "drop_unnormalised": True})


def test_message_without_text_is_left_alone(extractor: HotlineEntityExtractor) -> None:
    message = Message(data={"intent": {"name": "greet"}})
    extractor.process([message])
    assert message.get(ENTITIES) is None


# --------------------------------------------------------------------------- training data


@pytest.fixture(scope="module")
def training_data():
    return load_data(str(NLU_DATA))


def test_every_contract_intent_has_enough_examples(training_data) -> None:
    if CONTRACT is None:
        pytest.skip("shared/contracts/intents.yml is not beside the checkout")
    contract = list(yaml.safe_load(CONTRACT.read_text(encoding="utf-8"))["intents"])
    counts = collections.Counter(m.get("intent") for m in training_data.intent_examples)
    short = {"greet", "goodbye", "thank", "affirm", "deny", "bot_challenge", "request_human", "stop"}
    for intent in contract + ["stop"]:
        assert counts[intent] >= (25 if intent in short else 45), intent
    assert set(counts) == set(contract) | {"stop"}


def test_no_example_belongs_to_two_intents(training_data) -> None:
    seen: dict[str, str] = {}
    for message in training_data.intent_examples:
        text, intent = message.get(TEXT), message.get("intent")
        assert seen.setdefault(text, intent) == intent, text


def test_annotations_fall_on_token_boundaries(training_data, tokenizer: SafeJiebaTokenizer) -> None:
    misaligned = []
    for message in training_data.training_examples:
        tokens = tokenizer.tokenize(message, TEXT)
        starts, ends = {t.start for t in tokens}, {t.end for t in tokens}
        for entity in message.get(ENTITIES) or []:
            if entity["start"] not in starts or entity["end"] not in ends:
                misaligned.append((message.get(TEXT), entity["entity"]))
    assert misaligned == []


def test_annotated_values_agree_with_the_extractor(training_data, extractor: HotlineEntityExtractor) -> None:
    """Every annotated span of a rule-owned type is one the rules can read a value from."""
    unread = []
    for message in training_data.training_examples:
        text = message.get(TEXT)
        for entity in message.get(ENTITIES) or []:
            if entity["entity"] in ("person_name", "illness"):
                continue
            span = text[entity["start"] : entity["end"]]
            if not values(run(extractor, span), entity["entity"]):
                unread.append((text, entity["entity"]))
    assert unread == []


def test_synonyms_match_the_place_tables(training_data) -> None:
    expected = {**places.DISTRICT_ALIASES, **places.RESIDENCE_ALIASES}
    expected = {alias: canonical for alias, canonical in expected.items() if alias != canonical}
    assert training_data.entity_synonyms == expected


def test_pipeline_order_keeps_rule_values(training_data, extractor: HotlineEntityExtractor) -> None:
    """Run the synonym mapper and our extractor in config.yml's order on typed values.

    The synonym mapper learns a self-reference for every annotated value ("1200" -> "1200");
    run after our extractor it would turn numbers back into strings.
    """
    from rasa.nlu.extractors.entity_synonyms import EntitySynonymMapper

    mapper = EntitySynonymMapper({}, None, None, None)
    for key, value in training_data.entity_synonyms.items():
        mapper._add_entities_if_synonyms(key, value)
    for example in training_data.entity_examples:
        for entity in example.get(ENTITIES, []):
            span = example.get(TEXT)[entity["start"] : entity["end"]]
            mapper._add_entities_if_synonyms(span, str(entity.get("value")))
    assert "1200" in mapper.synonyms  # the hazard is real for this data

    names = [c["name"] for c in yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))["pipeline"]]
    steps = {"EntitySynonymMapper": mapper, "bot.nlu.entity_extractor.HotlineEntityExtractor": extractor}
    message = Message(data={TEXT: "一个月1200 单号qhd-2026-000087", ENTITIES: []})
    for name in names:
        if name in steps:
            steps[name].process([message])
    assert values(message.get(ENTITIES), "amount") == [1200]
    assert isinstance(values(message.get(ENTITIES), "amount")[0], int)
    assert values(message.get(ENTITIES), "reference_no") == ["QHD-2026-000087"]
