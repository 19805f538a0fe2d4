"""The supervisord config generated for `make run-production`: every program, restart settings, no secret."""

from __future__ import annotations

import configparser
from pathlib import Path

from bot.production.cluster import build
from bot.production.config import ProductionConfig
from bot.production.supervisor import START_RETRIES, programs, render

TOKEN = "config-test-token-not-real"


METRICS_FIRST_PORT = 9100  # only rendered here, never opened


def rendered(
    base_config: ProductionConfig, tmp_path: Path, instances: int = 3, workers: int = 1
) -> configparser.RawConfigParser:
    config = base_config.with_(instances=instances, workers_per_instance=workers, metrics_first_port=METRICS_FIRST_PORT)
    cluster = build(
        config,
        tmp_path / "model.tar.gz",
        tmp_path / "work",
        {"RASA_TOKEN": TOKEN, "JWT_SECRET": "j" * 32, "WEB_SECRET": "w" * 16},
    )
    conf = render(cluster, programs(cluster))
    assert TOKEN not in conf.read_text(encoding="utf-8")  # the token stays in the environment
    assert conf.stat().st_mode & 0o077 == 0
    parser = configparser.RawConfigParser()
    parser.read(conf, encoding="utf-8")
    return parser


def test_every_program_of_the_profile_is_supervised(base_config: ProductionConfig, tmp_path: Path) -> None:
    parser = rendered(base_config, tmp_path)
    names = sorted(s.removeprefix("program:") for s in parser.sections() if s.startswith("program:"))
    assert names == ["actions", "consumer", "nginx", "rasa-1", "rasa-2", "rasa-3", "retention", "web"]
    ports = [parser.get(f"program:rasa-{i}", "command").split("--port ")[1].split()[0] for i in (1, 2, 3)]
    assert ports == [str(p) for p in base_config.with_(instances=3).rasa_ports]
    # no secret on a command line (`ps` shows it): Rasa's API token comes from the environment's settings
    assert "--auth-token" not in parser.get("program:rasa-1", "command")
    metrics_ports = {
        name: parser.get(f"program:{name}", "environment")
        for name in ("actions", "consumer", "rasa-1", "rasa-2", "rasa-3")
    }
    first = METRICS_FIRST_PORT
    assert metrics_ports == {
        "actions": f'METRICS_PORT="{first}"',
        "consumer": f'METRICS_PORT="{first + 1}"',
        "rasa-1": f'METRICS_PORT="{first + 2}"',
        "rasa-2": f'METRICS_PORT="{first + 3}"',
        "rasa-3": f'METRICS_PORT="{first + 4}"',
    }


def test_every_program_restarts_with_back_off_and_stops_as_a_group(
    base_config: ProductionConfig, tmp_path: Path
) -> None:
    parser = rendered(base_config, tmp_path, instances=1)
    for section in (s for s in parser.sections() if s.startswith("program:")):
        assert parser.get(section, "autorestart") == "true", section
        assert parser.getint(section, "startretries") == START_RETRIES >= 30, section
        assert parser.get(section, "stopasgroup") == parser.get(section, "killasgroup") == "true", section
    # the balancer and the web app stop first (highest priority number), the action server last
    assert (
        parser.getint("program:nginx", "priority")
        > parser.getint("program:rasa-1", "priority")
        > parser.getint("program:actions", "priority")
    )
    assert parser.get("unix_http_server", "chmod") == "0700"


def test_an_instance_of_two_workers_adds_up_their_metrics_and_gets_a_connection_per_request(
    base_config: ProductionConfig, tmp_path: Path
) -> None:
    parser = rendered(base_config, tmp_path, instances=2, workers=2)
    environments = [parser.get(f"program:rasa-{i}", "environment") for i in (1, 2)]
    folders = [tmp_path.resolve() / "work" / "metrics" / f"rasa-{i}" for i in (1, 2)]
    assert environments == [
        f'METRICS_PORT="{METRICS_FIRST_PORT + 2}",SANIC_WORKERS="2",PROMETHEUS_MULTIPROC_DIR="{folders[0]}"',
        f'METRICS_PORT="{METRICS_FIRST_PORT + 3}",SANIC_WORKERS="2",PROMETHEUS_MULTIPROC_DIR="{folders[1]}"',
    ]
    assert "SANIC_WORKERS" not in parser.get("program:actions", "environment")
    # kept upstream connections would pin turns on whichever worker accepted them (bot.production.nginx)
    nginx_conf = (tmp_path / "work" / "nginx" / "nginx.conf").read_text(encoding="utf-8")
    assert "keepalive" not in nginx_conf

    one_worker = rendered(base_config, tmp_path / "one", instances=2, workers=1)
    assert "SANIC_WORKERS" not in one_worker.get("program:rasa-1", "environment")
    assert "keepalive 32;" in (tmp_path / "one" / "work" / "nginx" / "nginx.conf").read_text(encoding="utf-8")
