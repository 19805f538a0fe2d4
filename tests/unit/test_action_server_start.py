"""The action server's start-up masks what every logger writes, child loggers included."""

from __future__ import annotations

import logging

import pytest
from rasa_sdk.endpoint import create_argument_parser

from bot import action_server


@pytest.fixture
def root_handlers():
    """The root logger's handlers as they were, restored after the test (start-up adds its own)."""
    root = logging.getLogger()
    saved, level = list(root.handlers), root.level
    yield
    root.handlers[:] = saved
    root.setLevel(level)


def test_a_child_loggers_phone_number_is_masked(root_handlers, capsys) -> None:
    action_server.prepare(create_argument_parser().parse_args(["--actions", "actions"]))
    logging.getLogger("actions.requests.saving").warning("回电 13812345678")
    written = capsys.readouterr().err
    assert "回电" in written
    assert "13812345678" not in written and "5678" in written


def test_importing_the_actions_changes_no_log_handler() -> None:
    import importlib

    import actions

    root = logging.getLogger()
    before = [(h, list(h.filters)) for h in root.handlers], list(root.filters)
    importlib.reload(actions)
    assert ([(h, list(h.filters)) for h in root.handlers], list(root.filters)) == before
