"""Keep the embedded profile's children running: restart a crashed one with back-off, say so in Chinese.

`make run` (bot.runner) is how small offices run the assistant, on one machine and without a system
supervisor, so it supervises its three children itself. This is deliberately not supervisord (which
`make run-production` uses, bot.production.supervisor): the embedded profile must stay one foreground
command with no daemon, socket or config file to manage, and its output is read by office staff, so
every restart is announced in their language:

    动作服务器意外退出（退出码 -9），1 秒后重启（第 1 次）
    动作服务器已重启

Back-off: the n-th restart in a row waits first_s * 2**(n-1) seconds, at most max_s; a child that
stayed up for reset_after_s counts as healthy again, so a crash next week starts over at first_s.
Only the caller (Ctrl-C / SIGTERM in bot.runner) stops everything.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import requests


@dataclass(frozen=True)
class BackOff:
    """How long to wait before the n-th consecutive restart of one child."""

    first_s: float = 1.0
    max_s: float = 30.0
    reset_after_s: float = 60.0

    def delay(self, attempt: int) -> float:
        return min(self.max_s, self.first_s * 2 ** max(0, attempt - 1))


Spawn = Callable[[list[str]], subprocess.Popen]


@dataclass
class Child:
    """One supervised process: its command, how to tell it is ready, and its restart bookkeeping."""

    name: str
    command: list[str]
    ready_url: str
    proc: subprocess.Popen | None = None
    started_at: float = 0.0
    attempts: int = 0  # consecutive restarts since it was last healthy for reset_after_s
    restart_at: float | None = None
    announced_ready: bool = True


@dataclass
class Restarter:
    """Polls the children (call `tick()` about once a second) and restarts the ones that exited."""

    spawn: Spawn
    backoff: BackOff = field(default_factory=BackOff)
    report: Callable[[str], None] = print
    clock: Callable[[], float] = time.monotonic
    children: dict[str, Child] = field(default_factory=dict)

    def start(self, name: str, command: list[str], ready_url: str = "") -> Child:
        child = Child(name, command, ready_url)
        self.children[name] = child
        self._launch(child)
        return child

    def _launch(self, child: Child) -> None:
        child.proc = self.spawn(child.command)
        child.started_at = self.clock()
        child.restart_at = None

    def tick(self) -> None:
        now = self.clock()
        for child in self.children.values():
            proc = child.proc
            if child.restart_at is not None:
                if now >= child.restart_at:
                    self._launch(child)
                    child.announced_ready = False
                continue
            if proc is None:
                continue
            code = proc.poll()
            if code is None:
                if now - child.started_at >= self.backoff.reset_after_s:
                    child.attempts = 0
                if not child.announced_ready and self._ready(child):
                    child.announced_ready = True
                    self.report(f"{child.name}已重启")
                continue
            child.attempts += 1
            wait = self.backoff.delay(child.attempts)
            child.restart_at = now + wait
            self.report(f"{child.name}意外退出（退出码 {code}），{wait:g} 秒后重启（第 {child.attempts} 次）")

    @staticmethod
    def _ready(child: Child) -> bool:
        if not child.ready_url:
            return True
        try:
            return requests.get(child.ready_url, timeout=1).status_code < 500
        except requests.RequestException:
            return False

    def stop_all(self, grace_s: float = 15) -> None:
        """SIGTERM to every child's process group, SIGKILL to those still running after `grace_s`."""
        procs = [c.proc for c in self.children.values() if c.proc is not None]
        for child in self.children.values():
            child.restart_at = None
        for proc in procs:
            if proc.poll() is None:
                _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for proc in procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                proc.wait()


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass
