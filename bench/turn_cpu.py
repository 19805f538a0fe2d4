"""CPU each process spends per turn when one production instance is saturated (issue 15's per-turn constant).

    .venv/bin/python -m bench.turn_cpu [--turns 1200] [--senders 8] [--label now]

Starts the production profile with ONE Rasa instance (PostgreSQL tracker, Redis locks, RabbitMQ events and
the analytics consumer, our actions), sends `--turns` REST turns from `--senders` concurrent conversations
with no think time (bench/load.py's scripts), waits until the analytics consumer has taken every event
(at saturation it lags behind), and reads each process's CPU time from /proc before and after. CPU per turn is what a saturated instance pays for each message, whatever else the machine is
doing (the wall-clock rate is printed too, but on a shared machine only the CPU figures compare).
Appends the run to bench/results/turn_cpu.json and rewrites turn_cpu.md; `--label` names the code measured
(run it from another checkout to measure that code).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import datetime, timezone
from pathlib import Path

import aio_pika
import requests

from bench.load import SCRIPTS, SECRETS, drop_private, private_config
from bench.rest import send_turn
from bot.production.cluster import build
from bot.runner import model_path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PG_BASE = "postgresql://postgres@127.0.0.1:5432"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far (/proc/<pid>/stat, all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu_seconds() -> float:
    """CPU time of the whole machine so far, all cores (/proc/stat): user, system, irq and softirq.

    Niced time is left out, so a low-priority job (say, training the vanilla baseline) does not count;
    what does count is everything a turn costs beyond our processes: PostgreSQL's backends, Redis,
    RabbitMQ and this script's senders."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, _nice, system, _idle, _iowait, irq, softirq = (int(f) for f in fields[:7])
    return (user + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def queue_depth(amqp_url: str, queue: str) -> int:
    """Messages waiting in the analytics queue (not yet delivered to the consumer)."""

    async def depth() -> int:
        connection = await aio_pika.connect(amqp_url)
        try:
            channel = await connection.channel()
            declared = await channel.declare_queue(queue, passive=True)
            return int(declared.declaration_result.message_count or 0)
        finally:
            await connection.close()

    return asyncio.run(depth())


def wait_for_consumer(amqp_url: str, queue: str, timeout_s: float = 120) -> None:
    """Until the consumer has taken every event of the run (its CPU for them is then counted)."""
    deadline = time.monotonic() + timeout_s
    while queue_depth(amqp_url, queue) > 0 and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(2)  # the last batch is written within the consumer's flush interval (1 s)


def saturate(url: str, turns: int, senders: int) -> float:
    """Send `turns` turns from `senders` concurrent conversations; the wall time in seconds."""
    per_sender = turns // senders

    def sender(index: int) -> None:
        session, sent, conversation = requests.Session(), 0, 0
        while sent < per_sender:
            script = SCRIPTS[conversation % len(SCRIPTS)]
            name = f"cpu-{index}-{conversation}"
            conversation += 1
            for text in script[: per_sender - sent]:
                send_turn(url, name, text, session=session, token=SECRETS["REST_TOKEN"])
                sent += 1

    started = time.perf_counter()
    with ThreadPoolExecutor(senders) as pool:
        list(pool.map(sender, range(senders)))
    return time.perf_counter() - started


def measure(turns: int, senders: int) -> dict:
    with ExitStack() as services:
        config = private_config(services, "c", instances=1)
        workdir = Path(tempfile.mkdtemp(prefix="qhd-turn-cpu-"))
        cluster = build(config, model_path(), workdir, SECRETS)
        try:
            cluster.start(web=False, balancer=False)
            url = cluster.rasa_url(0)
            saturate(url, 3 * senders, senders)  # warm-up: first turns load lazily built parts
            pids = {name: child.proc.pid for name, child in cluster.children.items()}
            before = {name: cpu_seconds(pid) for name, pid in pids.items()}
            machine_before = machine_cpu_seconds()
            load_start = os.getloadavg()[0]
            wall = saturate(url, turns, senders)
            sent = turns // senders * senders
            wait_for_consumer(config.rabbitmq_url, config.events_queue)
            cpu = {name: round((cpu_seconds(pid) - before[name]) * 1000 / sent, 2) for name, pid in pids.items()}
            cpu["machine"] = round((machine_cpu_seconds() - machine_before) * 1000 / sent, 2)
        finally:
            cluster.stop_all()
            drop_private(config)
            shutil.rmtree(workdir, ignore_errors=True)
    return {
        "turns": sent,
        "senders": senders,
        "turns_per_s": round(sent / wall, 1),
        "cpu_ms_per_turn": cpu,
        "load_avg_start": round(load_start, 2),
        "load_avg_end": round(os.getloadavg()[0], 2),
    }


def markdown(runs: list[dict]) -> str:
    names = sorted({name for run in runs for name in run["cpu_ms_per_turn"]})
    lines = [
        "# CPU per turn of one saturated production instance (`bench/turn_cpu.py`)",
        "",
        "PostgreSQL tracker, Redis locks, RabbitMQ + analytics consumer; 8 concurrent REST conversations,",
        "no think time. CPU ms per turn from /proc (all threads of each process); turns/s depends on what",
        "else the machine was doing (load average), the CPU figures much less. `machine` is the whole",
        "machine's CPU (both cores, niced jobs left out) per turn, the consumer's drain included: the",
        "services, the senders and anything else running; on 2 cores, 2000 / machine ms bounds turns/s.",
        "",
        "| code | commit | date | turns | " + " | ".join(f"{n} CPU ms/turn" for n in names) + " | turns/s | load avg |",
        "|---|---|---|---|" + "---|" * len(names) + "---|---|",
    ]
    for run in runs:
        cells = [str(run["cpu_ms_per_turn"].get(n, "")) for n in names]
        lines.append(
            f"| {run['label']} | {run['commit']} | {run['date']} | {run['turns']} | "
            + " | ".join(cells)
            + f" | {run['turns_per_s']} | {run['load_avg_start']} -> {run['load_avg_end']} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=1200)
    parser.add_argument("--senders", type=int, default=8)
    parser.add_argument("--label", default="now", help="what code this is (e.g. before, now)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()
    result = measure(args.turns, args.senders)
    result.update(label=args.label, commit=commit, date=datetime.now(timezone.utc).isoformat(timespec="minutes"))
    print(json.dumps(result, ensure_ascii=False))
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "turn_cpu.json"
    runs = json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
    runs.append(result)
    path.write_text(json.dumps(runs, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    (args.out / "turn_cpu.md").write_text(markdown(runs), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
