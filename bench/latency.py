"""REST-turn latency and throughput of one Rasa server with our model, actions and SQLite tracker store.

Bounded: a fixed number of conversations and turns on loopback; it stops by itself.
Prints p50/p95/p99 for 1 and 8 concurrent senders, messages/s, Rasa server RSS and cold start to
first answer, and writes bench/results/latency.json.

`--long` adds the long-conversation phase: turn 10 vs turn 200 of the same script on three servers,
their turns interleaved so machine load hits all alike — ours (endpoints.yml), ours with Rasa's stock
SQL tracker store (the "before"), and vanilla Rasa (default recipe, in-memory store; `--vanilla-model`,
or trained here like bench/load.py does). Per window: wall p50/p95 and the Rasa process's CPU ms per
turn (/proc utime+stime over the window, robust on a loaded machine). Writes bench/results/long_conversation.json/.md.
"""

from __future__ import annotations

import argparse
import json
import os
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

from bench import vanilla
from bench.rest import send_turn
from bot.runner import model_path, rasa_command, rasa_env
from tests.support.servers import Stack, free_port

# A realistic mix: topic questions, small talk, and a form turn.
MESSAGES = [
    "你好",
    "农村低保标准是多少",
    "办低保要带啥材料",
    "去外省打工有路费补贴吗",
    "护林员咋报名",
    "家里着火了有临时救助吗",
    "谢谢",
    "防返贫监测线是多少",
]


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
                replies = send_turn(stack.rasa_url, sender, MESSAGES[turn % len(MESSAGES)])
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
    return {
        "senders": senders,
        "turns": len(latencies),
        "errors": errors,
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
        "messages_per_s": round(len(latencies) / elapsed, 1),
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc/<pid>/stat fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


STOCK_ENDPOINTS = """action_endpoint:
  url: ${{ACTION_ENDPOINT_URL}}
  enable_selective_domain: true
tracker_store:
  type: SQL
  dialect: "sqlite"
  db: {db}
"""


def start_long_targets(stack: Stack, tmp: Path, vanilla_model: Path | None) -> dict[str, tuple[str, int]]:
    """name -> (base url, pid): ours is stack's Rasa; the others are started here on their own ports."""
    targets = {"ours": (stack.rasa_url, stack.procs["rasa"].pid)}
    stock = tmp / "stock-endpoints.yml"
    stock.write_text(STOCK_ENDPOINTS.format(db=tmp / "stock-tracker.db"), encoding="utf-8")
    port = free_port()
    stack._spawn(
        "rasa-stock",
        rasa_command(model_path(), "127.0.0.1", port, stack.env["RASA_TOKEN"], "*", endpoints=str(stock)),
        f"http://127.0.0.1:{port}/",
    )
    targets["ours, Rasa's SQL store"] = (f"http://127.0.0.1:{port}", stack.procs["rasa-stock"].pid)
    if vanilla_model:
        endpoints = vanilla.write_endpoints(tmp / "vanilla-endpoints.yml", stack.env["ACTION_ENDPOINT_URL"])
        port = free_port()
        command = vanilla.command(vanilla_model, endpoints, port, auth_token=stack.env["RASA_TOKEN"])
        stack._spawn("vanilla", command, f"http://127.0.0.1:{port}/")
        targets["vanilla Rasa 3.6"] = (f"http://127.0.0.1:{port}", stack.procs["vanilla"].pid)
    return targets


def run_long(targets: dict[str, tuple[str, int]], conversations: int, turns: int, window: int) -> dict:
    """Every target runs the same conversations turn by turn, interleaved; turn 10 and the last turns measured."""
    first = 10 - window // 2
    windows = {"turn 10": range(first, first + window), f"turn {turns}": range(turns - window + 1, turns + 1)}
    wall: dict[tuple[str, str], list[float]] = {}
    cpu: dict[tuple[str, str], float] = {}
    loads: dict[str, list[float]] = {w: [] for w in windows}
    for url, _pid in targets.values():  # warm every path (NLU, rules, actions, forms) first
        for turn in range(len(MESSAGES) * 2):
            send_turn(url, f"warm-long-{uuid.uuid4().hex[:6]}", MESSAGES[turn % len(MESSAGES)])
    for conversation in range(conversations):
        senders = {name: f"long-{conversation}-{uuid.uuid4().hex[:6]}" for name in targets}
        for turn in range(1, turns + 1):
            text = MESSAGES[(turn - 1) % len(MESSAGES)]
            order = list(targets) if turn % 2 else list(reversed(targets))  # alternate who goes first
            for name in order:
                url, pid = targets[name]
                label = next((w for w, r in windows.items() if turn in r), None)
                cpu_before = cpu_seconds(pid)
                started = time.perf_counter()
                send_turn(url, senders[name], text)
                elapsed = (time.perf_counter() - started) * 1000
                if label:
                    wall.setdefault((name, label), []).append(elapsed)
                    cpu[(name, label)] = cpu.get((name, label), 0.0) + cpu_seconds(pid) - cpu_before
            label = next((w for w, r in windows.items() if turn in r), None)
            if label:
                loads[label].append(os.getloadavg()[0])
    result: dict = {
        "conversations": conversations,
        "turns": turns,
        "window_turns": window,
        "load_avg_1min": {w: round(statistics.median(v), 2) for w, v in loads.items()},
        "targets": {},
    }
    early, late = list(windows)
    for name in targets:
        row = {}
        for label in windows:
            values = wall[(name, label)]
            row[label] = {
                "p50_ms": round(statistics.median(values), 1),
                "p95_ms": round(percentile(values, 95), 1),
                "cpu_ms_per_turn": round(cpu[(name, label)] * 1000 / len(values), 1),
                "samples": len(values),
            }
        row["growth_p50"] = round(row[late]["p50_ms"] / row[early]["p50_ms"], 2)
        row["growth_cpu"] = round(row[late]["cpu_ms_per_turn"] / max(row[early]["cpu_ms_per_turn"], 0.1), 2)
        result["targets"][name] = row
    return result


def long_markdown(result: dict) -> str:
    early, late = list(result["load_avg_1min"])
    lines = [
        f"# Long conversation: {early} vs {late} ({result['date']})",
        "",
        f"{result['conversations']} conversations of {result['turns']} turns per server, turns interleaved "
        f"across servers; each figure over {result['window_turns']} turns around the named turn x conversations. "
        f"Load average (1 min, median): {early} {result['load_avg_1min'][early]}, {late} "
        f"{result['load_avg_1min'][late]} on {os.cpu_count()} cores. CPU = Rasa process utime+stime per turn.",
        "",
        f"| server | {early} p50 | {early} p95 | {early} CPU ms | {late} p50 | {late} p95 | {late} CPU ms | "
        "p50 growth | CPU growth |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, row in result["targets"].items():
        a, b = row[early], row[late]
        lines.append(
            f"| {name} | {a['p50_ms']} | {a['p95_ms']} | {a['cpu_ms_per_turn']} | {b['p50_ms']} | "
            f"{b['p95_ms']} | {b['cpu_ms_per_turn']} | {row['growth_p50']}x | {row['growth_cpu']}x |"
        )
    lines += ["", "Target: ours at turn 200 p50 within 1.2x of turn 10 p50."]
    return "\n".join(lines) + "\n"


def vanilla_model_for(args: argparse.Namespace, tmp: Path) -> Path | None:
    if args.vanilla_model:
        return args.vanilla_model
    if not args.train_vanilla:
        return None
    from bench.load import train_vanilla

    return train_vanilla(tmp, rasa_env())[0]


def main_long(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        vanilla_model = vanilla_model_for(args, tmp)
        stack = Stack.create(tmp)
        os.environ["REST_TOKEN"] = stack.env["REST_TOKEN"]  # bench.rest sends it with every turn
        try:
            stack.start_actions()
            stack.start_rasa(model_path())
            targets = start_long_targets(stack, tmp, vanilla_model)
            result = run_long(targets, args.long_conversations, args.long_turns, args.long_window)
        finally:
            stack.stop_all()
    result["date"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    out = ROOT / "bench" / "results"
    (out / "long_conversation.json").write_text(
        json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    (out / "long_conversation.md").write_text(long_markdown(result), encoding="utf-8")
    print(long_markdown(result))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=40, help="turns per conversation")
    parser.add_argument("--long", action="store_true", help="run only the long-conversation phase")
    parser.add_argument("--long-conversations", type=int, default=3)
    parser.add_argument("--long-turns", type=int, default=200)
    parser.add_argument("--long-window", type=int, default=10, help="turns measured around turn 10 and at the end")
    parser.add_argument("--vanilla-model", type=Path, help="a vanilla Rasa model for the long phase")
    parser.add_argument("--train-vanilla", action="store_true", help="train the vanilla baseline here")
    args = parser.parse_args()
    if args.long:
        return main_long(args)
    model = model_path()
    if not model.exists():
        print(f"没有训练好的模型 {model.name}：先运行 make train", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack.create(Path(tmp))
        os.environ["REST_TOKEN"] = stack.env["REST_TOKEN"]  # bench.rest sends it with every turn
        try:
            stack.start_actions()
            t0 = time.perf_counter()
            stack.start_rasa(model)
            send_turn(stack.rasa_url, "bench-cold", "你好")
            cold_start_s = time.perf_counter() - t0
            results = {
                "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "model": model.name,
                "cold_start_to_first_answer_s": round(cold_start_s, 1),
            }
            run_senders(stack, 2, 5)  # warm-up, not reported
            results["one_sender"] = run_senders(stack, 1, args.turns)
            results["eight_senders"] = run_senders(stack, 8, args.turns)
            results["load_avg_1min"] = round(os.getloadavg()[0], 2)
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
