"""Where a REST turn's CPU goes at turn 5 and at turn 200 (cProfile inside the Rasa process).

    .venv/bin/python bench/profile_turn.py [--turns 200] [--sample 5]

Starts our actions and a Rasa server under bench/profiled_rasa.py (embedded profile, SQLite tracker),
runs one conversation of `--turns` turns over REST and records `--sample` turns around turn 5 and
around the last turn. The breakdown is cumulative CPU time in Rasa's own functions per turn (the
action server runs in its own process: `action call` is Rasa's side of it, the HTTP wait excluded).
Writes bench/results/profile_turn.json and bench/results/profile_turn.md.
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import signal
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.latency import MESSAGES  # the same mix of turns as the latency bench
from bench.rest import send_turn
from bot.runner import model_path, rasa_command
from tests.support.servers import Stack

RESULTS = ROOT / "bench" / "results"
# (label, file suffix, function name) -> the cumulative time of the first match is the part's cost
PARTS = [
    ("whole turn (processor)", "rasa/core/processor.py", "handle_message"),
    ("NLU parse", "rasa/core/processor.py", "parse_message"),
    ("tracker load", "rasa/core/processor.py", "get_tracker"),
    ("tracker save", "rasa/core/processor.py", "save_tracker"),
    ("policy prediction", "rasa/core/processor.py", "_predict_next_with_tracker"),
    ("  of it: past_states", "rasa/shared/core/trackers.py", "past_states"),
    ("action call (Rasa side)", "rasa/core/actions/action.py", "run"),
    ("  of it: tracker to JSON", "rasa/shared/core/trackers.py", "current_state"),
]


def breakdown(stats_file: Path, turns: int) -> dict[str, float]:
    stats = pstats.Stats(str(stats_file)).stats  # type: ignore[attr-defined]  # set at runtime, not in typeshed
    out: dict[str, float] = {}
    for label, suffix, name in PARTS:
        total = sum(v[3] for (file, _line, func), v in stats.items() if file.endswith(suffix) and func == name)
        out[label] = round(total * 1000 / turns, 2)
    out["all profiled CPU"] = round(sum(v[2] for v in stats.values()) * 1000 / turns, 2)
    return out


def top_functions(stats_file: Path, turns: int, n: int = 15) -> list[dict]:
    stats = pstats.Stats(str(stats_file)).stats  # type: ignore[attr-defined]  # set at runtime, not in typeshed
    rows = sorted(stats.items(), key=lambda kv: kv[1][2], reverse=True)[:n]
    return [
        {
            "function": f"{Path(f).name}:{line}:{func}",
            "calls_per_turn": round(v[1] / turns, 1),
            "self_ms_per_turn": round(v[2] * 1000 / turns, 2),
        }
        for (f, line, func), v in rows
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--render", help="only rewrite bench/results/<name>.md from <name>.json")
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--sample", type=int, default=5)
    parser.add_argument("--endpoints", default="endpoints.yml")
    parser.add_argument("--out", default="profile_turn", help="result file name, without extension")
    args = parser.parse_args()
    if args.render:
        result = json.loads((RESULTS / f"{args.render}.json").read_text(encoding="utf-8"))
        (RESULTS / f"{args.render}.md").write_text(markdown(result), encoding="utf-8")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack.create(Path(tmp), PROFILE_OUT=str(Path(tmp) / "prof"))
        try:
            stack.start_actions()
            cmd = rasa_command(
                model_path(),
                "127.0.0.1",
                stack.env["RASA_PORT"],
                stack.env["RASA_TOKEN"],
                "*",
                endpoints=args.endpoints,
            )
            cmd[1:3] = [str(ROOT / "bench" / "profiled_rasa.py")]  # python -m rasa -> python profiled_rasa.py
            stack._spawn("rasa", cmd, f"{stack.rasa_url}/")
            pid = stack.procs["rasa"].pid
            windows = {"early": (3, 3 + args.sample), "late": (args.turns - args.sample, args.turns)}
            wall: dict[str, list[float]] = {k: [] for k in windows}
            send_turn(stack.rasa_url, "warm-up", "你好")
            sender = f"profile-{os.getpid()}"
            dumps = 0
            for turn in range(args.turns):
                for first, _last in windows.values():
                    if turn == first:
                        os.kill(pid, signal.SIGUSR1)
                        time.sleep(0.2)
                started = time.perf_counter()
                send_turn(stack.rasa_url, sender, MESSAGES[turn % len(MESSAGES)])
                elapsed = (time.perf_counter() - started) * 1000
                for name, (first, last) in windows.items():
                    if first <= turn < last:
                        wall[name].append(elapsed)
                    if turn == last - 1:
                        os.kill(pid, signal.SIGUSR2)
                        dumps += 1
                        time.sleep(0.5)
            files = {name: Path(tmp) / f"prof.{i}" for i, name in enumerate(windows)}
            for _ in range(50):
                if all(f.exists() for f in files.values()):
                    break
                time.sleep(0.2)
            result = {
                "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "endpoints": args.endpoints,
                "turns": args.turns,
                "load_avg_1min": os.getloadavg()[0],
                "phases": {},
            }
            for name, (first, last) in windows.items():
                result["phases"][name] = {
                    "turns": f"{first + 1}-{last}",
                    "wall_ms_median": round(statistics.median(wall[name]), 1),
                    "cpu_ms_per_turn": breakdown(files[name], args.sample),
                    "top_self_time": top_functions(files[name], args.sample),
                }
        finally:
            stack.stop_all()
    out = RESULTS
    (out / f"{args.out}.json").write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    (out / f"{args.out}.md").write_text(markdown(result), encoding="utf-8")
    print(markdown(result))
    return 0


def markdown(result: dict) -> str:
    early, late = result["phases"]["early"], result["phases"]["late"]
    lines = [
        f"# One REST turn inside the Rasa process ({result['date']}, {result['endpoints']}, "
        f"load average {result['load_avg_1min']:.1f})",
        "",
        f"cProfile, mean per turn over turns {early['turns']} and {late['turns']} of one conversation "
        "(cumulative ms in the main thread: CPU plus blocking calls such as SQLite's fsync; "
        "parts overlap where marked 'of it').",
        "",
        f"| part | turn {early['turns']} | turn {late['turns']} |",
        "|---|---|---|",
    ]
    for key in early["cpu_ms_per_turn"]:
        if key == "REST channel receive":  # (an early version matched no function here)
            continue
        lines.append(f"| {key} | {early['cpu_ms_per_turn'][key]} | {late['cpu_ms_per_turn'][key]} |")
    outside = [
        round(p["cpu_ms_per_turn"]["all profiled CPU"] - p["cpu_ms_per_turn"]["whole turn (processor)"], 2)
        for p in (early, late)
    ]
    lines.append(f"| outside the processor (Sanic, our REST channel and guard) | {outside[0]} | {outside[1]} |")
    lines.append(f"| wall ms, median (REST, loaded machine) | {early['wall_ms_median']} | {late['wall_ms_median']} |")
    for _name, phase in result["phases"].items():
        lines += [
            "",
            f"Top self time, turns {phase['turns']}:",
            "",
            "| function | calls/turn | self ms/turn |",
            "|---|---|---|",
        ]
        lines += [
            f"| `{r['function']}` | {r['calls_per_turn']} | {r['self_ms_per_turn']} |" for r in phase["top_self_time"]
        ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
