"""Run the retention purge (`python -m bot db purge --tracker-days N`) on a schedule.

The purge itself belongs to the store (bot.store.cli_db); the launcher only decides when: once at
start and then every RETENTION_EVERY_HOURS. It runs as a separate short process so a slow DELETE never
stalls the launcher, and its outcome is logged rather than raised: a failed purge is retried at the
next interval and never takes the assistant down.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
from collections.abc import Callable

from bot.logs import setup_logging
from bot.production.config import ProductionConfig
from bot.settings import REPO_ROOT, child_environment

logger = logging.getLogger(__name__)


def purge_command(days: int, tracker_url: str | None = None) -> list[str]:
    """Every retention period (our tables and the tracker's events), see bot/store/retention.py."""
    cmd = [sys.executable, "-m", "bot", "db", "purge", "--tracker-days", str(days)]
    return cmd + (["--tracker-url", tracker_url] if tracker_url else [])


def run_purge(
    days: int, env: dict[str, str], tracker_url: str | None = None, timeout_s: float = 1800
) -> subprocess.CompletedProcess:
    """One purge; returns the finished process (returncode 0 = done)."""
    return subprocess.run(
        purge_command(days, tracker_url),
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


class RetentionScheduler:
    """Background thread: purge now, then every `every_hours`, until `stop()`."""

    def __init__(
        self,
        days: int,
        every_hours: float,
        env: dict[str, str],
        tracker_url: str | None = None,
        report: Callable[[str], None] = print,
    ) -> None:
        self.days = days
        self.interval_s = max(60.0, every_hours * 3600)
        self.env = env
        self.tracker_url = tracker_url
        self.report = report
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="retention", daemon=True)
        self.runs = 0

    def start(self) -> None:
        self._thread.start()

    def run_forever(self) -> None:
        """The same schedule in the calling thread (the supervised `retention` program)."""
        self._loop()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                done = run_purge(self.days, self.env, self.tracker_url)
                message = (done.stdout or done.stderr).strip()
                self.report(
                    f"数据保留：{message}" if done.returncode == 0 else f"数据保留失败（将于下次重试）：{message}"
                )
            except (OSError, subprocess.SubprocessError) as error:
                self.report(f"数据保留失败（将于下次重试）：{error}")
            self.runs += 1
            self._stop.wait(self.interval_s)


def main() -> int:
    """`python -m bot.production.retention`: purge now and every RETENTION_EVERY_HOURS until SIGTERM.

    supervisord runs this as its own program, so a purge that fails or hangs never touches the chat.
    """
    setup_logging()
    config = ProductionConfig.from_env()
    scheduler = RetentionScheduler(
        config.retention_days,
        config.retention_every_hours,
        child_environment(),
        config.tracker_db_url,
        report=lambda line: print(line, flush=True),
    )
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: scheduler._stop.set())
    scheduler.run_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
