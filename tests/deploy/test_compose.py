"""deploy/compose.yml: parses, every service has an image, a command and a health check, no secret is in
it, and only nginx is published, forwarding the chat paths and the web app (never Rasa's API)."""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml

from bot.settings import REPO_ROOT

COMPOSE = REPO_ROOT / "deploy" / "compose.yml"
NGINX = REPO_ROOT / "deploy" / "compose" / "nginx.conf"
ENV_EXAMPLE = REPO_ROOT / "deploy" / "production.env.example"
SECRET_NAMES = (
    "RASA_TOKEN",
    "JWT_SECRET",
    "WEB_SECRET",
    "POSTGRES_PASSWORD",
    "REDIS_PASSWORD",
    "RABBITMQ_DEFAULT_PASS",
    "RABBITMQ_PASSWORD",
)


@pytest.fixture(scope="module")
def services() -> dict[str, dict]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]  # `<<:` merges resolved here


def test_every_service_has_an_image_a_command_and_a_health_check(services: dict[str, dict]) -> None:
    assert {
        "postgres",
        "redis",
        "rabbitmq",
        "migrate",
        "rasa-1",
        "rasa-2",
        "actions",
        "web",
        "consumer",
        "nginx",
    } <= set(services)
    for name, service in services.items():
        assert service.get("image"), name
        assert service.get("command"), name
        test = service.get("healthcheck", {}).get("test")
        assert test and test[0] in {"CMD", "CMD-SHELL"}, name


def test_app_roles_use_the_one_image_and_wait_for_the_migration(services: dict[str, dict]) -> None:
    roles = {name: s["command"][0] for name, s in services.items() if s.get("build")}
    assert roles == {
        "migrate": "migrate",
        "rasa-1": "rasa",
        "rasa-2": "rasa",
        "actions": "actions",
        "web": "web",
        "consumer": "consumer",
        "retention": "retention",
    }
    assert len({services[name]["image"] for name in roles}) == 1
    for name in roles.keys() - {"migrate"}:
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}, name
    assert services["migrate"]["restart"] == "no"


def test_no_secret_is_written_in_the_compose_file(services: dict[str, dict]) -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    for name in SECRET_NAMES:
        assert not re.search(rf"{name}\s*[:=]\s*\S", text), f"{name} has a value in compose.yml"
    for name, service in services.items():
        if name != "nginx":
            assert service.get("env_file") == ["production.env"], name
        environment = service.get("environment") or {}
        assert not [k for k in environment if any(w in k for w in ("TOKEN", "SECRET", "PASSWORD"))], name
    assert "deploy/production.env" in (REPO_ROOT / ".gitignore").read_text(encoding="utf-8")
    ignored = subprocess.run(["git", "check-ignore", "-q", "deploy/production.env"], cwd=REPO_ROOT, check=False)
    assert ignored.returncode == 0


def test_the_env_example_names_every_secret_without_a_value() -> None:
    values = dict(
        line.split("=", 1)
        for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    )
    for name in SECRET_NAMES:
        assert values.get(name, None) == "", name


def test_redis_requires_a_password(services: dict[str, dict]) -> None:
    assert "--requirepass" in " ".join(services["redis"]["command"])


def locations(text: str) -> dict[str, str]:
    """nginx `location` match -> its whole block (nested braces included)."""
    found = {}
    for match in re.finditer(r"location\s+([^{]+?)\s*\{", text):
        depth, end = 1, match.end()
        while depth:
            depth += {"{": 1, "}": -1}.get(text[end], 0)
            end += 1
        found[match.group(1).replace(" ", "")] = text[match.end() : end]
    return found


def test_only_nginx_is_published_and_it_never_forwards_rasas_api(services: dict[str, dict]) -> None:
    assert [name for name, s in services.items() if s.get("ports")] == ["nginx"]
    public, private = NGINX.read_text(encoding="utf-8").split("# Private:")
    blocks = locations(public)
    to_rasa = sorted(m for m, body in blocks.items() if re.search(r"proxy_pass http://\$?(rasa_|socketio_pool)", body))
    assert to_rasa == ["/socket.io/", "=/webhooks/rest/webhook"]
    assert "proxy_pass http://web;" in blocks["/"]
    assert "listen 5005" in private and "5005" not in str(services["nginx"]["ports"])
    for name in ("rasa-1", "rasa-2"):  # every instance in both upstreams
        assert public.count(f"server {name}:5005") == 2
