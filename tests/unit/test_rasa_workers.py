"""bot.rasa_workers with real processes: a worker that dies takes its siblings down, and workers die with
their main process (no orphan keeps the instance's port).

Each test runs a small main process (a fresh Python) that forks sleeping "workers" the way Sanic does
(multiprocessing's fork context, daemon processes, then join), prints their process ids and waits.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from bot import rasa_workers
from bot.settings import REPO_ROOT, SettingsError
from tests.support.waiting import wait_until

MAIN = textwrap.dedent(
    """
    import multiprocessing, os, sys, time
    os.environ["SANIC_WORKERS"] = "2"
    from bot import rasa_workers
    assert rasa_workers.install_from_env()
    mp = multiprocessing.get_context("fork")
    workers = [mp.Process(target=time.sleep, args=(600,), daemon=True) for _ in range(2)]
    for w in workers:
        w.start()
    print(" ".join(str(w.pid) for w in workers), flush=True)
    for w in workers:
        w.join()
    print("joined", flush=True)
    """
)


def alive(pid: int) -> bool:
    """The process exists and has not exited (a zombie has)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] not in {"Z", "X"}
    except OSError:
        return False


@pytest.fixture
def main_process():
    if not os.path.exists("/proc/self/task"):
        pytest.skip("needs Linux /proc")
    proc = subprocess.Popen(
        [sys.executable, "-c", MAIN],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert proc.stdout is not None
    pids = [int(p) for p in proc.stdout.readline().split()]
    assert len(pids) == 2 and all(alive(p) for p in pids)
    yield proc, pids
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=10)


def test_a_dead_worker_stops_its_siblings_and_the_main_process_returns(main_process) -> None:
    proc, (first, second) = main_process
    os.kill(second, signal.SIGKILL)  # at once: a worker may die before the watch has seen it
    assert wait_until(lambda: not alive(first), timeout_s=15), "the surviving worker kept serving alone"
    assert proc.wait(timeout=15) == 0
    assert proc.stdout is not None and "joined" in proc.stdout.read()


def test_workers_die_with_their_main_process(main_process) -> None:
    proc, pids = main_process
    proc.kill()  # SIGKILL: no handler of the main process runs
    proc.wait(timeout=10)
    assert wait_until(lambda: not any(alive(p) for p in pids), timeout_s=15), "orphaned workers would keep the port"


def test_the_watch_gives_the_workers_time_to_start_then_wants_all_of_them() -> None:
    # pids above the kernel's pid_max (2**22) exist nowhere: the SIGTERMs check() sends find no one
    first, second = 2**22 + 11, 2**22 + 12
    watch = rasa_workers.WorkerWatch(expected=2, settle_s=2.0)
    assert watch.check(set(), now=0.0) is False  # nothing forked yet
    assert watch.check({first}, now=10.0) is False  # the second is being forked
    assert watch.check({first, second}, now=11.0) is False
    assert watch.check({first, second}, now=100.0) is False  # both serving
    assert watch.check({first}, now=101.0) is True  # one has gone

    late = rasa_workers.WorkerWatch(expected=2, settle_s=2.0)
    assert late.check({first}, now=0.0) is False
    assert late.check({first}, now=3.0) is True  # the second died before it was ever seen


def test_one_worker_installs_nothing_and_a_bad_count_is_refused_in_chinese(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SANIC_WORKERS", raising=False)
    assert rasa_workers.sanic_workers() == 1
    assert rasa_workers.install_from_env() is False
    monkeypatch.setenv("SANIC_WORKERS", "zwei")  # Rasa would quietly run one worker; the start is refused
    with pytest.raises(SettingsError, match="SANIC_WORKERS"):
        rasa_workers.sanic_workers()
