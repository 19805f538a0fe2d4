"""The launcher refuses, in Chinese and before starting anything, settings that production must not run with."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bot.local_secrets import SECRET_NAMES
from bot.settings import REPO_ROOT
from tests.support.servers import random_secrets


def launch(**env: str) -> subprocess.CompletedProcess:
    full = dict(
        os.environ,
        PROFILE="production",
        **random_secrets(),
        REDIS_PASSWORD=random_secrets()["WEB_SECRET"],
        PYTHONPATH=str(REPO_ROOT),
    )
    full.update(env)
    return subprocess.run(
        [sys.executable, "-m", "bot.production.launcher", "--instances", "1"],
        cwd=REPO_ROOT,
        env=full,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("missing", sorted(SECRET_NAMES))
def test_missing_secret_is_refused(missing: str) -> None:
    done = launch(**{missing: ""})
    assert done.returncode == 2
    assert missing in done.stderr and "生产配置必须" in done.stderr


def test_bad_lock_prefix_is_refused() -> None:
    done = launch(LOCK_KEY_PREFIX="qhd-lock")
    assert done.returncode == 2 and "LOCK_KEY_PREFIX" in done.stderr


def test_redis_without_a_password_is_refused() -> None:
    done = launch(REDIS_PASSWORD="")
    assert done.returncode == 2 and "REDIS_PASSWORD" in done.stderr
