"""Bounded load test of the production profile, side by side with a vanilla Rasa 3.6 baseline.

    .venv/bin/python bench/load.py [--conversations 8] [--per-worker 3] [--think-ms 1000]

What runs (all on 127.0.0.1, started and stopped by this script):
- ours-1:  the production profile (PostgreSQL tracker, Redis locks, RabbitMQ events + analytics
           consumer, our pipeline and actions), REST turns sent straight to ONE Rasa instance;
- ours-2:  the same with TWO instances behind nginx (turns go through the balancer);
- ours-1x2: ONE instance of TWO worker processes (RASA_WORKERS=2, bot.rasa_workers) behind nginx, which
           opens a connection per turn so that a waiting worker takes it; started after the two-instance
           layout is stopped, so the two never share the machine;
- vanilla: a baseline trained IN THIS RUN on the same domain and data with Rasa's default recipe
           config (only the tokenizer swapped for the stock JiebaTokenizer, since the default
           WhitespaceTokenizer refuses Chinese), in-memory tracker and lock store, same action server.

Each mode runs two phases with a fixed workload (C concurrent conversations, each worker running
`--per-worker` conversations of a fixed script, so C x per-worker x turns turns in all):
- paced:     residents think `--think-ms` (+-20 %, seeded) between turns: the latency figure;
- saturated: no think time, and the workers keep starting conversations until at least
             `--saturated-s` (default 30) have passed, so the figure is stable: the throughput (messages/s).
Every request has a timeout and the whole run is bounded. Afterwards each conversation's tracker
is read back: a turn answered with HTTP 200 but missing from the tracker is a lost turn.

Writes bench/results/load.json and bench/results/load.md. Fresh databases, queue and lock prefix per
run, dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets as secrets_module
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests
import yaml

from bench import vanilla
from bench.rest import send_turn
from bot.local_secrets import SECRET_NAMES
from bot.production import pg
from bot.production.cluster import Cluster, build
from bot.production.config import ProductionConfig
from tests.support.redis_server import private_redis

RESULTS = ROOT / "bench" / "results"
PG_BASE = "postgresql://postgres@127.0.0.1:5432"
# Random secrets per run (bot.local_secrets refuses fixed ones).
SECRETS = {name: secrets_module.token_urlsafe(24) for name in SECRET_NAMES}
API_HEADERS = {"Authorization": f"Bearer {SECRETS['RASA_TOKEN']}"}
P95_TARGET_MS = 300.0
OURS = ("ours-1", "ours-2", "ours-1x2")
# Fixed conversation scripts: small talk, topic questions, a help-request form started and left.
SCRIPTS = [
    ["你好", "农村低保标准是多少", "我在海港区", "公益性岗位怎么报名", "谢谢", "再见"],
    ["在吗", "我想登记个求助，让工作人员联系我", "同意", "王秀英", "13812345678", "算了", "再见"],
    ["你好", "家里着火了有临时救助吗", "办低保要带啥材料", "护林员一个月给多少钱", "谢谢", "再见"],
]


# --- measuring ---------------------------------------------------------------------------------
@dataclass
class Phase:
    mode: str
    phase: str
    concurrency: int
    think_ms: int
    turns: int = 0
    ok: int = 0
    errors: int = 0
    lost_turns: int = 0
    duration_s: float = 0.0
    load_avg_1min: float = 0.0  # machine load when the phase ended (other users' work shows here)
    latencies_ms: list[float] = field(default_factory=list)
    error_samples: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        lat = sorted(self.latencies_ms)
        q = statistics.quantiles(lat, n=100, method="inclusive") if len(lat) >= 2 else lat * 99
        # (a single sample is its own percentile; no sample leaves the figures empty)
        return {
            "mode": self.mode,
            "phase": self.phase,
            "concurrency": self.concurrency,
            "think_ms": self.think_ms,
            "turns": self.turns,
            "ok": self.ok,
            "errors": self.errors,
            "lost_turns": self.lost_turns,
            "p50_ms": round(q[49], 1) if q else None,
            "p95_ms": round(q[94], 1) if q else None,
            "p99_ms": round(q[98], 1) if q else None,
            "mean_ms": round(statistics.fmean(lat), 1) if lat else None,
            "max_ms": round(lat[-1], 1) if lat else None,
            "msgs_per_s": round(self.ok / self.duration_s, 1) if self.duration_s else None,
            "duration_s": round(self.duration_s, 1),
            "load_avg_1min": round(self.load_avg_1min, 2),
            "error_samples": self.error_samples[:5],
        }


def run_phase(
    mode: str,
    phase: str,
    send_url: str,
    tracker_url: str,
    concurrency: int,
    per_worker: int,
    think_ms: int,
    timeout_s: float,
    seed: int,
    min_duration_s: float = 0.0,
) -> Phase:
    """C workers, each running `per_worker` scripted conversations one after another (and more until
    `min_duration_s` has passed)."""
    result = Phase(mode, phase, concurrency, think_ms)
    lock = threading.Lock()
    run = uuid.uuid4().hex[:6]
    sent_ok: dict[str, int] = {}

    def worker(index: int) -> None:
        rng = random.Random(seed * 1000 + index)
        session = requests.Session()
        n = 0
        while n < per_worker or time.perf_counter() < deadline:
            sender = f"load-{run}-{mode}-{phase}-{index}-{n}"
            for text in SCRIPTS[(index + n) % len(SCRIPTS)]:
                if think_ms:
                    time.sleep(think_ms * rng.uniform(0.8, 1.2) / 1000)
                started = time.perf_counter()
                error = None
                try:
                    send_turn(send_url, sender, text, timeout=timeout_s, session=session, token=SECRETS["REST_TOKEN"])
                except requests.HTTPError as exc:
                    error = f"HTTP {exc.response.status_code}: {exc.response.text[:120]}"
                except (requests.RequestException, ValueError) as exc:
                    error = f"{type(exc).__name__}: {str(exc)[:120]}"
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    result.turns += 1
                    if error:
                        result.errors += 1
                        result.error_samples.append(error)
                    else:
                        result.ok += 1
                        result.latencies_ms.append(elapsed)
                        sent_ok[sender] = sent_ok.get(sender, 0) + 1
            n += 1

    started = time.perf_counter()
    deadline = started + min_duration_s
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(worker, range(concurrency)))
    result.duration_s = time.perf_counter() - started
    result.load_avg_1min = os.getloadavg()[0]
    result.lost_turns = count_lost(tracker_url, sent_ok)
    return result


def count_lost(base_url: str, sent_ok: dict[str, int]) -> int:
    """Turns answered with 200 whose user message is not in the conversation's tracker."""
    lost = 0
    for sender, count in sent_ok.items():
        try:
            response = requests.get(f"{base_url}/conversations/{sender}/tracker", headers=API_HEADERS, timeout=30)
            stored = sum(1 for e in response.json().get("events", []) if e.get("event") == "user")
        except (requests.RequestException, ValueError):
            stored = 0
        lost += max(0, count - stored)
    return lost


# --- the vanilla baseline -----------------------------------------------------------------------
def vanilla_config(path: Path) -> Path:
    """Rasa's default recipe config, language zh, stock JiebaTokenizer instead of WhitespaceTokenizer."""
    import importlib.util

    rasa_dir = Path(importlib.util.find_spec("rasa").origin).parent  # without importing TensorFlow
    default = rasa_dir / "engine" / "recipes" / "config_files" / "default_config.yml"
    config = yaml.safe_load(default.read_text(encoding="utf-8"))
    config["language"] = "zh"
    config["assistant_id"] = "qhd_vanilla_baseline"
    config["pipeline"] = [
        {"name": "JiebaTokenizer"} if c["name"] == "WhitespaceTokenizer" else c for c in config["pipeline"]
    ]
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def train_vanilla(workdir: Path, env: dict[str, str]) -> tuple[Path, float]:
    config = vanilla_config(workdir / "vanilla-config.yml")
    started = time.monotonic()
    with open(workdir / "vanilla-train.log", "wb") as log:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "rasa",
                "train",
                "--config",
                str(config),
                "--domain",
                "domain.yml",
                "--data",
                "data",
                "--out",
                str(workdir),
                "--fixed-model-name",
                "vanilla",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=True,
            timeout=1800,
        )
    return workdir / "vanilla.tar.gz", time.monotonic() - started


def cached_components(workdir: Path) -> int:
    """How many baseline components Rasa restored from its training cache (same data, same config)."""
    log = workdir / "vanilla-train.log"
    return log.read_text(errors="replace").count("Restored component") if log.exists() else 0


def start_vanilla(cluster: Cluster, model: Path, port: int) -> str:
    """One stock Rasa server: in-memory tracker and lock store, our action server, no broker."""
    endpoints = vanilla.write_endpoints(cluster.workdir / "vanilla-endpoints.yml", cluster.config.action_endpoint_url)
    # Stock Rasa reads its API token only from the URL (which we never send); the baseline runs for the
    # bench only, on loopback, with its API open, so its tracker can be read with the same header-only client.
    cluster.spawn("vanilla", vanilla.command(model, endpoints, port), f"http://127.0.0.1:{port}/")
    return "vanilla"


# --- report ------------------------------------------------------------------------------------
def ratios(ours: dict, base: dict) -> dict:
    def r(key: str) -> float | None:
        return round(ours[key] / base[key], 2) if ours.get(key) and base.get(key) else None

    return {k: r(k) for k in ("p50_ms", "p95_ms", "p99_ms", "msgs_per_s")}


def markdown(report: dict) -> str:
    lines = [
        f"# Load test: production profile vs vanilla Rasa 3.6 ({report['finished_at']})",
        "",
        (
            f"Machine: {report['machine']['cores']} cores, load average at start "
            f"{report['machine']['load_avg_start']}; model {report['model']}; vanilla baseline "
            f"({report['vanilla_model']}, {report['vanilla_train_s']} s) on the same domain and data."
        ),
        (
            f"Workload per phase: {report['params']['conversations']} concurrent conversations x "
            f"{report['params']['per_worker']} conversations each x {len(SCRIPTS[0])} turns; "
            f"paced = {report['params']['think_ms']} ms think time (+-20 %) between turns, saturated = none, "
            f"for at least {report['params'].get('saturated_s', 0):.0f} s."
        ),
        "",
        "| mode | phase | turns | errors | lost | p50 ms | p95 ms | p99 ms | msgs/s | load avg |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in report["results"]:
        lines.append(
            f"| {s['mode']} | {s['phase']} | {s['turns']} | {s['errors']} | {s['lost_turns']} | "
            f"{s['p50_ms']} | {s['p95_ms']} | {s['p99_ms']} | {s['msgs_per_s']} | {s.get('load_avg_1min', '')} |"
        )
    lines += [
        "",
        "Ratio ours / vanilla (latency: lower is better; msgs/s: higher is better):",
        "",
        "| comparison | p50 | p95 | p99 | msgs/s |",
        "|---|---|---|---|---|",
    ]
    for name, r in report["ratios"].items():
        lines.append(f"| {name} | {r['p50_ms']} | {r['p95_ms']} | {r['p99_ms']} | {r['msgs_per_s']} |")
    lines += [
        "",
        "Targets (latency: paced phase; throughput: saturated phase): "
        + "; ".join(f"{k}: {'PASS' if v else 'FAIL'}" for k, v in report["targets"].items()),
        "",
    ]
    return "\n".join(lines)


def private_config(services: ExitStack, prefix: str, instances: int, workers: int = 1) -> ProductionConfig:
    """The production profile on this machine with this run's own databases, queue, lock prefix, ports
    and Redis (production refuses a Redis without a password; tests/support/redis_server.py). With
    several workers per instance, metrics ports too: the start waits until every worker serves."""
    from tests.production.conftest import consecutive_free_ports
    from tests.support.servers import free_port

    run_id = prefix + uuid.uuid4().hex[:8]
    redis_server = services.enter_context(private_redis())
    os.environ.update(REDIS_PASSWORD=redis_server.password, REDIS_PORT=str(redis_server.port))
    config = ProductionConfig.from_env().with_(
        app_db_url=f"{PG_BASE}/qhd_app_{run_id}",
        tracker_db_url=f"{PG_BASE}/qhd_tracker_{run_id}",
        lock_key_prefix=f"qhdlock{run_id}",
        events_queue=f"qhd_events_{run_id}",
        events_exchange=f"qhd-exchange-{run_id}",
        instances=instances,
        workers_per_instance=workers,
        first_rasa_port=consecutive_free_ports(instances),
        metrics_first_port=consecutive_free_ports(2 + instances) if workers > 1 else 0,
        public_port=free_port(),
        action_port=free_port(),
        web_port=free_port(),
    )
    return config.with_(action_endpoint_url=f"http://127.0.0.1:{config.action_port}/webhook")


def drop_private(config: ProductionConfig) -> None:
    """Drop what `private_config` made for the run (databases, queue and exchange)."""
    from bot.store.db import dispose_engine
    from tests.production.conftest import delete_amqp

    dispose_engine(config.app_db_url)
    for url in (config.app_db_url, config.tracker_db_url):
        pg.drop_database(url)
    delete_amqp(config.rabbitmq_url, config.events_queue, config.events_exchange)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="有界负载测试：生产配置（1/2 实例）对比原版 Rasa 基线")
    parser.add_argument("--conversations", type=int, default=8, help="concurrent conversations")
    parser.add_argument("--per-worker", type=int, default=3, help="conversations run by each worker")
    parser.add_argument("--think-ms", type=int, default=1000, help="think time between turns (paced phase)")
    parser.add_argument("--saturated-s", type=float, default=30.0, help="minimum length of a saturated phase")
    parser.add_argument("--timeout", type=float, default=30.0, help="per-request timeout, seconds")
    parser.add_argument("--model", type=Path, help="our model (default: the one matching the current data)")
    parser.add_argument("--vanilla-model", type=Path, help="reuse a baseline model instead of training one")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs, baseline model)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    from bot.runner import model_path, rasa_env
    from tests.support.servers import free_port

    model = args.model or model_path()
    if not model.exists():
        print(f"没有与当前数据匹配的模型 {model.name}：请先运行 make train", file=sys.stderr)
        return 2
    services = ExitStack()
    config = private_config(services, "b", instances=2)
    load_start = os.getloadavg()[0]
    workdir = Path(tempfile.mkdtemp(prefix="qhd-load-"))
    # A private copy: `make train` elsewhere replaces models/ while this runs.
    model = Path(shutil.copy2(model, workdir / model.name))
    cluster = build(config, model, workdir / "two-instances", SECRETS)
    phases: list[Phase] = []

    def measure(mode: str, send: str, read: str) -> None:
        run_phase(mode, "warm-up", send, read, 2, 1, 0, args.timeout, args.seed)
        for phase, think in (("paced", args.think_ms), ("saturated", 0)):
            print(f"测量 {mode} {phase} ……", flush=True)
            done = run_phase(
                mode,
                phase,
                send,
                read,
                args.conversations,
                args.per_worker,
                think,
                args.timeout,
                args.seed,
                0.0 if think else args.saturated_s,
            )
            phases.append(done)
            print(json.dumps(done.summary(), ensure_ascii=False), flush=True)

    two_workers = None
    try:
        if args.vanilla_model:
            vanilla_model, train_s, cached = args.vanilla_model, 0.0, 0
        else:
            print("训练原版基线模型……", flush=True)
            vanilla_model, train_s = train_vanilla(workdir, rasa_env())
            cached = cached_components(workdir)
        print("启动生产配置（2 个实例）和原版基线……", flush=True)
        cluster.start(web=False)
        vanilla_port = free_port()
        cluster.wait_ready([start_vanilla(cluster, vanilla_model, vanilla_port)])
        vanilla_url = f"http://127.0.0.1:{vanilla_port}"
        requests.post(f"{vanilla_url}/model/parse", json={"text": "你好"}, timeout=120)
        measure("vanilla", vanilla_url, vanilla_url)
        measure("ours-1", cluster.rasa_url(0), cluster.rasa_url(0))
        measure("ours-2", cluster.public_url, cluster.public_url)
        cluster.stop_all()
        print("启动生产配置（1 个实例，2 个工作进程）……", flush=True)
        two_workers = private_config(services, "c", instances=1, workers=2)
        single = build(two_workers, model, workdir / "two-workers", SECRETS)
        cluster = single
        single.start(web=False)
        measure("ours-1x2", single.public_url, single.public_url)
    finally:
        cluster.stop_all()
        drop_private(config)
        if two_workers is not None:
            drop_private(two_workers)
        services.close()
        if args.keep:
            print(f"工作目录（日志、基线模型）保留在 {workdir}", flush=True)
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    summaries = [p.summary() for p in phases]
    by = {(s["mode"], s["phase"]): s for s in summaries}
    report = {
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cores": os.cpu_count(), "load_avg_start": round(load_start, 2)},
        "model": model.name,
        "vanilla_train_s": round(train_s, 1),
        "vanilla_model": (
            f"trained in this run, {cached} components from Rasa's cache"
            if not args.vanilla_model
            else f"reused: {args.vanilla_model}"
        ),
        "params": {
            "conversations": args.conversations,
            "per_worker": args.per_worker,
            "think_ms": args.think_ms,
            "timeout_s": args.timeout,
            "saturated_s": args.saturated_s,
            "scripts": SCRIPTS,
        },
        "results": summaries,
        "ratios": {
            f"{m} / vanilla ({ph})": ratios(by[(m, ph)], by[("vanilla", ph)])
            for m in OURS
            for ph in ("paced", "saturated")
        },
        "targets": {
            f"{m} p95<={P95_TARGET_MS:.0f}ms, 0 errors, 0 lost": (
                by[(m, "paced")]["p95_ms"] is not None
                and by[(m, "paced")]["p95_ms"] <= P95_TARGET_MS
                and by[(m, "paced")]["errors"] == 0
                and by[(m, "paced")]["lost_turns"] == 0
            )
            for m in OURS
        },
    }
    one_instance = max(by[(m, "saturated")]["msgs_per_s"] or 0 for m in ("ours-1", "ours-1x2"))
    report["targets"]["one instance saturated msgs/s >= 2x vanilla (issue 15)"] = one_instance >= 2 * (
        by[("vanilla", "saturated")]["msgs_per_s"] or float("inf")
    )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "load.json").write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    (args.out / "load.md").write_text(markdown(report), encoding="utf-8")
    print(markdown(report))
    return 0 if all(report["targets"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
