"""The action server serves one `action_ask_<slot>` per question of actions/texts.yml, and nothing else."""

from __future__ import annotations

from rasa_sdk.executor import ActionExecutor

from actions.texts import texts


def test_rasa_sdk_registers_one_question_action_per_slot() -> None:
    executor = ActionExecutor()
    executor.register_package("actions")
    registered = {name for name in executor.actions if name.startswith("action_ask_")}
    expected = {f"action_ask_{slot}" for slot in texts()["questions"]}
    assert expected <= registered
    # asked by their forms (the read-backs, and the privacy notice before name and phone)
    assert registered - expected <= {"action_ask_elig_confirm", "action_ask_hr_confirm", "action_ask_hr_consent"}
