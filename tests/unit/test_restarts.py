"""The embedded profile's watcher: a crashed child comes back after a growing pause, announced in Chinese."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from bot.restarts import BackOff, Restarter

SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def spawn(cmd: list[str]) -> subprocess.Popen:
    return subprocess.Popen(cmd, start_new_session=True)


def crash(restarter: Restarter, name: str) -> int:
    proc = restarter.children[name].proc
    assert proc is not None
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    return proc.pid


def test_back_off_doubles_up_to_the_cap() -> None:
    backoff = BackOff(first_s=1, max_s=30)
    assert [backoff.delay(n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]


def test_a_crashed_child_is_restarted_with_growing_pauses_and_the_others_keep_running() -> None:
    clock, lines = FakeClock(), []
    restarter = Restarter(spawn, BackOff(first_s=3, max_s=30, reset_after_s=60), lines.append, clock)
    try:
        restarter.start("动作服务器", SLEEPER)
        restarter.start("网页应用", SLEEPER)
        web_pid = restarter.children["网页应用"].proc.pid
        first_pid = crash(restarter, "动作服务器")

        restarter.tick()
        assert lines == ["动作服务器意外退出（退出码 -9），3 秒后重启（第 1 次）"]
        clock.now += 2.9
        restarter.tick()
        assert restarter.children["动作服务器"].restart_at is not None  # still waiting
        clock.now += 0.2
        restarter.tick()
        second = restarter.children["动作服务器"].proc
        assert second.pid != first_pid and second.poll() is None
        restarter.tick()
        assert lines[-1] == "动作服务器已重启"

        crash(restarter, "动作服务器")
        clock.now += 1
        restarter.tick()
        assert lines[-1] == "动作服务器意外退出（退出码 -9），6 秒后重启（第 2 次）"
        assert (
            restarter.children["网页应用"].proc.pid == web_pid and restarter.children["网页应用"].proc.poll() is None
        )  # never touched
    finally:
        restarter.stop_all(grace_s=5)
    assert all(c.proc.poll() is not None for c in restarter.children.values())


def test_a_child_that_stayed_up_long_enough_starts_over_at_the_first_pause() -> None:
    clock, lines = FakeClock(), []
    restarter = Restarter(spawn, BackOff(first_s=1, max_s=30, reset_after_s=60), lines.append, clock)
    try:
        restarter.start("分析消费者", SLEEPER)
        for _ in range(3):  # three quick crashes: 1, 2, 4 seconds
            crash(restarter, "分析消费者")
            restarter.tick()
            clock.now += 5
            restarter.tick()
        assert lines[-1].endswith("4 秒后重启（第 3 次）")
        clock.now += 61  # healthy for a minute
        restarter.tick()
        crash(restarter, "分析消费者")
        restarter.tick()
        assert lines[-1] == "分析消费者意外退出（退出码 -9），1 秒后重启（第 1 次）"
    finally:
        restarter.stop_all(grace_s=5)
