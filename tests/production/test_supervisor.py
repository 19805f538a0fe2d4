"""`make run-production` under supervisord: a crashed consumer and a crashed Rasa instance come back on
their own, and the chat answers throughout.

The launcher runs as `make run-production` would (same module, same supervisord config), on free ports
and fresh database, queue, exchange and lock-prefix names. A resident keeps chatting through nginx while
the consumer and then one Rasa instance are killed with SIGKILL. Each kill happens between two of the
resident's turns (a turn already inside the killed instance is lost with it: no balancer can re-send a
POST that may have been processed); every turn must get an answer.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from bot.production import healthcheck
from bot.production.config import ProductionConfig
from bot.production.supervisor import rpc
from bot.settings import REPO_ROOT
from tests.production.conftest import clean_up, consecutive_free_ports, services_and_model, with_own_names
from tests.support.servers import free_port, random_secrets

SECRETS = random_secrets()


class Launched:
    """The launcher process, its output, and supervisord's socket in its work folder."""

    def __init__(self, proc: subprocess.Popen, workdir: Path, config: ProductionConfig) -> None:
        self.proc, self.workdir, self.config = proc, workdir, config
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def public_url(self) -> str:
        return f"http://127.0.0.1:{self.config.public_port}"

    def wait_for_line(self, text: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while not any(text in line for line in self.lines):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"launcher never printed {text!r}:\n" + "\n".join(self.lines[-40:]))
            time.sleep(0.5)

    def info(self, name: str) -> dict:
        return rpc(self.workdir / "supervisor.sock").supervisor.getProcessInfo(name)


@contextmanager
def launch(
    base_config: ProductionConfig, workdir: Path, instances: int = 2, workers: int = 1, web: bool = True
) -> Iterator[Launched]:
    """`make run-production`'s launcher on free ports with this run's own names; stopped on exit."""
    model = services_and_model()
    config = with_own_names(
        base_config,
        "s" + uuid.uuid4().hex[:6],
        instances=instances,
        workers_per_instance=workers,
        first_rasa_port=consecutive_free_ports(instances),
        public_port=free_port(),
        action_port=free_port(),
        web_port=free_port(),
        metrics_first_port=consecutive_free_ports(2 + instances),
    )
    env = dict(
        os.environ,
        PROFILE="production",
        PYTHONPATH=str(REPO_ROOT),
        **SECRETS,
        DATABASE_URL=config.app_db_url,
        TRACKER_DB_URL=config.tracker_db_url,
        EVENTS_QUEUE=config.events_queue,
        EVENTS_EXCHANGE=config.events_exchange,
        LOCK_KEY_PREFIX=config.lock_key_prefix,
        RASA_PORT=str(config.public_port),
        RASA_FIRST_PORT=str(config.first_rasa_port),
        RASA_WORKERS=str(workers),
        ACTION_PORT=str(config.action_port),
        ACTION_ENDPOINT_URL=f"http://127.0.0.1:{config.action_port}/webhook",
        WEB_PORT=str(config.web_port),
        METRICS_FIRST_PORT=str(config.metrics_first_port),
        REDIS_PASSWORD=config.redis_password or "",
        REDIS_PORT=str(config.redis_port),
    )
    argv = [sys.executable, "-m", "bot.production.launcher", "--instances", str(instances)]
    argv += ["--model", str(model), "--workdir", str(workdir)] + ([] if web else ["--no-web"])
    proc = subprocess.Popen(
        argv,
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    stack = Launched(proc, workdir, config)
    try:
        stack.wait_for_line("按 Ctrl-C 停止全部服务", timeout_s=420)
        yield stack
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # the launcher stops supervisord, which stops all
            try:
                proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        clean_up(config)


@pytest.fixture(scope="module")
def launched(base_config: ProductionConfig, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Launched]:
    with launch(base_config, tmp_path_factory.mktemp("supervised")) as stack:
        yield stack


class Resident:
    """Chats through nginx in a loop; `turn_lock` lets the test act between two turns."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.sender = "sup-" + uuid.uuid4().hex[:10]
        self.turn_lock = threading.Lock()
        self.answered = 0
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        texts = ["农村低保标准是多少", "谢谢", "公益性岗位怎么报名"]
        i = 0
        while not self._stop.is_set():
            with self.turn_lock:
                try:
                    answer = requests.post(
                        f"{self.base_url}/webhooks/rest/webhook",
                        timeout=120,
                        headers={"Authorization": f"Bearer {SECRETS['REST_TOKEN']}"},
                        json={"sender": self.sender, "message": texts[i % len(texts)]},
                    )
                    if answer.status_code != 200 or not answer.json():
                        self.failures.append(f"HTTP {answer.status_code}: {answer.text[:200]}")
                    else:
                        self.answered += 1
                except requests.RequestException as error:
                    self.failures.append(repr(error))
            i += 1
            time.sleep(0.3)

    def __enter__(self) -> Resident:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=150)


def kill_between_turns(stack: Launched, resident: Resident, name: str, port: int | None = None) -> int:
    """SIGKILL the program's process group while no turn is in flight; returns the killed pid.

    With `port`, the next turn waits until the dying process no longer accepts connections: the kernel
    keeps its listening socket for a moment after the signal, and a turn accepted into that backlog is
    lost with the process (as a turn in flight at a real crash would be).
    """
    pid = stack.info(name)["pid"]
    assert pid > 0, f"{name} is not running: {stack.info(name)}"
    with resident.turn_lock:
        os.killpg(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while port and time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            except OSError:
                break
            time.sleep(0.05)
    return pid


def wait_back(stack: Launched, name: str, old_pid: int, timeout_s: float, ready_url: str = "") -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        info = stack.info(name)
        if info["statename"] == "RUNNING" and info["pid"] not in (0, old_pid):
            if not ready_url:
                return
            try:
                if requests.get(ready_url, timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
        time.sleep(0.5)
    pytest.fail(f"{name} did not come back within {timeout_s:.0f} s: {stack.info(name)}")


def scrape(port: int | None, metric: str) -> float:
    """Sum of one metric's samples on a process's Prometheus port."""
    from prometheus_client.parser import text_string_to_metric_families

    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == metric
    )


def analytics_rows(url: str, sender: str) -> int:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return conn.execute(
                sa.text("SELECT count(*) FROM qhd_analytics_events WHERE sender_id = :s"), {"s": sender}
            ).scalar_one()
    finally:
        engine.dispose()


def test_killed_consumer_and_rasa_instance_come_back_while_the_chat_answers(launched: Launched) -> None:
    config = launched.config
    with Resident(launched.public_url) as resident:
        time.sleep(3)
        assert resident.answered > 0, resident.failures

        consumer_pid = kill_between_turns(launched, resident, "consumer")
        wait_back(launched, "consumer", consumer_pid, timeout_s=60)
        # The new consumer drains the queue: the resident's turns keep arriving in the analytics table.
        before = analytics_rows(config.app_db_url, resident.sender)
        deadline = time.monotonic() + 60
        while analytics_rows(config.app_db_url, resident.sender) <= before and time.monotonic() < deadline:
            time.sleep(1)
        assert analytics_rows(config.app_db_url, resident.sender) > before, "the restarted consumer writes nothing"

        answered_before_kill = resident.answered
        rasa_pid = kill_between_turns(launched, resident, "rasa-1", port=config.first_rasa_port)
        time.sleep(5)
        assert resident.answered > answered_before_kill, "the chat stopped answering while rasa-1 was down"
        wait_back(launched, "rasa-1", rasa_pid, timeout_s=300, ready_url=f"http://127.0.0.1:{config.first_rasa_port}/")
        # the container health check says "ready" only once the model is loaded, and only with the token
        deadline = time.monotonic() + 180
        while not healthcheck.rasa_model_loaded(config.first_rasa_port, SECRETS["RASA_TOKEN"]):
            assert time.monotonic() < deadline, "the restarted rasa-1 never loaded its model"
            time.sleep(1)
        assert not healthcheck.rasa_model_loaded(config.first_rasa_port, "wrong-token")

    assert resident.failures == []
    turns = sum(scrape(config.metrics_port(name), "qhd_turns_total") for name in ("rasa-1", "rasa-2"))
    assert turns >= 1  # counted by the instances (rasa-1's count restarted at 0)
    assert launched.info("nginx")["statename"] == "RUNNING"
    assert launched.info("actions")["statename"] == "RUNNING"
    assert launched.proc.poll() is None, "the launcher exited"
