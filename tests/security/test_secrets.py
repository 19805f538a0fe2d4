"""Class 1: no published secret runs the assistant, and the embedded profile makes its own.

Every value below was written in this repository at some time (defaults of bot/settings.py, fixed test
and bench values): anyone who read the source knows them, so each must stop every process.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from bot.local_secrets import SECRET_NAMES
from bot.settings import REPO_ROOT
from tests.support.servers import random_secrets

PUBLISHED = [
    "dev-rasa-token",
    "dev-web-secret-change-me",
    "dev-jwt-secret-change-me-0123456789abcdef",
    "test-token",
    "test-jwt-secret",
    "test-web-secret",
    "bench-load-token",
    "prod-test-token",
    "prod-test-jwt-secret-at-least-32-bytes",
]


def run(args: list[str], env_overrides: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in SECRET_NAMES}
    env.update({"PYTHONPATH": str(REPO_ROOT), "RASA_TELEMETRY_ENABLED": "false"}, **env_overrides)
    return subprocess.run(
        [sys.executable, *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.mark.parametrize("value", PUBLISHED)
@pytest.mark.parametrize("name", sorted(SECRET_NAMES))
def test_a_published_value_is_refused_for_every_secret(name: str, value: str, tmp_path: Path) -> None:
    done = run(["-m", "bot", "rest-token"], {**random_secrets(), name: value, "SECRETS_FILE": str(tmp_path / "s.json")})
    assert done.returncode == 2
    assert name in done.stderr and "公开过" in done.stderr
    assert value not in done.stdout


@pytest.mark.parametrize("command", [["-m", "bot.web"], ["-m", "bot.action_server"]])
def test_servers_refuse_to_start_on_a_published_secret(command: list[str], tmp_path: Path) -> None:
    done = run(
        command,
        {
            **random_secrets(),
            "WEB_SECRET": "dev-web-secret-change-me",
            "WEB_PORT": "1",
            "ACTION_PORT": "1",
            "SECRETS_FILE": str(tmp_path / "s.json"),
        },
        timeout=60,
    )
    assert done.returncode != 0
    assert "WEB_SECRET" in done.stdout + done.stderr and "拒绝启动" in done.stdout + done.stderr


def test_rasa_refuses_to_start_on_a_published_secret(tmp_path: Path) -> None:
    from bot.runner import rasa_command, rasa_env
    from tests.support.servers import free_port, require_model

    env = rasa_env()
    env.update(random_secrets(), RASA_TOKEN="dev-rasa-token", SECRETS_FILE=str(tmp_path / "s.json"))
    done = subprocess.run(
        rasa_command(require_model(), "127.0.0.1", free_port(), "*"),
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode != 0
    assert "RASA_TOKEN" in done.stdout + done.stderr and "拒绝启动" in done.stdout + done.stderr


def test_short_values_are_refused(tmp_path: Path) -> None:
    done = run(
        ["-m", "bot", "rest-token"],
        {**random_secrets(), "JWT_SECRET": "x" * 15, "SECRETS_FILE": str(tmp_path / "s.json")},
    )
    assert done.returncode == 2 and "JWT_SECRET" in done.stderr and "太短" in done.stderr


def test_embedded_profile_generates_private_secrets_once_and_every_process_reads_them(tmp_path: Path) -> None:
    store = tmp_path / "var" / "secrets.json"
    first = run(["-m", "bot", "rest-token"], {"PROFILE": "embedded", "SECRETS_FILE": str(store)})
    second = run(["-m", "bot", "rest-token"], {"PROFILE": "embedded", "SECRETS_FILE": str(store)})
    assert first.returncode == 0, first.stderr
    token = first.stdout.strip()
    assert len(token) >= 32 and second.stdout.strip() == token
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    stored = json.loads(store.read_text())
    assert set(stored) == set(SECRET_NAMES) and stored["REST_TOKEN"] == token
    assert len(set(stored.values())) == len(SECRET_NAMES)  # five different random values
    other = run(["-m", "bot", "rest-token"], {"PROFILE": "embedded", "SECRETS_FILE": str(tmp_path / "other.json")})
    assert other.stdout.strip() != token  # another installation gets other secrets


def test_a_value_in_the_environment_wins_over_the_generated_one(tmp_path: Path) -> None:
    mine = random_secrets()["REST_TOKEN"]
    done = run(["-m", "bot", "rest-token"], {"REST_TOKEN": mine, "SECRETS_FILE": str(tmp_path / "s.json")})
    assert done.stdout.strip() == mine


def test_production_refuses_missing_secrets_instead_of_generating(tmp_path: Path) -> None:
    store = tmp_path / "s.json"
    done = run(["-m", "bot", "rest-token"], {"PROFILE": "production", "SECRETS_FILE": str(store)})
    assert done.returncode == 2 and "生产配置必须" in done.stderr
    assert not store.exists()


def test_no_published_value_remains_in_the_source_or_the_example_env() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "bot", "actions", "*.yml", ".env.example", "deploy"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for path in tracked:
        text = (REPO_ROOT / path).read_text(encoding="utf-8", errors="replace")
        for value in PUBLISHED:
            assert f'"{value}"' not in text and f"'{value}'" not in text and f"={value}" not in text, (path, value)
