"""Eligibility engine throughput: cases per second and latency percentiles on one core.

    .venv/bin/python bench/eligibility.py [--cases 20000] [--program dibao]

Cases vary district, residence, household size, incomes and assets (seeded, reproducible) with the
as-of date fixed, as in production where a day's cases share one date. Prints the figures and writes
bench/results/eligibility.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.eligibility import PROGRAMS, evaluate
from bot.rulebook import default_rulebook


def make_cases(n: int, program: str, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    rb = default_rulebook()
    cases = []
    for _ in range(n):
        size = rng.randint(1, 6)
        cases.append(
            {
                "program": program,
                "as_of": "2026-11-29",
                "district": rng.choice(rb.districts),
                "residence": rng.choice(["urban", "rural"]),
                "household": [
                    {
                        "monthly_income": round(rng.uniform(0, 2500), 2),
                        "income_type": rng.choice(["wage", "farming", "pension"]),
                        "age": rng.randint(1, 90),
                        "disability_level": rng.choice([None, None, None, 1, 2, 3]),
                        "disability_kind": rng.choice(["physical", "mental"]),
                        "serious_illness": rng.random() < 0.1,
                    }
                    for _ in range(size)
                ],
                "rigid_expenses_monthly": {"medical": rng.choice([0, 0, 300])},
                "assets": {"deposits": rng.choice([0, 2000, 50000]), "private_cars": rng.choice([0, 0, 1]), "homes": 1},
                "receiving_dibao": True,
                "income_rose_due_to_employment": True,
                "has_able_supporter": False,
                "hardship_kind": "emergency",
                "job": {
                    "poverty_alleviated": True,
                    "employer_type": "enterprise",
                    "months_employed": 6,
                    "work_location": "outside_province",
                },
            }
        )
    return cases


def run(program: str, n: int) -> dict:
    rb = default_rulebook()
    cases = make_cases(n, program)
    for case in cases[:200]:  # warm the per-date lookup cache
        evaluate(case, rb)
    cpu_start = time.process_time()
    for case in cases:  # throughput: CPU time of this process (the machine is shared, wall time is noisy)
        evaluate(case, rb)
    cpu = time.process_time() - cpu_start
    latencies = []
    start = time.perf_counter()
    for case in cases:
        t0 = time.perf_counter()
        evaluate(case, rb)
        latencies.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - start
    latencies.sort()

    def pct(q: float) -> float:
        """The q-quantile of the sorted latencies, in milliseconds."""
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000

    return {
        "program": program,
        "cases": n,
        "cpu_seconds": round(cpu, 3),
        "cases_per_second": round(n / cpu),
        "wall_seconds": round(elapsed, 3),
        "cases_per_wall_second": round(n / elapsed),
        "p50_ms": round(pct(0.50), 4),
        "p99_ms": round(pct(0.99), 4),
        "max_ms": round(latencies[-1] * 1000, 4),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 4),
    }


def main() -> int:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=20000)
    parser.add_argument("--program", choices=PROGRAMS + ("all",), default="all")
    args = parser.parse_args()
    programs = PROGRAMS if args.program == "all" else (args.program,)
    results = [run(p, args.cases if p == "dibao" else max(1000, args.cases // 4)) for p in programs]
    for r in results:
        print(
            f"{r['program']:<22} {r['cases_per_second']:>8} cases/s (CPU)  {r['cases_per_wall_second']:>8} cases/s (wall)   p50 {r['p50_ms']:.3f} ms   p99 {r['p99_ms']:.3f} ms"
        )
    out = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "single_core": True,
        "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "rulebook_version": default_rulebook().version,
        "results": results,
    }
    path = ROOT / "bench" / "results" / "eligibility.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"written {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
