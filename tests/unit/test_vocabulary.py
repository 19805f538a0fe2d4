"""One vocabulary: the topic intents named in bot.vocabulary are the domain's and the answers' topics."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot import answers, vocabulary

REPO = Path(__file__).resolve().parents[2]


def test_topic_intents_are_the_domains_ask_intents() -> None:
    domain = yaml.safe_load((REPO / "domain.yml").read_text(encoding="utf-8"))
    asked = {i for i in domain["intents"] if isinstance(i, str) and i.startswith("ask_")}
    assert set(vocabulary.TOPIC_INTENTS) == asked


def test_every_topic_intent_has_an_answer_and_a_category() -> None:
    assert set(vocabulary.TOPIC_INTENTS) == set(answers.TOPICS)
    assert set(vocabulary.CATEGORIES) - set(vocabulary.TOPIC_INTENTS) == {"report_complaint", "other"}


def test_staff_and_residents_word_the_same_urgency_levels() -> None:
    assert vocabulary.URGENCIES.keys() == vocabulary.RESIDENT_URGENCIES.keys()
