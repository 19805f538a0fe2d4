"""Start, watch and stop the production layout on one machine.

    nginx 127.0.0.1:5005 ──> rasa run :5006, :5007, ...  ──> action server :5055
                                 │ tracker: PostgreSQL qhd_tracker   lock: Redis   events: RabbitMQ
    web app :8000 (PostgreSQL qhd_app)        analytics consumer: RabbitMQ -> qhd_analytics_events

Used by the launcher (`python -m bot.production.launcher`), the production tests and bench/load.py,
so all three run exactly the same processes. Each child runs in its own process group with its log in
the work folder; stopping sends SIGTERM to the group, then SIGKILL after a grace period.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from bot.production import healthcheck, migrate, nginx
from bot.production.config import ENDPOINTS_FILE, ProductionConfig
from bot.production.nginx import UPSTREAM_KEEPALIVE
from bot.runner import actions_command, rasa_command, rasa_env
from bot.settings import REPO_ROOT

PYTHON = sys.executable
WARM_UP_TEXT = "农村低保标准是多少"


def answers(url: str) -> bool:
    """The URL answers with anything but a server error (a child is up)."""
    try:
        return requests.get(url, timeout=2).status_code < 500
    except requests.RequestException:
        return False


class StartError(RuntimeError):
    """A child did not become ready; the message (Chinese) names it and its log file."""


@dataclass
class Child:
    name: str
    proc: subprocess.Popen
    ready_url: str
    log: Path


@dataclass
class Cluster:
    """The processes of the production profile on this machine.

    `env` is the complete environment of the children (ProductionConfig.child_env() plus the
    secrets); `workdir` holds their logs and the rendered nginx config.
    """

    config: ProductionConfig
    model: Path
    workdir: Path
    env: dict[str, str]
    credentials: Path = REPO_ROOT / "credentials.yml"
    children: dict[str, Child] = field(default_factory=dict)

    @property
    def token(self) -> str:
        return self.env.get("RASA_TOKEN", "")

    @property
    def public_url(self) -> str:
        return f"http://{self.config.public_host}:{self.config.public_port}"

    def rasa_url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.config.rasa_ports[index]}"

    # --- preparation -------------------------------------------------------------------------
    def prepare_databases(self) -> None:
        """Create both PostgreSQL databases when missing and migrate ours to head."""
        migrate.prepare_databases(self.config)

    # --- children ----------------------------------------------------------------------------
    def spawn(self, name: str, cmd: list[str], ready_url: str, extra_env: dict[str, str] | None = None) -> Child:
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = self.workdir / f"{name}.log"
        env = {**self.env, **(extra_env or {})}
        with open(log, "ab") as out:
            proc = subprocess.Popen(
                cmd, cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        child = Child(name, proc, ready_url, log)
        self.children[name] = child
        return child

    def wait_ready(self, names: list[str], timeout_s: float = 300) -> None:
        """Block until every named child answers its ready URL (or no URL: is still alive)."""
        deadline = time.monotonic() + timeout_s
        pending = list(names)
        while pending:
            for name in list(pending):
                child = self.children[name]
                if child.proc.poll() is not None:
                    tail = child.log.read_text(errors="replace")[-2000:] if child.log.exists() else ""
                    raise StartError(f"{name} 启动失败（退出码 {child.proc.returncode}），日志 {child.log}：\n{tail}")
                if not child.ready_url or answers(child.ready_url):
                    pending.remove(name)
            if pending and time.monotonic() > deadline:
                raise StartError(f"{', '.join(pending)} 在 {timeout_s:.0f} 秒内没有就绪")
            if pending:
                time.sleep(0.5)

    # --- what each child runs (shared with the supervisord config, bot.production.supervisor) ---
    def actions_command(self) -> tuple[list[str], str]:
        port = str(self.config.action_port)
        return actions_command(port), f"http://127.0.0.1:{port}/health"

    def rasa_command(self, index: int) -> tuple[list[str], str]:
        port = self.config.rasa_ports[index]
        web = f"http://{self.env.get('WEB_HOST', '127.0.0.1')}:{self.config.web_port}"
        return (
            rasa_command(
                self.model, "127.0.0.1", port, web, credentials=str(self.credentials), endpoints=str(ENDPOINTS_FILE)
            ),
            f"http://127.0.0.1:{port}/",
        )

    def instance_env(self, index: int) -> dict[str, str]:
        """What one Rasa instance's environment adds to the shared one (here and under supervisord): its
        metrics port, its worker count (Rasa's SANIC_WORKERS) and, with several workers and a metrics
        port, the folder where the workers add up their metrics (bot.metrics)."""
        name = f"rasa-{index + 1}"
        env = self.metrics_env(name)
        if self.config.workers_per_instance > 1:
            env["SANIC_WORKERS"] = str(self.config.workers_per_instance)
            if "METRICS_PORT" in env:
                env["PROMETHEUS_MULTIPROC_DIR"] = str(self.workdir.resolve() / "metrics" / name)
        return env

    def metrics_env(self, program: str) -> dict[str, str]:
        """METRICS_PORT of a program of this machine (actions, consumer, rasa-i), or {} without one."""
        port = self.config.metrics_port(program)
        return {"METRICS_PORT": str(port)} if port else {}

    def consumer_command(self) -> tuple[list[str], str]:
        return [PYTHON, "-m", "bot.production.consumer"], ""

    def web_command(self) -> tuple[list[str], str]:
        return [PYTHON, "-m", "bot.web"], f"http://127.0.0.1:{self.config.web_port}/healthz"

    def nginx_command(self) -> tuple[list[str], str]:
        """Render and check nginx's config (in workdir/nginx), then the command that serves it."""
        conf = nginx.render(
            self.workdir / "nginx",
            self.config.public_host,
            self.config.public_port,
            self.config.rasa_ports,
            read_timeout_s=max(120, self.config.lock_lifetime_s + 60),
            access_log=True,
            # an instance's workers share its port: a new connection goes to a waiting worker (nginx.render)
            upstream_keepalive=0 if self.config.workers_per_instance > 1 else UPSTREAM_KEEPALIVE,
        )
        nginx.check(conf)
        return nginx.command(conf), f"{self.public_url}/nginx-health"

    def start_actions(self) -> str:
        self.spawn("actions", *self.actions_command())
        return "actions"

    def start_rasa(self, index: int) -> str:
        name = f"rasa-{index + 1}"
        self.spawn(name, *self.rasa_command(index), extra_env=self.instance_env(index))
        return name

    def start_consumer(self) -> str:
        self.spawn("consumer", *self.consumer_command())
        return "consumer"

    def start_web(self) -> str:
        self.spawn("web", *self.web_command())
        return "web"

    def start_nginx(self) -> str:
        self.spawn("nginx", *self.nginx_command())
        return "nginx"

    def warm_up(self, index: int, timeout_s: float = 180) -> None:
        """One parse per instance so jieba and the graph are loaded before the first resident turn.

        Rasa answers HTTP before its model is loaded (409 until then): wait for the model, not the port.
        An instance of several workers answers as soon as one of them has its model; its metrics port
        tells when all of them do (bot.rasa_workers).
        """
        deadline = time.monotonic() + timeout_s
        name = f"rasa-{index + 1}"
        while True:
            answer = requests.post(
                f"{self.rasa_url(index)}/model/parse",
                json={"text": WARM_UP_TEXT},
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=120,
            )
            if answer.status_code == 200:
                break
            child = self.children.get(name)
            if answer.status_code != 409 or time.monotonic() > deadline or (child and child.proc.poll() is not None):
                log = child.log if child else self.workdir
                raise StartError(f"{name} 没有加载模型（HTTP {answer.status_code}：{answer.text[:200]}），日志 {log}")
            time.sleep(1)
        self.wait_for_workers(index, deadline)

    def wait_for_workers(self, index: int, deadline: float) -> None:
        """Until every worker of instance `index` serves (qhd_rasa_workers_serving on its metrics port);
        without a metrics port there is nothing to ask, and the instance serves with those it has."""
        workers = self.config.workers_per_instance
        port = self.config.metrics_port(f"rasa-{index + 1}")
        if workers == 1 or not port:
            return
        serving = 0.0
        while time.monotonic() < deadline:
            serving = healthcheck.workers_serving(port)
            if serving >= workers:
                return
            time.sleep(1)
        raise StartError(f"rasa-{index + 1} 只有 {serving:.0f} / {workers} 个工作进程在服务，日志 {self.workdir}")

    def start(self, web: bool = True, consumer: bool = True, balancer: bool = True) -> None:
        """Everything, in dependency order; on failure the children already started are stopped."""
        count = self.config.instances
        try:
            self.prepare_databases()
            first = [self.start_actions()] + ([self.start_consumer()] if consumer else [])
            rasa = [self.start_rasa(i) for i in range(count)]
            self.wait_ready(first + rasa)
            for i in range(count):
                self.warm_up(i)
            rest = ([self.start_nginx()] if balancer else []) + ([self.start_web()] if web else [])
            self.wait_ready(rest, timeout_s=60)
        except BaseException:
            self.stop_all()
            raise

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Send `sig` to a child's process group and wait for it (tests: an instance crashing)."""
        child = self.children.pop(name, None)
        if child is None or child.proc.poll() is not None:
            return
        try:
            os.killpg(child.proc.pid, sig)
            child.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(child.proc.pid, signal.SIGKILL)
            child.proc.wait()
        except ProcessLookupError:
            pass

    def stop_all(self) -> None:
        """SIGTERM to every child (the balancer first, so nothing new arrives), then wait."""
        order = sorted(self.children, key=lambda n: (n != "nginx", n != "web"))
        for name in order:
            self.kill(name, signal.SIGTERM)

    def dead_children(self) -> list[str]:
        return [n for n, c in self.children.items() if c.proc.poll() is not None]


def build(config: ProductionConfig, model: Path, workdir: Path, secrets: dict[str, str]) -> Cluster:
    """A Cluster whose children get the production environment plus `secrets` (RASA_TOKEN, ...)."""
    env = config.child_env(rasa_env())
    env.update(secrets)  # every child reads the same values (ACTION_TOKEN also for endpoints.yml)
    env["RASA_PORT"] = str(config.public_port)  # the web app talks to Rasa through the balancer
    env["PYTHONPATH"] = str(REPO_ROOT)
    return Cluster(config=config, model=model, workdir=workdir, env=env)
