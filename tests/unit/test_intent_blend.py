"""The sparse linear model blended into DIET's ranking, and the short-reply override (issue 12)."""

from __future__ import annotations

import pytest
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.short_reply_classifier import ShortReplyClassifier
from bot.nlu.sparse_intent import SparseIntentBlend, blend

TRAINING = {
    "ask_rigid_expenditure": ["看病的钱能从收入里扣吗", "药费能不能刨出去再算", "上学的学费能扣除吗"],
    "ask_employment_cost_deduction": ["上班的路费能扣吗", "打工的车费饭钱能减掉吗", "工资要扣就业成本吗"],
    "greet": ["你好", "在吗", "您好"],
}


def _message(text: str, ranking: list[dict]) -> Message:
    message = Message({TEXT: text})
    message.set(INTENT_RANKING_KEY, ranking)
    message.set(INTENT, ranking[0] if ranking else None)
    return message


def test_blend_is_a_weighted_mean_and_counts_a_missing_intent_as_zero():
    ranking = blend(
        [{"name": "a", "confidence": 0.8}, {"name": "b", "confidence": 0.2}],
        {"a": 0.1, "b": 0.6, "c": 0.3},
        diet_weight=0.5,
    )
    assert [r["name"] for r in ranking] == ["a", "b", "c"]
    assert [round(r["confidence"], 3) for r in ranking] == [0.45, 0.4, 0.15]


def test_without_a_diet_ranking_the_linear_model_decides_alone():
    ranking = blend([], {"a": 0.3, "b": 0.7}, diet_weight=0.5)
    assert ranking[0] == {"name": "b", "confidence": 0.7}


@pytest.fixture()
def trained(tmp_path) -> SparseIntentBlend:
    storage = LocalModelStorage(tmp_path)
    resource = Resource("blend")
    component = SparseIntentBlend.create(
        {**SparseIntentBlend.get_default_config(), "diet_weight": 0.0}, storage, resource, None
    )
    examples = [Message({TEXT: t, INTENT: i}) for i, texts in TRAINING.items() for t in texts]
    component.train(TrainingData(examples))
    return SparseIntentBlend.load(
        {**SparseIntentBlend.get_default_config(), "diet_weight": 0.0}, storage, resource, None
    )


def test_trained_model_survives_persisting_and_overrides_a_wrong_ranking(trained):
    wrong = [{"name": "greet", "confidence": 0.9}, {"name": "ask_rigid_expenditure", "confidence": 0.1}]
    [message] = trained.process([_message("闺女上学的学费能扣吗", wrong)])
    assert message.get(INTENT)["name"] == "ask_rigid_expenditure"
    confidences = [r["confidence"] for r in message.get(INTENT_RANKING_KEY)]
    assert confidences == sorted(confidences, reverse=True) and abs(sum(confidences) - 1.0) < 1e-6


@pytest.mark.parametrize(
    "text, intent", [("那可不", "affirm"), ("嗯呐", "affirm"), ("拉倒吧", "deny"), ("不中", "deny")]
)
def test_short_reply_overrides_the_classifiers(text, intent):
    ranking = [{"name": "stop", "confidence": 0.6}, {"name": "goodbye", "confidence": 0.4}]
    [message] = ShortReplyClassifier().process([_message(text, ranking)])
    assert message.get(INTENT) == {"name": intent, "confidence": 1.0}
    assert message.get(INTENT_RANKING_KEY)[0]["name"] == intent


def test_a_longer_message_keeps_the_classifiers_ranking():
    ranking = [{"name": "ask_rigid_expenditure", "confidence": 0.7}, {"name": "deny", "confidence": 0.3}]
    [message] = ShortReplyClassifier().process([_message("不中的话药费能扣吗", ranking)])
    assert message.get(INTENT) == ranking[0]


def test_loaded_weights_are_feature_major_and_score_as_the_fitted_ones(trained):
    import numpy as np

    pipeline = trained._pipeline
    texts = ["闺女上学的学费能扣吗", "你好", "打工路费"]
    assert pipeline[-1].coef_.flags["F_CONTIGUOUS"]  # scored in place, without a copy per message
    feature_major = pipeline.predict_proba(texts)
    pipeline[-1].coef_ = np.ascontiguousarray(pipeline[-1].coef_)  # the layout a fit leaves
    assert np.array_equal(pipeline.predict_proba(texts), feature_major)
