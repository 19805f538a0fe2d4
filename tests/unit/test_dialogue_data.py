"""The dialogue data stays consistent with the domain and the contracts."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from actions.texts import texts
from bot.runner import REPO_ROOT

DOMAIN = yaml.safe_load((REPO_ROOT / "domain.yml").read_text(encoding="utf-8"))
CONTRACT = (
    yaml.safe_load((REPO_ROOT.parent / "shared" / "contracts" / "intents.yml").read_text(encoding="utf-8"))
    if (REPO_ROOT.parent / "shared" / "contracts" / "intents.yml").exists()
    else None
)


def test_generated_rules_are_up_to_date():
    run = subprocess.run([sys.executable, "scripts/gen_rules.py", "--check"], cwd=REPO_ROOT)
    assert run.returncode == 0, "data/rules/topics.yml is stale: run scripts/gen_rules.py"


def test_domain_keeps_every_contract_intent():
    if CONTRACT is None:
        pytest.skip("../shared/contracts/intents.yml is not beside the checkout")
    assert set(CONTRACT["intents"]) <= set(DOMAIN["intents"])


def test_every_topic_has_an_answer_text_with_figures_and_contact():
    topics = [i for i in DOMAIN["intents"] if i.startswith("ask_")]
    for intent in topics:
        assert "{figures}" in texts()["topics"][intent], intent
        assert "{contact}" in texts()["topics"][intent], intent


def test_every_form_slot_has_a_question():
    asked_by_actions = {"elig_confirm", "hr_confirm", "hr_consent"}
    for form in DOMAIN["forms"].values():
        for slot in form["required_slots"]:
            assert slot in texts()["questions"] or slot in asked_by_actions, slot
            action = f"action_ask_{slot}"
            assert action in DOMAIN["actions"], action


def test_no_figure_in_action_texts_or_domain_responses():
    """Figures reach residents only through the rulebook: no digits in fixed wording, except examples."""
    allowed = {"13812345678", "2026", "000123"}  # examples of formats the resident should type
    wording = yaml.safe_dump(texts(), allow_unicode=True) + yaml.safe_dump(DOMAIN["responses"], allow_unicode=True)
    import re

    numbers = set(re.findall(r"\d{2,}", wording)) - allowed
    assert not numbers, f"figures written into wording: {numbers}"
