"""`rasa test` on the test conversations: NLU and dialogue predictions must match every step."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bot.runner import REPO_ROOT, rasa_env
from tests.support.servers import require_model

pytestmark = pytest.mark.timeout(900)


def test_conversation_stories_have_no_prediction_errors(tmp_path):
    model = require_model()
    out = tmp_path / "results"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "rasa",
            "test",
            "core",
            "--model",
            str(model),
            "--stories",
            "tests/conversations",
            "--fail-on-prediction-errors",
            "--out",
            str(out),
            "--endpoints",
            "endpoints.yml",
        ],
        cwd=REPO_ROOT,
        env=rasa_env(),
        capture_output=True,
        text=True,
    )
    failed = out / "failed_test_stories.yml"
    detail = failed.read_text(encoding="utf-8") if failed.exists() else ""
    assert run.returncode == 0, f"{run.stdout[-2000:]}\n{run.stderr[-3000:]}\n{detail[:6000]}"
