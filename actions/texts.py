"""The words actions say, from actions/texts.yml (form questions, re-asks, read-backs, topic answers, offers).

Every resident-facing sentence an action sends lives in that one file, so wording is reviewed and changed
without reading code. Placeholders such as {reference} are filled here with str.format; figures never come
from the file (tests/unit/test_dialogue_data.py), they are passed in by the action.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

TEXTS_FILE = Path(__file__).with_name("texts.yml")


@lru_cache(maxsize=1)
def texts() -> dict[str, dict[str, Any]]:
    return yaml.safe_load(TEXTS_FILE.read_text(encoding="utf-8"))


def question(slot: str) -> dict[str, Any]:
    """The question for a form slot: {"text": ..., "buttons": [...]} (buttons optional)."""
    return texts()["questions"][slot]


def message(name: str) -> dict[str, Any]:
    return texts()["messages"][name]


def wording(name: str, /, **values: Any) -> str:
    """A message's text with its {placeholders} filled in."""
    return message(name)["text"].format(**values)


def say(name: str, /, **values: Any) -> dict[str, Any]:
    """Keyword arguments for `dispatcher.utter_message`: the message filled in, with its buttons if it has any."""
    return {**message(name), "text": wording(name, **values)}


def reask(slot: str, /, **values: Any) -> str:
    """What to say when an answer to `slot`'s question was not understood: how to answer it."""
    return texts()["reasks"][slot].format(**values)


def fact(name: str, /, **values: Any) -> str:
    """One line (or word) of the eligibility read-back, filled in."""
    return texts()["facts"][name].format(**values)


def topic_answer(intent: str, figures: dict[str, str]) -> str:
    """A topic's wording with the rulebook's figures and contact filled in; empty parts leave no gap."""
    template = texts()["topics"][intent]
    filled = template.format_map({"figures": figures.get("figures", ""), "contact": figures.get("contact", "")})
    return "\n".join(line for line in filled.splitlines() if line.strip())
