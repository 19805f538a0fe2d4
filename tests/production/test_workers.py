"""One Rasa instance of two worker processes (RASA_WORKERS=2) behind nginx, on the real services.

Turns from concurrent conversations are served by both workers, the instance's one metrics port counts
every worker's turns, and a worker killed with SIGKILL takes its instance down whole (so supervisord
restarts it with both workers) without leaving a process on the instance's port. The container probe
calls an instance ready only when every worker serves. The widget's websocket works; long-polling, whose
session one worker alone would know, is refused at the handshake.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from prometheus_client.mmap_dict import MmapedDict

from bot.production import healthcheck
from bot.production.cluster import Cluster, build
from bot.production.config import ProductionConfig
from tests.production import eio
from tests.production.conftest import clean_up, consecutive_free_ports, services_and_model, with_own_names
from tests.support.servers import free_port, random_secrets

SECRETS = random_secrets()
SCRIPT = ["你好", "农村低保标准是多少", "公益性岗位怎么报名", "谢谢"]
CONVERSATIONS = 8


@pytest.fixture(scope="module")
def instance(base_config: ProductionConfig, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    model = services_and_model()
    config = with_own_names(
        base_config,
        "w" + uuid.uuid4().hex[:6],
        instances=1,
        workers_per_instance=2,
        first_rasa_port=free_port(),
        public_port=free_port(),
        action_port=free_port(),
        web_port=free_port(),
        metrics_first_port=consecutive_free_ports(3),
    )
    config = config.with_(action_endpoint_url=f"http://127.0.0.1:{config.action_port}/webhook")
    stack = build(config, model, tmp_path_factory.mktemp("workers"), SECRETS)
    try:
        stack.start(web=False, consumer=False)
        yield stack
    finally:
        stack.stop_all()
        clean_up(config)


def say(base_url: str, sender: str, text: str) -> list[dict]:
    response = requests.post(
        f"{base_url}/webhooks/rest/webhook",
        json={"sender": sender, "message": text},
        headers={"Authorization": f"Bearer {SECRETS['REST_TOKEN']}"},
        timeout=120,
    )
    response.raise_for_status()
    return response.json()


def converse(base_url: str) -> int:
    sender = "workers-" + uuid.uuid4().hex[:10]
    answered = 0
    for text in SCRIPT:
        answered += bool(say(base_url, sender, text))
    return answered


def turns_by_worker(folder: Path) -> dict[str, float]:
    """qhd_turns_total per process file of the multiprocess folder (counter_<pid>.db)."""
    counts: dict[str, float] = {}
    for path in folder.glob("counter_*.db"):
        pid = path.stem.removeprefix("counter_")
        for key, value, _timestamp, _pos in MmapedDict.read_all_values_from_file(str(path)):
            _name, sample, _labels, _help = json.loads(key)
            if sample == "qhd_turns_total":
                counts[pid] = counts.get(pid, 0) + value
    return counts


def worker_pids(main_pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{main_pid}/task").glob("*/children"):
        found.update(int(p) for p in task.read_text().split())
    return found


def test_both_workers_serve_and_the_metrics_port_counts_every_turn(instance: Cluster) -> None:
    with ThreadPoolExecutor(max_workers=CONVERSATIONS) as pool:
        answered = list(pool.map(lambda _: converse(instance.public_url), range(CONVERSATIONS)))
    assert answered == [len(SCRIPT)] * CONVERSATIONS

    by_worker = turns_by_worker(instance.workdir / "metrics" / "rasa-1")
    served = {pid: n for pid, n in by_worker.items() if n}
    assert len(served) == 2, f"turns per worker process: {by_worker}"
    assert sum(served.values()) == CONVERSATIONS * len(SCRIPT)

    port = instance.config.metrics_port("rasa-1")
    exposed = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    total = re.search(r'^qhd_turns_total\{channel="rest"\} ([0-9.e+]+)$', exposed, re.MULTILINE)
    assert total, exposed[:2000]
    assert float(total.group(1)) == CONVERSATIONS * len(SCRIPT)


def test_the_container_probe_wants_every_worker_serving(instance: Cluster) -> None:
    port, token = instance.config.first_rasa_port, SECRETS["RASA_TOKEN"]
    metrics_port = instance.config.metrics_port("rasa-1")
    assert healthcheck.workers_serving(metrics_port) == 2
    assert healthcheck.rasa_ready(port, token, workers=2, metrics_port=metrics_port)
    # an instance told to run three workers that serves with two is not ready
    assert not healthcheck.rasa_ready(port, token, workers=3, metrics_port=metrics_port)
    assert not healthcheck.rasa_ready(port, "wrong-token", workers=2, metrics_port=metrics_port)


def test_the_widget_chats_over_websocket_and_long_polling_is_refused_at_once(instance: Cluster) -> None:
    from bot.web.widget import mint_token

    who = "workers-" + uuid.uuid4().hex[:10]

    async def websocket_turn() -> list[dict]:
        async with eio.WebSocketClient(instance.public_url, mint_token(who, SECRETS["JWT_SECRET"])) as client:
            await client.emit("user_uttered", {"message": "农村低保标准是多少", "session_id": "ignored"})
            return await client.events("bot_uttered", timeout=60)

    replies = asyncio.run(websocket_turn())
    assert replies and all(r.get("text") for r in replies)
    # a long-polling session lives in the worker that opened it and the next poll may reach the other one:
    # refused on the handshake, never accepted and then lost
    for _ in range(4):
        handshake = requests.get(
            f"{instance.public_url}/socket.io/", params={"EIO": "4", "transport": "polling"}, timeout=30
        )
        assert handshake.status_code == 400, handshake.text[:200]


def test_a_killed_worker_takes_its_instance_down_and_frees_the_port(instance: Cluster) -> None:
    main = instance.children["rasa-1"].proc
    workers = worker_pids(main.pid)
    assert len(workers) == 2
    os.kill(sorted(workers)[0], signal.SIGKILL)
    main.wait(timeout=60)  # supervisord (make run-production) restarts an instance whose main process exited
    deadline = time.monotonic() + 30
    while any(Path(f"/proc/{pid}").exists() for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers), "a worker outlived its instance"
    with socket.socket() as probe:  # a restarted instance can bind its port again
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", instance.config.first_rasa_port))
