"""One Rasa instance with several worker processes (Rasa's SANIC_WORKERS): the instance lives and dies whole.

Why several workers: a Rasa process runs one turn at a time on one core (the GIL is held for about
17 ms of a turn, bench/results/turn_cpu.json), so an instance given two cores serves twice the turns
only with two processes. Rasa supports this itself: with SANIC_WORKERS > 1 and a lock store shared
between processes (our Redis lock store), Sanic 21.12's main process binds the port, forks the workers
(each loads the model, about 1 GiB) and then only waits for them (sanic.server.runners.serve_multiple).

What Sanic does not do, and this module adds:

- A worker that dies (the OOM killer, a crash in TensorFlow) is not replaced, and the instance goes on
  answering on its port with fewer workers: silently half an instance. The supervisor (supervisord,
  Kubernetes) watches only the main process. So a thread of the main process watches the workers; when
  one of them has gone, it stops the others (SIGTERM: Sanic's orderly shutdown) and the main process
  exits, and the supervisor restarts the instance with all its workers.
- A main process killed with SIGKILL leaves its workers running as orphans that keep the port, so the
  restarted instance could not bind it. Each worker asks the kernel for SIGTERM when its parent dies
  (prctl PR_SET_PDEATHSIG, Linux).

Metrics of all workers are added up by prometheus_client's multiprocess mode (bot.metrics), since the
metrics port is opened by the main process, before the fork.

Readiness: a worker accepts connections only once its model is loaded, so an instance whose port
answers may still be loading the rest. Each worker sets the gauge qhd_rasa_workers_serving to 1 when it
starts serving (`serving`, a listener on our channels' blueprints), and the instance's metrics port shows
how many do; the launcher waits for all of them (bot.production.cluster.Cluster.warm_up).

`install_from_env()` is called in the main process by bot.channels.startup, before Sanic forks.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import threading
import time
from pathlib import Path

from prometheus_client.multiprocess import mark_process_dead

from bot.metrics import metrics
from bot.settings import env_settings

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
POLL_S = 0.5
SETTLE_S = 2.0  # Sanic forks every worker within milliseconds of the first

_installed = False


def sanic_workers() -> int:
    """The worker count Rasa will use (SANIC_WORKERS; a value that is not a number is refused, in Chinese,
    by bot.settings when the Rasa process starts)."""
    return max(1, env_settings().sanic_workers)


def child_pids(pid: int | None = None) -> set[int]:
    """The live children of `pid` (default: this process); exited ones not yet reaped are left out."""
    proc = Path(f"/proc/{pid or os.getpid()}/task")
    found: set[int] = set()
    for task in proc.glob("*/children"):
        try:
            found.update(int(word) for word in task.read_text().split())
        except OSError:  # a thread that ended between the listing and the read
            continue
    return {child for child in found if _is_running(child)}


def _is_running(pid: int) -> bool:
    """The process exists and has not exited (a zombie waiting to be reaped has exited)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    state = stat.rsplit(")", 1)[1].split()[0]  # the name, in parentheses, may hold spaces
    return state not in {"Z", "X"}


def _die_with_parent() -> None:
    """In a forked worker: the kernel sends SIGTERM when the main process dies (Linux only)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the supervisor's group kill is all there is
        return
    if os.getppid() == 1:  # the parent died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)


class WorkerWatch:
    """Watches the workers of this (main) process; stops them all once one of them has gone.

    Sanic forks its workers one right after the other, so from `settle_s` after the first one appears
    the instance must always have `expected` live workers; one that died before the watch ever saw it
    (a crash while loading the model) counts as gone too.
    """

    def __init__(self, expected: int, poll_s: float = POLL_S, settle_s: float = SETTLE_S) -> None:
        self.expected = expected
        self.poll_s = poll_s
        self.settle_s = settle_s
        self.seen: set[int] = set()
        self.first_seen_at: float | None = None

    def check(self, live: set[int], now: float) -> bool:
        """One look at the live children at time `now`; True when it stopped the instance's workers."""
        if live and self.first_seen_at is None:
            self.first_seen_at = now
        self.seen |= live
        if self.first_seen_at is None or now - self.first_seen_at < self.settle_s:
            return False
        gone = self.seen - live
        if len(live) >= self.expected and not gone:
            return False
        log.error(
            "Rasa 工作进程已退出（应有 %s 个，剩 %s 个；已退出 %s）：停止其余工作进程，由 supervisord / Kubernetes 整体重启",
            self.expected,
            len(live),
            sorted(gone),
        )
        for pid in live:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
        _forget(gone)
        return True

    def run(self) -> None:
        while not self.check(child_pids(), time.monotonic()):
            time.sleep(self.poll_s)


def _forget(gone: set[int]) -> None:
    """Drop the gone workers' live gauges (qhd_rasa_workers_serving) from the multiprocess folder."""
    folder = env_settings().prometheus_multiproc_dir
    if folder is None:
        return
    for pid in gone:
        mark_process_dead(pid, str(folder))


async def serving(_app: object, _loop: object) -> None:
    """Sanic after_server_start listener, run in every worker once its model is loaded."""
    metrics().workers_serving.set(1)


def install_from_env() -> bool:
    """With SANIC_WORKERS > 1: the parent-death signal for workers and the watch thread. Idempotent."""
    global _installed
    workers = sanic_workers()
    if _installed or workers < 2:
        return False
    os.register_at_fork(after_in_child=_die_with_parent)
    threading.Thread(target=WorkerWatch(workers).run, name="qhd-worker-watch", daemon=True).start()
    _installed = True
    return True
