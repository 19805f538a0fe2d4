"""The words actions say, from actions/texts.yml (form questions, topic answers, offers)."""

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


def topic_answer(intent: str, figures: dict[str, str]) -> str:
    """A topic's wording with the rulebook's figures and contact filled in; empty parts leave no gap."""
    template = texts()["topics"][intent]
    filled = template.format_map({"figures": figures.get("figures", ""), "contact": figures.get("contact", "")})
    return "\n".join(line for line in filled.splitlines() if line.strip())
