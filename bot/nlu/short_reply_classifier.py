"""Bare colloquial yes/no decided by the closed list in bot.nlu.short_replies (issue 12).

Runs after the learned classifiers and before FallbackClassifier. A one- or two-word reply such as
「嗯呐」「那可不」「拉倒吧」「不中」 gives a classifier almost nothing to go on, yet every yes/no question of
every form (read-backs, offers, the eligibility questions) is answered that way; the list makes those
answers certain. Anything else passes through untouched.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.short_replies import override_ranking, reply_kind


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class ShortReplyClassifier(GraphComponent):
    """Sets intent affirm / deny (confidence 1.0) for a message that is only a yes or a no."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> ShortReplyClassifier:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            kind = reply_kind(message.get(TEXT))
            if kind is None:
                continue
            ranking = override_ranking(message.get(INTENT_RANKING_KEY) or [], kind)
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages
