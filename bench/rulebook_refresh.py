"""What the rulebook change signal costs a turn.

    .venv/bin/python bench/rulebook_refresh.py [--postgres postgresql://127.0.0.1/postgres] [--calls 20000]

Every process reads the one-row layer version at most once per REFRESH_SECONDS (bot/rulebook/current.py).
This measures, on a migrated SQLite database (the embedded profile) and optionally PostgreSQL (the
production profile, a scratch database created and dropped here):
- `default_rulebook()` between version reads (the cost on almost every call: a clock comparison);
- one version read (the worst case for a turn: its first call after the interval);
- rebuilding the rulebook after an approval (once per approval per process);
- a dibao eligibility evaluation (the work a turn does anyway), for scale;
- a turn's rulebook work (the standard answer plus an evaluation) with the layer on (refreshed once a
  second, as deployed) and with POLICY_LAYER=off: the difference is what the layer adds to a turn.
Prints the figures and writes bench/results/rulebook_refresh.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CASE = {
    "program": "dibao",
    "district": "海港区",
    "residence": "urban",
    "household": [{"monthly_income": 1000, "income_type": "wage", "age": 40}] * 3,
}
FORM = {
    "parameter_id": "dibao.standard.urban_monthly",
    "value": "900",
    "kind": "exact",
    "effective_from": "2026-01-01",
    "district": "海港区",
    "doc_no": "秦民字〔2025〕99号（测速用）",
}


def per_call_us(fn: Callable[[], object], calls: int) -> dict:
    samples = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1e6)
    samples.sort()
    return {"median_us": round(statistics.median(samples), 2), "p99_us": round(samples[int(len(samples) * 0.99)], 2)}


def turn_work() -> None:
    """What one resident turn asks of the rulebook: an answer's figures and an eligibility evaluation."""
    from bot.answers import topic_figures
    from bot.eligibility import evaluate

    topic_figures("ask_dibao_standard", "海港区", "urban")
    evaluate(dict(CASE))


def measure(url: str, calls: int) -> dict:
    os.environ["DATABASE_URL"] = url
    os.environ["POLICY_LAYER"] = "on"
    from bot.eligibility import evaluate
    from bot.rulebook import current, default_rulebook
    from bot.store import accounts, rulelayer
    from bot.store.db import dispose_engine, upgrade_database

    upgrade_database(url)
    current.forget_layer()
    accounts.create_account("bench_ed", "bench-password-1", "staff")
    accounts.create_account("bench_ap", "bench-password-2", "staff")
    rulelayer.grant_role("bench_ed", "policy_editor")
    rulelayer.grant_role("bench_ap", "policy_approver")
    rulelayer.approve(rulelayer.propose(FORM, "bench_ed")["id"], "bench_ap")
    default_rulebook()
    result = {
        "cached_call": per_call_us(default_rulebook, calls),
        "version_read": per_call_us(rulelayer.layer_version, max(200, calls // 20)),
        "evaluate_dibao": per_call_us(lambda: evaluate(dict(CASE)), max(200, calls // 20)),
    }

    def rebuild() -> None:
        current.forget_layer()
        default_rulebook()

    result["rebuild_after_approval"] = per_call_us(rebuild, 50)
    result["turn_work_layer_on"] = per_call_us(turn_work, max(200, calls // 10))
    os.environ["POLICY_LAYER"] = "off"
    result["turn_work_files_only"] = per_call_us(turn_work, max(200, calls // 10))
    os.environ["POLICY_LAYER"] = "on"
    assert default_rulebook().value("dibao.standard.urban_monthly", None, "海港区").value == 900
    current.forget_layer()
    dispose_engine(url)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--postgres", help="an admin URL of a PostgreSQL server (a scratch database is made)")
    args = parser.parse_args()
    report = {"machine": platform.machine(), "python": platform.python_version(), "calls": args.calls}
    with tempfile.TemporaryDirectory() as tmp:
        report["sqlite"] = measure(f"sqlite:///{tmp}/bench.db", args.calls)
    if args.postgres:
        import sqlalchemy as sa

        name = f"qhd_rulelayer_bench_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(args.postgres, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            url = args.postgres.rsplit("/", 1)[0] + f"/{name}"
            report["postgresql"] = measure(url, args.calls)
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    from bot.rulebook.current import REFRESH_SECONDS

    report["refresh_seconds"] = REFRESH_SECONDS
    for backend in ("sqlite", "postgresql"):
        if backend in report:
            r = report[backend]
            print(
                f"{backend}: default_rulebook() cached {r['cached_call']['median_us']} µs (p99 "
                f"{r['cached_call']['p99_us']}), version read {r['version_read']['median_us']} µs (p99 "
                f"{r['version_read']['p99_us']}), rebuild {r['rebuild_after_approval']['median_us'] / 1000:.1f} ms, "
                f"one dibao evaluation {r['evaluate_dibao']['median_us']} µs; a turn's rulebook work "
                f"{r['turn_work_layer_on']['median_us']} µs with the layer, "
                f"{r['turn_work_files_only']['median_us']} µs files only"
            )
    print(f"A turn pays at most one version read per {REFRESH_SECONDS:g} s per process; the rebuild once per approval.")
    out = ROOT / "bench" / "results" / "rulebook_refresh.json"
    out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"written to {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
