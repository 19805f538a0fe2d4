"""`make run-production` with RASA_WORKERS=2 under supervisord: a worker killed with SIGKILL brings its
instance back whole, with both workers serving, and the chat answers again.

One instance of two workers (its own module, so it never shares the machine with the two-instance
launch of test_supervisor.py). Sanic alone would keep serving with the one worker left; bot.rasa_workers
stops the instance and supervisord restarts it.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from bot import rasa_workers
from bot.production import healthcheck
from bot.production.config import ProductionConfig
from tests.production.test_supervisor import SECRETS, Launched, launch, wait_back


@pytest.fixture(scope="module")
def two_workers(base_config: ProductionConfig, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Launched]:
    with launch(base_config, tmp_path_factory.mktemp("two-workers"), instances=1, workers=2, web=False) as stack:
        yield stack


def answered(base_url: str, sender: str) -> bool:
    response = requests.post(
        f"{base_url}/webhooks/rest/webhook",
        json={"sender": sender, "message": "农村低保标准是多少"},
        headers={"Authorization": f"Bearer {SECRETS['REST_TOKEN']}"},
        timeout=120,
    )
    return response.status_code == 200 and bool(response.json())


def test_a_killed_worker_brings_its_instance_back_with_both_workers(two_workers: Launched) -> None:
    config = two_workers.config
    metrics_port = config.metrics_port("rasa-1")
    sender = "supw-" + uuid.uuid4().hex[:10]
    assert healthcheck.workers_serving(metrics_port) == 2
    assert answered(two_workers.public_url, sender)

    main_pid = two_workers.info("rasa-1")["pid"]
    workers = rasa_workers.child_pids(main_pid)
    assert len(workers) == 2
    os.kill(min(workers), signal.SIGKILL)

    wait_back(two_workers, "rasa-1", main_pid, timeout_s=300)
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers), "a worker of the old instance lives on"
    deadline = time.monotonic() + 240
    while healthcheck.workers_serving(metrics_port) < 2:
        assert time.monotonic() < deadline, "the restarted instance never had both workers serving"
        time.sleep(1)
    assert len(rasa_workers.child_pids(two_workers.info("rasa-1")["pid"])) == 2
    assert answered(two_workers.public_url, sender)
    assert two_workers.proc.poll() is None, "the launcher exited"
