"""Restart the machine's PostgreSQL the documented way and make sure it is back afterwards."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from bot.production import pg


def _cluster_version() -> str:
    versions = sorted(os.listdir("/etc/postgresql")) if Path("/etc/postgresql").is_dir() else []
    if not versions or not shutil.which("pg_ctlcluster"):
        pytest.skip("PostgreSQL is not managed by pg_ctlcluster on this machine: restart test skipped")
    return versions[-1]


def pg_ctl(action: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", _cluster_version(), "main", action],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def restart(url: str) -> None:
    """Restart (fast shutdown: open connections are cut) and wait until it accepts connections."""
    done = pg_ctl("restart")
    if done.returncode != 0:
        pytest.fail(f"pg_ctlcluster restart failed: {done.stderr.strip()}")
    pg.wait_ready(url, timeout_s=60)


def ensure_running(url: str) -> None:
    """Clean-up: start PostgreSQL if a test left it down."""
    try:
        pg.wait_ready(url, timeout_s=3)
    except OperationalError:
        pg_ctl("start")
        pg.wait_ready(url, timeout_s=60)


def restart_in_background(delay_s: float) -> subprocess.Popen:
    """Begin a restart after `delay_s` without blocking (the caller keeps working meanwhile)."""
    version = _cluster_version()
    script = f"sleep {delay_s}; exec pg_ctlcluster --skip-systemctl-redirect {version} main restart"
    return subprocess.Popen(["sh", "-c", script], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_process(proc: subprocess.Popen, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    if proc.poll() is None:
        proc.kill()
        pytest.fail("PostgreSQL restart did not finish")
