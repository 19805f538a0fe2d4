"""The Dockerfile's key properties (no hadolint in Debian's archive here, so a test checks them), the
entrypoint's role dispatch (run with a stand-in `python`), and the health check's role detection."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import time
from pathlib import Path

import pytest

from bot.production import healthcheck
from bot.settings import REPO_ROOT

DOCKERFILE = REPO_ROOT / "Dockerfile"
ENTRYPOINT = REPO_ROOT / "deploy" / "docker" / "entrypoint.sh"


def instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line.strip() else "")
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def stages() -> list[list[tuple[str, str]]]:
    found: list[list[tuple[str, str]]] = []
    for instruction in instructions():
        if instruction[0] == "FROM":
            found.append([])
        found[-1].append(instruction)
    return found


def test_every_external_base_is_python_310_slim_pinned_to_an_exact_release_or_digest() -> None:
    bases = [args.split()[0] for kind, args in instructions() if kind == "FROM"]
    stage_names = {args.split()[-1] for kind, args in instructions() if kind == "FROM" and " AS " in args.upper()}
    external = [b for b in bases if b not in stage_names]
    assert len(stages()) >= 2 and external
    for base in external:
        assert re.fullmatch(r"python:3\.10\.\d+-slim(-\w+)?(@sha256:[0-9a-f]{64})?", base), base


def test_the_image_runs_as_a_non_root_user_with_a_health_check_and_the_entrypoint() -> None:
    runtime = next(s for s in stages() if "AS runtime" in s[0][1])
    users = [args for kind, args in runtime if kind == "USER"]
    assert users and users[-1].split(":")[0] not in {"0", "root"}
    assert any(kind == "HEALTHCHECK" and "bot.production.healthcheck" in args for kind, args in runtime)
    assert any(kind == "ENTRYPOINT" and "entrypoint.sh" in args for kind, args in runtime)
    assert any(
        kind == "RUN" and "pip install -r /tmp/requirements.txt" in args for kind, args in instructions()
    )  # the pinned requirements, nothing floating
    assert os.stat(ENTRYPOINT).st_mode & stat.S_IXUSR


def test_no_secret_goes_into_the_image() -> None:
    for kind, args in instructions():
        if kind in {"ENV", "ARG", "LABEL"}:
            assert not re.search(r"(TOKEN|SECRET|PASSWORD)\w*=", args, re.IGNORECASE), args
    ignored = (REPO_ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    for pattern in (".env", "deploy/*.env", ".git", "var"):
        assert pattern in ignored, pattern


@pytest.fixture
def fake_python(tmp_path: Path) -> dict[str, str]:
    """PATH with a `python` that prints its arguments instead of starting a server."""
    fake = tmp_path / "python"
    fake.write_text('#!/bin/sh\necho "python $*"\n', encoding="utf-8")
    fake.chmod(0o755)
    return dict(os.environ, PATH=f"{tmp_path}:{os.environ['PATH']}", RASA_TOKEN="t0k")


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (
            "rasa",
            "python -m rasa run --enable-api --auth-token t0k --model /app/models/model.tar.gz "
            "--endpoints deploy/endpoints.production.yml --credentials credentials.yml --interface 0.0.0.0 "
            "--port 5005",
        ),
        ("actions", "python -m bot.action_server --actions actions --port 5055"),
        ("web", "python -m bot.web"),
        ("consumer", "python -m bot.production.consumer"),
        ("migrate", "python -m bot.production.migrate"),
        ("retention", "python -m bot.production.retention"),
        ("backup", "python -m bot backup --to /backups"),
    ],
)
def test_the_entrypoint_runs_the_role_it_is_given(fake_python: dict[str, str], role: str, expected: str) -> None:
    extra = ["--to", "/backups"] if role == "backup" else []
    done = subprocess.run(
        ["sh", str(ENTRYPOINT), role, *extra], env=fake_python, capture_output=True, text=True, timeout=10, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == expected


def test_rasa_sends_cors_headers_only_for_a_named_origin(fake_python: dict[str, str]) -> None:
    env = dict(fake_python, RASA_CORS_ORIGIN="https://zhushou.example.gov.cn")
    done = subprocess.run(
        ["sh", str(ENTRYPOINT), "rasa"], env=env, capture_output=True, text=True, timeout=10, check=False
    )
    assert done.stdout.strip().endswith("--port 5005 --cors https://zhushou.example.gov.cn")


def test_rasa_workers_become_sanic_workers_with_one_metrics_folder(tmp_path: Path, fake_python: dict[str, str]) -> None:
    shows_env = tmp_path / "python"
    shows_env.write_text('#!/bin/sh\necho "workers=${SANIC_WORKERS:-} metrics=${PROMETHEUS_MULTIPROC_DIR:-}"\n')
    for workers, expected in (
        ("2", "workers=2 metrics=/tmp/qhd-metrics"),
        ("1", "workers= metrics="),
        ("two", "workers=two metrics=/tmp/qhd-metrics"),  # passed on for bot.settings to refuse in Chinese
    ):
        env = dict(fake_python, RASA_WORKERS=workers)
        env.pop("SANIC_WORKERS", None)
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        done = subprocess.run(
            ["sh", str(ENTRYPOINT), "rasa"], env=env, capture_output=True, text=True, timeout=10, check=False
        )
        assert done.stdout.strip() == expected, done.stderr


def test_the_entrypoint_refuses_rasa_without_a_token_and_an_empty_role(fake_python: dict[str, str]) -> None:
    no_token = dict(fake_python, RASA_TOKEN="")
    done = subprocess.run(
        ["sh", str(ENTRYPOINT), "rasa"], env=no_token, capture_output=True, text=True, timeout=10, check=False
    )
    assert done.returncode != 0 and "RASA_TOKEN" in done.stderr
    assert (
        subprocess.run(
            ["sh", str(ENTRYPOINT)], env=fake_python, capture_output=True, timeout=10, check=False
        ).returncode
        == 2
    )


@pytest.mark.parametrize(
    ("cmdline", "role"),
    [
        (["python", "-m", "rasa", "run", "--enable-api"], "rasa"),
        (["python", "-m", "rasa_sdk", "--actions", "actions"], "actions"),
        (["python", "-m", "bot.action_server", "--actions", "actions"], "actions"),
        (["python", "-m", "bot.web"], "web"),
        (["python", "-m", "bot.production.consumer"], "consumer"),
        (["python", "-m", "bot.production.migrate"], "migrate"),
        (["sh"], ""),
    ],
)
def test_the_health_check_knows_the_role_from_the_process(cmdline: list[str], role: str) -> None:
    assert healthcheck.role_of(cmdline) == role


def test_the_consumer_is_healthy_only_with_a_fresh_heartbeat(tmp_path: Path) -> None:
    beat = tmp_path / "beat"
    assert not healthcheck.heartbeat_fresh(beat)
    beat.touch()
    assert healthcheck.heartbeat_fresh(beat)
    old = time.time() - 120
    os.utime(beat, (old, old))
    assert not healthcheck.heartbeat_fresh(beat)


def test_rasa_is_unhealthy_when_nothing_answers() -> None:
    from tests.support.servers import free_port

    assert not healthcheck.rasa_model_loaded(free_port(), "any")
