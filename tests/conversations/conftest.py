from __future__ import annotations

import pytest

from tests.support.servers import Stack, require_model


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    """Real action server + Rasa server with the trained model, own SQLite files."""
    model = require_model()
    running = Stack.create(tmp_path_factory.mktemp("stack"))
    try:
        running.start_actions()
        running.start_rasa(model)
        yield running
    finally:
        running.stop_all()
