"""REST-turn latency and throughput of one Rasa server with our model, actions and SQLite tracker store.

Bounded: a fixed number of conversations and turns on loopback; it stops by itself.
Prints p50/p95/p99 for 1 and 8 concurrent senders, messages/s, Rasa server RSS and cold start to
first answer, and writes bench/results/latency.json.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.servers import Stack  # noqa: E402
from bot.runner import model_path  # noqa: E402

# A realistic mix: topic questions, small talk, and a form turn.
MESSAGES = ["你好", "农村低保标准是多少", "办低保要带啥材料", "去外省打工有路费补贴吗", "护林员咋报名",
            "家里着火了有临时救助吗", "谢谢", "防返贫监测线是多少"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def rss_mib(pid: int) -> float:
    """Resident memory of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def run_senders(stack: Stack, senders: int, turns: int) -> dict:
    latencies: list[float] = []
    errors = 0

    def conversation(_: int) -> None:
        nonlocal errors
        sender = f"bench-{uuid.uuid4().hex[:8]}"
        for turn in range(turns):
            started = time.perf_counter()
            try:
                replies = stack.say(sender, MESSAGES[turn % len(MESSAGES)])
                if not replies:
                    errors += 1
            except Exception:  # noqa: BLE001 - counted, reported
                errors += 1
                continue
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=senders) as pool:
        list(pool.map(conversation, range(senders)))
    elapsed = time.perf_counter() - started
    return {"senders": senders, "turns": len(latencies), "errors": errors,
            "p50_ms": round(statistics.median(latencies), 1), "p95_ms": round(percentile(latencies, 95), 1),
            "p99_ms": round(percentile(latencies, 99), 1), "messages_per_s": round(len(latencies) / elapsed, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=40, help="turns per conversation")
    args = parser.parse_args()
    model = model_path()
    if not model.exists():
        print(f"没有训练好的模型 {model.name}：先运行 make train", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack.create(Path(tmp))
        try:
            stack.start_actions()
            t0 = time.perf_counter()
            stack.start_rasa(model)
            stack.say("bench-cold", "你好")
            cold_start_s = time.perf_counter() - t0
            results = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "model": model.name,
                       "cold_start_to_first_answer_s": round(cold_start_s, 1)}
            run_senders(stack, 2, 5)  # warm-up, not reported
            results["one_sender"] = run_senders(stack, 1, args.turns)
            results["eight_senders"] = run_senders(stack, 8, args.turns)
            results["rasa_rss_mib"] = round(rss_mib(stack.procs["rasa"].pid), 0)
            results["action_server_rss_mib"] = round(rss_mib(stack.procs["actions"].pid), 0)
        finally:
            stack.stop_all()
    print(json.dumps(results, ensure_ascii=False, indent=2))
    out = ROOT / "bench" / "results" / "latency.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
