"""A sparse linear intent model blended into DIET's ranking (issue 12).

Why: on messages written the way residents write (a long story, then the question; voice input
without punctuation), a TF-IDF + logistic-regression model over character n-grams did as well as
DIET, and the two err on different messages. Averaging their probabilities makes fewer confident
mistakes than either alone. The linear model trains in seconds and loads in milliseconds, so training
time and cold start stay where they were.

Place it after DIETClassifier and before FallbackClassifier: it rewrites ``intent`` and
``intent_ranking`` with the blended confidences, and the fallback threshold applies to the blend.
"""

from __future__ import annotations

import logging
from typing import Any

import joblib
import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

logger = logging.getLogger(__name__)

MODEL_FILE = "sparse_intent.joblib"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class SparseIntentBlend(GraphComponent, IntentClassifier):
    """Character n-gram TF-IDF + logistic regression, averaged with the previous classifier."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            # share of the blend given to DIET's confidence (the rest is the linear model's)
            "diet_weight": 0.5,
            "min_ngram": 1,
            "max_ngram": 3,
            # inverse regularisation strength of the logistic regression
            "C": 30.0,
            # the linear model's probabilities are flat over 30 intents (its best guess is often
            # right at 0.3); raising them to this power and renormalising keeps its ranking and
            # gives its confidence the same scale as DIET's before the two are averaged
            "sharpen": 2.0,
            "ranking_length": 10,
            "random_seed": 42,
        }

    def __init__(
        self, config: dict[str, Any], model_storage: ModelStorage, resource: Resource, pipeline: Any | None = None
    ) -> None:
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self._pipeline = pipeline

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SparseIntentBlend:
        return cls(config, model_storage, resource)

    def _new_pipeline(self) -> Any:
        return make_pipeline(
            TfidfVectorizer(
                analyzer="char_wb",
                sublinear_tf=True,
                ngram_range=(int(self._config["min_ngram"]), int(self._config["max_ngram"])),
            ),
            LogisticRegression(
                C=float(self._config["C"]), max_iter=3000, random_state=int(self._config["random_seed"])
            ),
        )

    def train(self, training_data: TrainingData) -> Resource:
        examples = [m for m in training_data.intent_examples if m.get(TEXT) and m.get(INTENT)]
        if len({m.get(INTENT) for m in examples}) < 2:
            logger.warning("SparseIntentBlend needs two intents or more; it will pass DIET's ranking through.")
            return self._resource
        pipeline = self._new_pipeline()
        pipeline.fit([m.get(TEXT) for m in examples], [m.get(INTENT) for m in examples])
        self._pipeline = _weights_by_feature(pipeline)
        self._persist()
        return self._resource

    def _persist(self) -> None:
        with self._model_storage.write_to(self._resource) as directory:
            joblib.dump(self._pipeline, directory / MODEL_FILE)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> SparseIntentBlend:
        pipeline = None
        try:
            with model_storage.read_from(resource) as directory:
                path = directory / MODEL_FILE
                if path.is_file():
                    pipeline = joblib.load(path)  # written by train() into our own model archive
        except ValueError:
            logger.warning("SparseIntentBlend has no trained model; passing DIET's ranking through.")
        return cls(config, model_storage, resource, _weights_by_feature(pipeline))

    def process(self, messages: list[Message]) -> list[Message]:
        if self._pipeline is None:
            return messages
        texts = [m.get(TEXT) or "" for m in messages]
        probabilities = self._pipeline.predict_proba(texts)
        classes = [str(c) for c in self._pipeline.classes_]
        probabilities = probabilities ** float(self._config["sharpen"])
        probabilities = probabilities / probabilities.sum(axis=1, keepdims=True)
        for message, row in zip(messages, probabilities):
            linear = dict(zip(classes, (float(p) for p in row)))
            ranking = blend(message.get(INTENT_RANKING_KEY) or [], linear, float(self._config["diet_weight"]))
            ranking = ranking[: int(self._config["ranking_length"])] if self._config["ranking_length"] else ranking
            if ranking:
                message.set(INTENT, ranking[0], add_to_output=True)
                message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages


def _weights_by_feature(pipeline: Any) -> Any:
    """Store the classifier's weights feature-major, so scoring a message reads them in place.

    scikit-learn scores with `X @ coef_.T`; for the row-major `coef_` a fit leaves, scipy first copies
    the whole (features x intents) matrix into row-major order: 2 of the 3 ms this component took per
    message. The weights and the result are the same numbers (bench/results/profile_turn.md)."""
    if pipeline is not None and hasattr(pipeline[-1], "coef_"):
        pipeline[-1].coef_ = np.asfortranarray(pipeline[-1].coef_)
    return pipeline


def blend(diet_ranking: list[dict[str, Any]], linear: dict[str, float], diet_weight: float) -> list[dict[str, Any]]:
    """Weighted mean of two confidence tables, best first. An intent missing from DIET's (truncated)
    ranking counts as 0 there; an intent the linear model never saw counts as 0 on its side."""
    diet = {r[INTENT_NAME_KEY]: float(r[PREDICTED_CONFIDENCE_KEY]) for r in diet_ranking if r.get(INTENT_NAME_KEY)}
    if not diet:
        diet_weight = 0.0
    names = set(diet) | set(linear)
    scored = [
        {
            INTENT_NAME_KEY: name,
            PREDICTED_CONFIDENCE_KEY: diet_weight * diet.get(name, 0.0) + (1.0 - diet_weight) * linear.get(name, 0.0),
        }
        for name in names
    ]
    return sorted(scored, key=lambda r: (-r[PREDICTED_CONFIDENCE_KEY], r[INTENT_NAME_KEY]))
