"""Rasa component that gives hotline entities exact, canonical values.

It runs after DIETClassifier. For the types it owns (district, residence, household_size,
amount, disability_level, phone, reference_no) the rules of ``bot.nlu.entity_rules`` decide:
a DIET (or regex) entity of an owned type that overlaps a rule entity is replaced by it; one
that does not overlap is re-read with the same rules and dropped when it has no valid value
(downstream slots and the eligibility engine need numbers and canonical names, not 一千多).
Types it does not own (person_name, illness) pass through untouched.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, EXTRACTOR, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.entity_rules import ENTITY_TYPES, Found, extract


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class HotlineEntityExtractor(GraphComponent, EntityExtractorMixin):
    """Rule-based extractor for the hotline's value-bearing entities.

    Config keys:
        entity_types: the types this component owns (default: all seven rule types).
        drop_unnormalised: drop another extractor's entity of an owned type when the rules
            cannot give it a value (default True).
    """

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Own every rule type and drop entities without a usable value."""
        return {"entity_types": list(ENTITY_TYPES), "drop_unnormalised": True}

    def __init__(self, config: dict[str, Any]) -> None:
        unknown = set(config["entity_types"]) - set(ENTITY_TYPES)
        if unknown:
            raise ValueError(f"HotlineEntityExtractor cannot extract {sorted(unknown)}.")
        self._types = set(config["entity_types"])
        self._drop = bool(config["drop_unnormalised"])

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> HotlineEntityExtractor:
        """Create the component (it has nothing to train or persist)."""
        return cls(config)

    def process(self, messages: list[Message]) -> list[Message]:
        """Replace or normalise the owned entities of every message."""
        for message in messages:
            text = message.get(TEXT)
            if not isinstance(text, str) or not text.strip():
                continue
            ours = [f for f in extract(text) if f.entity in self._types]
            entities = self._merge(text, message.get(ENTITIES, []), ours)
            message.set(ENTITIES, entities, add_to_output=True)
        return messages

    def _merge(self, text: str, others: list[dict[str, Any]], ours: list[Found]) -> list[dict[str, Any]]:
        merged = [self._as_entity(f) for f in ours]
        for entity in others:
            if entity.get("entity") not in self._types:
                merged.append(entity)
                continue
            start, end = entity.get("start"), entity.get("end")
            if start is None or end is None:
                continue
            if any(f.entity == entity["entity"] and f.overlaps(start, end) for f in ours):
                continue
            normalised = self._normalise(text, entity)
            if normalised is not None:
                merged.append(normalised)
            elif not self._drop:
                merged.append(entity)
        return sorted(merged, key=lambda e: (e.get("start", 0), e.get("entity", "")))

    def _normalise(self, text: str, entity: dict[str, Any]) -> dict[str, Any] | None:
        """Re-read another extractor's span with the rules; None when it has no value."""
        start, end = entity["start"], entity["end"]
        for found in extract(text[start:end]) + extract(str(entity.get("value", ""))):
            if found.entity == entity["entity"]:
                result = {**entity, "value": found.value, **found.extra}
                self.add_processor_name(result)
                return result
        return None

    def _as_entity(self, found: Found) -> dict[str, Any]:
        return {
            "entity": found.entity,
            "start": found.start,
            "end": found.end,
            "value": found.value,
            EXTRACTOR: self.name,
            **found.extra,
        }
