"""The production profile on one machine under supervisord (what `make run-production` runs).

supervisord, not a loop of ours, keeps the processes running: it restarts any program that exits, with
its linear back-off for one that keeps failing to start, and the programs are independent, so an
analytics consumer crash never takes the chat down. This module

- turns the Cluster's command definitions (bot.production.cluster, shared with the tests and
  bench/load.py) into programs: N Rasa instances, the action server, the analytics consumer, nginx, the
  web app and the retention job;
- renders deploy/supervisord.conf.template into the work folder (no secret in it: the Rasa token is
  written as supervisord's %(ENV_RASA_TOKEN)s and read from the environment it inherits);
- starts supervisord in the foreground, waits until everything answers, warms each Rasa instance up,
  and talks to supervisord over its private UNIX socket (XML-RPC) for status and process ids.

Operators use the same socket: `supervisorctl -c var/production/supervisord.conf status|restart NAME`.
"""

from __future__ import annotations

import shlex
import signal
import subprocess
import sys
import time
import xmlrpc.client
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import Environment, StrictUndefined
from supervisor.xmlrpc import SupervisorTransport

from bot.production.cluster import PYTHON, Cluster, StartError, answers
from bot.settings import REPO_ROOT

SUPERVISOR_TEMPLATE = REPO_ROOT / "deploy" / "supervisord.conf.template"
# Tries in a row before supervisord gives a program up (FATAL): 1 + 2 + ... + 60 s = half an hour of
# back-off, long enough to ride out a database or broker restart.
START_RETRIES = 60
TOKEN_PLACEHOLDER = "%(ENV_RASA_TOKEN)s"


@dataclass(frozen=True)
class Program:
    """One [program:x] section: what it runs, how to tell it is up, and when it starts and stops."""

    name: str
    argv: list[str]
    ready_url: str
    priority: int
    startsecs: int = 5
    stopwaitsecs: int = 20
    env: dict[str, str] = field(default_factory=dict)  # added to the environment supervisord inherits

    @property
    def environment(self) -> str:
        """`env` in supervisord's KEY="value",... form (`%` doubled: supervisord expands %(x)s)."""
        return ",".join(f'{key}="{value.replace("%", "%%")}"' for key, value in self.env.items())

    def command(self, token: str) -> str:
        """The argv as supervisord's command line: `%` doubled, the token replaced by its placeholder."""
        words = [TOKEN_PLACEHOLDER if token and word == token else word.replace("%", "%%") for word in self.argv]
        return " ".join(w if w == TOKEN_PLACEHOLDER else shlex.quote(w) for w in words)


def programs(cluster: Cluster, web: bool = True) -> list[Program]:
    """Every program of the profile, in start order (lower priority first; stop order is reversed)."""
    found = [Program("actions", *cluster.actions_command(), priority=100, env=cluster.metrics_env("actions"))]
    found += [
        Program(
            f"rasa-{i + 1}",
            *cluster.rasa_command(i),
            priority=200,
            startsecs=10,
            stopwaitsecs=30,
            env=cluster.instance_env(i),
        )
        for i in range(cluster.config.instances)
    ]
    found += [
        Program("consumer", *cluster.consumer_command(), priority=300, env=cluster.metrics_env("consumer")),
        Program("retention", [PYTHON, "-m", "bot.production.retention"], "", priority=300),
        Program("nginx", *cluster.nginx_command(), priority=400, startsecs=2),
    ]
    if web:
        found.append(Program("web", *cluster.web_command(), priority=400))
    return found


def render(cluster: Cluster, found: list[Program], template: Path = SUPERVISOR_TEMPLATE) -> Path:
    """Write <workdir>/supervisord.conf; returns its path."""
    workdir = cluster.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    env = Environment(undefined=StrictUndefined, keep_trailing_newline=True)
    text = env.from_string(template.read_text(encoding="utf-8")).render(
        workdir=str(workdir),
        directory=str(REPO_ROOT),
        startretries=START_RETRIES,
        programs=[
            {
                "name": p.name,
                "command": p.command(cluster.token),
                "priority": p.priority,
                "startsecs": p.startsecs,
                "stopwaitsecs": p.stopwaitsecs,
                "environment": p.environment,
            }
            for p in found
        ],
    )
    conf = workdir / "supervisord.conf"
    conf.write_text(text, encoding="utf-8")
    conf.chmod(0o600)
    return conf


def rpc(socket_path: Path) -> xmlrpc.client.ServerProxy:
    """supervisord's XML-RPC interface over its UNIX socket."""
    return xmlrpc.client.ServerProxy(
        "http://127.0.0.1", transport=SupervisorTransport(None, None, f"unix://{socket_path}")
    )


class Supervised:
    """supervisord running the profile's programs; `start()` returns once the chat answers."""

    def __init__(self, cluster: Cluster, web: bool = True) -> None:
        self.cluster = cluster
        self.web = web
        self.proc: subprocess.Popen | None = None
        self.programs: list[Program] = []

    @property
    def socket(self) -> Path:
        return self.cluster.workdir.resolve() / "supervisor.sock"

    @property
    def conf(self) -> Path:
        return self.cluster.workdir.resolve() / "supervisord.conf"

    def start(self, timeout_s: float = 300) -> None:
        self.cluster.prepare_databases()
        self.programs = programs(self.cluster, web=self.web)
        render(self.cluster, self.programs)
        log = self.cluster.workdir.resolve() / "supervisord.out"
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "supervisor.supervisord", "-c", str(self.conf)],
                cwd=REPO_ROOT,
                env=self.cluster.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.wait_ready([p for p in self.programs if p.ready_url], timeout_s)
        for index in range(self.cluster.config.instances):
            self.cluster.warm_up(index)

    def wait_ready(self, pending: list[Program], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        pending = list(pending)
        while pending:
            if self.proc is not None and self.proc.poll() is not None:
                raise StartError(f"supervisord 退出（退出码 {self.proc.returncode}），日志 {self.cluster.workdir}")
            pending = [program for program in pending if not answers(program.ready_url)]
            if pending and time.monotonic() > deadline:
                names = ", ".join(p.name for p in pending)
                raise StartError(f"{names} 在 {timeout_s:.0f} 秒内没有就绪，日志在 {self.cluster.workdir}")
            if pending:
                time.sleep(0.5)

    def info(self, name: str) -> dict:
        """supervisord's view of one program: statename (RUNNING, BACKOFF, ...), pid, start time."""
        return rpc(self.socket).supervisor.getProcessInfo(name)

    def wait(self) -> int:
        """Block until supervisord exits (it does not exit on its own while programs crash)."""
        assert self.proc is not None
        return self.proc.wait()

    def stop(self, timeout_s: float = 90) -> None:
        """SIGTERM to supervisord: it stops the programs in reverse priority (nginx and web first)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
