"""Command line of the NLU hold-out benchmark and of the gate of `make test` (bot.nlu.gate does the work).

The gate (bot/nlu/gate.py) loads the hold-outs and the model, computes the figures and checks them
against the floors; this door reads the arguments, picks the model, adds the optional cross-validation
on the training data, prints a summary and writes the results.

Usage (from the repository root, which must be importable: `make` exports PYTHONPATH, `-m` adds it):
    .venv/bin/python -m bench.nlu                       # model for the current data + 3-fold cross-validation
    .venv/bin/python -m bench.nlu --model models/x.tar.gz --skip-cv
    .venv/bin/python -m bench.nlu --cv-folds 5
    .venv/bin/python -m bench.nlu --skip-cv --check     # also exit 1 when below the quality floors
    .venv/bin/python -m bench.nlu --write-results       # `make bench`: update the tracked bench/results/

Writes nlu_holdout.json, nlu_holdout_hard.json (all figures) and nlu_report.md (short tables) into
var/bench/ (ignored by git, so `make test` leaves a clean checkout clean), or into the tracked
bench/results/ with --write-results.
Exit status: 0 done, 1 below a floor (--check only), 2 missing/unloadable model, hold-out file or bad
arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.nlu.gate import (
    CEILING_CONFIDENT_WRONG,
    CEILING_HARD_CONFIDENT_WRONG,
    DEFAULT_HARD_HOLDOUT,
    DEFAULT_HOLDOUT,
    FLOOR_ENTITY_RECALL,
    FLOOR_HARD_MACRO_F1,
    FLOOR_MACRO_F1,
    REPO_ROOT,
    BenchError,
    Holdout,
    check,
    holdout_result,
    inputs_newer_than,
    load_and_parse,
    load_holdout,
    read_fallback_settings,
    rounded,
    run_facts,
)
from bot.runner import model_path

# Tracked figures change only on purpose (`make bench`); every other run writes where git does not look.
TRACKED_RESULTS = REPO_ROOT / "bench" / "results"
SCRATCH_RESULTS = REPO_ROOT / "var" / "bench"
EXIT_BELOW_FLOOR = 1
EXIT_USAGE = 2


def quiet_process() -> None:
    """Telemetry off and TensorFlow quiet before the model load imports them (`make` exports both
    already; a direct run gets the same). Called at process start, not on import: the tests import this
    module and keep their own environment."""
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def holdouts_to_run(args: argparse.Namespace) -> list[Holdout]:
    """The first hold-out always (missing = error); the hard one when its file exists."""
    chosen = [
        Holdout(
            "holdout",
            args.holdout,
            "nlu_holdout.json",
            args.min_macro_f1,
            args.max_confident_wrong,
            args.min_entity_recall,
        )
    ]
    if args.hard_holdout.is_file():
        chosen.append(
            Holdout(
                "hard",
                args.hard_holdout,
                "nlu_holdout_hard.json",
                args.min_hard_macro_f1,
                args.max_hard_confident_wrong,
                None,
            )
        )
    elif args.hard_holdout != DEFAULT_HARD_HOLDOUT:
        raise BenchError(f"找不到困难留出集 / hard hold-out file not found: {args.hard_holdout}")
    return chosen


def current_model() -> Path | None:
    """The model trained on the current data and config (bot.runner names models by their inputs)."""
    path = model_path()
    return path if path.exists() else None


def newest_model(models_dir: Path) -> Path | None:
    """The most recently written models/*.tar.gz, the one `rasa run` would load."""
    candidates = sorted(models_dir.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    return candidates[-1] if candidates else None


def run_cross_validation(folds: int, config: Path, nlu_data: Path, timeout_s: int) -> dict[str, Any]:
    """`rasa test nlu --cross-validation` in a temporary folder; its accumulated test-fold figures."""
    if not nlu_data.exists():
        return {"error": f"{nlu_data} not found"}
    with tempfile.TemporaryDirectory(prefix="nlu-cv-") as out:
        command = [
            sys.executable,
            "-m",
            "rasa",
            "test",
            "nlu",
            "--nlu",
            str(nlu_data),
            "--config",
            str(config),
            "--cross-validation",
            "--folds",
            str(folds),
            "--out",
            out,
            "--no-plot",
        ]
        env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), RASA_TELEMETRY_ENABLED="false")
        started = time.monotonic()
        try:
            proc = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return {"folds": folds, "error": f"timed out after {timeout_s} s"}
        result: dict[str, Any] = {
            "folds": folds,
            "seconds": round(time.monotonic() - started, 1),
            "returncode": proc.returncode,
        }
        report = Path(out) / "intent_report.json"
        if proc.returncode != 0 or not report.is_file():
            result["error"] = (proc.stderr or proc.stdout)[-2000:]
            return result
        intents = json.loads(report.read_text(encoding="utf-8"))
        result.update(
            intent_macro_f1=rounded(intents["macro avg"]["f1-score"]),
            intent_weighted_f1=rounded(intents["weighted avg"]["f1-score"]),
            intent_accuracy=rounded(intents.get("accuracy")),
        )
        entity_reports = {}
        for path in sorted(Path(out).glob("*_report.json")):
            if path.name in ("intent_report.json", "response_selection_report.json"):
                continue
            data = json.loads(path.read_text(encoding="utf-8"))
            if "macro avg" in data:
                entity_reports[path.name.removesuffix("_report.json")] = rounded(data["macro avg"]["f1-score"])
        result["entity_macro_f1"] = entity_reports
        return result


# ------------------------------------------------------------------------------------------- output


def _fmt(x: float | None, pct: bool = False) -> str:
    if x is None:
        return "—"
    return f"{x * 100:.1f}%" if pct else f"{x:.3f}"


def render_markdown(results: Sequence[dict[str, Any]]) -> str:
    """Short report for humans, one section per hold-out; the JSON files hold every figure."""
    return "# NLU hold-out benchmark\n\n" + "\n".join(render_section(r) for r in results)


def render_section(result: dict[str, Any]) -> str:
    h = result["holdout"]
    i = result["intent"]
    lines = [
        f"## {h['name']}: `{Path(h['path']).name}`",
        "",
        f"Date {result['date']} · model `{result['model']}` · data `{result['data_hash']}` · "
        f"rulebook `{result['rulebook_version']}` · hold-out `{h['sha']}` ({result['examples']} examples, "
        f"{result['intents']} intents, {len(h['also_in_training'])} also verbatim in data/nlu) · "
        f"fallback threshold {result['fallback']['threshold']} (ambiguity {result['fallback']['ambiguity_threshold']})",
        "",
        "| Figure | Value |",
        "|---|---|",
        f"| Intent macro-F1 (after fallback) | {_fmt(i['macro_f1'])} |",
        f"| Intent accuracy (after fallback) | {_fmt(i['accuracy'], True)} |",
        f"| Sent to nlu_fallback | {_fmt(i['fallback_share'], True)} |",
        f"| Wrong and confident (above threshold) | {_fmt(i['confident_wrong_share'], True)} |",
        f"| Raw top-intent macro-F1 / accuracy (no fallback) | {_fmt(i['raw_macro_f1'])} / "
        f"{_fmt(i['raw_accuracy'], True)} |",
        f"| Entity micro P / R (exact value) | {_fmt(result['entities']['micro_by_value']['precision'])} / "
        f"{_fmt(result['entities']['micro_by_value']['recall'])} |",
        f"| Parse latency p50 / p95 | {result['latency_ms']['p50']} ms / {result['latency_ms']['p95']} ms |",
    ]
    cv = result.get("cross_validation")
    if cv:
        value = _fmt(cv.get("intent_macro_f1")) if "intent_macro_f1" in cv else f"error: {str(cv.get('error'))[:80]}"
        lines.append(f"| {cv.get('folds')}-fold CV intent macro-F1 on data/nlu | {value} |")
    lines += ["", "| Entity | P (value) | R (value) | R (span) | n |", "|---|---|---|---|---|"]
    for name, t in result["entities"]["by_value"].items():
        span = result["entities"]["by_span"].get(name, {})
        lines.append(
            f"| {name} | {_fmt(t['precision'])} | {_fmt(t['recall'])} | {_fmt(span.get('recall'))} | "
            f"{t['tp'] + t['fn']} |"
        )
    worst = sorted(i["per_intent"].items(), key=lambda kv: (kv[1]["f1"], kv[0]))[:8]
    lines += ["", "Weakest intents: " + ", ".join(f"{k} {v['f1']:.2f}" for k, v in worst)]
    if i["worst_confusions"]:
        lines += ["", "| Expected | Predicted | n | e.g. |", "|---|---|---|---|"]
        for c in i["worst_confusions"][:8]:
            lines.append(f"| {c['expected']} | {c['predicted']} | {c['count']} | {c['examples'][0]} |")
    if i.get("holdout_intents_unknown_to_model"):
        lines += ["", "Intents the model does not know: " + ", ".join(i["holdout_intents_unknown_to_model"])]
    return "\n".join(lines) + "\n"


def print_summary(result: dict[str, Any]) -> None:
    i, e = result["intent"], result["entities"]
    print(
        f"== {result['holdout']['name']} ({Path(result['holdout']['path']).name}): {result['examples']} examples"
        f" / {result['intents']} intents ({len(result['holdout']['also_in_training'])} also verbatim in "
        f"data/nlu); fallback threshold {result['fallback']['threshold']} ({result['fallback']['source']})"
    )
    print(
        f"intent macro-F1 {_fmt(i['macro_f1'])}  accuracy {_fmt(i['accuracy'], True)}  "
        f"fallback {_fmt(i['fallback_share'], True)}  confident-wrong {_fmt(i['confident_wrong_share'], True)}"
    )
    print(f"raw (no fallback) macro-F1 {_fmt(i['raw_macro_f1'])}  accuracy {_fmt(i['raw_accuracy'], True)}")
    worst = sorted(i["per_intent"].items(), key=lambda kv: (kv[1]["f1"], kv[0]))[:8]
    print("weakest intents: " + ", ".join(f"{k} {v['f1']:.2f}" for k, v in worst))
    for name, t in e["by_value"].items():
        print(
            f"  entity {name:17s} P {_fmt(t['precision'])}  R {_fmt(t['recall'])}  "
            f"(span R {_fmt(e['by_span'].get(name, {}).get('recall'))})"
        )
    for c in i["worst_confusions"][:8]:
        example = f": {c['examples'][0]}" if result.get("show_examples", True) else ""
        print(f"  confusion {c['expected']} -> {c['predicted']} x{c['count']}{example}")
    print(f"latency p50 {result['latency_ms']['p50']} ms  p95 {result['latency_ms']['p95']} ms")
    cv = result.get("cross_validation")
    if cv:
        print(
            f"cross-validation ({cv.get('folds')} folds): intent macro-F1 {cv.get('intent_macro_f1')}"
            + (f"  ERROR {str(cv['error'])[:300]}" if cv.get("error") else "")
        )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Hold-out NLU benchmark (see module docstring).")
    parser.add_argument(
        "--model", type=Path, help="model .tar.gz (default: the one for the current data, else the newest in models/)"
    )
    parser.add_argument("--holdout", type=Path, default=DEFAULT_HOLDOUT)
    parser.add_argument(
        "--hard-holdout", type=Path, default=DEFAULT_HARD_HOLDOUT, help="evaluated and gated when the file exists"
    )
    parser.add_argument("--config", type=Path, default=REPO_ROOT / "config.yml")
    parser.add_argument("--nlu-data", type=Path, default=REPO_ROOT / "data" / "nlu")
    parser.add_argument("--cv-folds", type=int, default=3)
    parser.add_argument("--skip-cv", action="store_true", help="do not run the cross-validation")
    parser.add_argument("--cv-timeout", type=int, default=3600, help="seconds")
    parser.add_argument(
        "--write-results",
        action="store_true",
        help=f"write into the tracked {TRACKED_RESULTS.relative_to(REPO_ROOT)}/ (default: "
        f"{SCRATCH_RESULTS.relative_to(REPO_ROOT)}/, ignored by git)",
    )
    parser.add_argument("--results-dir", type=Path, help="write here instead (overrides --write-results)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a figure misses its floor")
    parser.add_argument("--min-macro-f1", type=float, default=FLOOR_MACRO_F1)
    parser.add_argument("--max-confident-wrong", type=float, default=CEILING_CONFIDENT_WRONG)
    parser.add_argument("--min-entity-recall", type=float, default=FLOOR_ENTITY_RECALL)
    parser.add_argument("--min-hard-macro-f1", type=float, default=FLOOR_HARD_MACRO_F1)
    parser.add_argument("--max-hard-confident-wrong", type=float, default=CEILING_HARD_CONFIDENT_WRONG)
    parser.add_argument(
        "--no-examples",
        action="store_true",
        help="print figures only, no example texts (for a hold-out one must not read)",
    )
    return parser


def results_dir(args: argparse.Namespace) -> Path:
    if args.results_dir is not None:
        return args.results_dir
    return TRACKED_RESULTS if args.write_results else SCRATCH_RESULTS


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    quiet_process()
    try:
        if args.cv_folds < 2:
            raise BenchError("--cv-folds 至少为 2 / must be at least 2")
        model = args.model or current_model() or newest_model(REPO_ROOT / "models")
        if model is None or not Path(model).is_file():
            raise BenchError(
                "找不到已训练的模型，请先运行 `rasa train`。/ No trained model found "
                f"({model or REPO_ROOT / 'models' / '*.tar.gz'}): train one first."
            )
        model = Path(model).resolve()
        holdouts = holdouts_to_run(args)
        example_sets = [load_holdout(h.path) for h in holdouts]
        fallback = read_fallback_settings(args.config)
        if fallback.threshold is None:
            print(f"warning: {fallback.source}; nothing counts as fallback", file=sys.stderr)
        os.chdir(REPO_ROOT)  # config paths (jieba dictionary, custom components) are repo-relative
        texts = [e.text for examples in example_sets for e in examples]
        agent, parses, latencies = asyncio.run(load_and_parse(model, texts))
        model_intents = getattr(getattr(agent, "domain", None), "intents", None)
    except BenchError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    data_newer = bool(inputs_newer_than(model))
    if data_newer:
        print("warning: config.yml or data/nlu changed after this model was trained", file=sys.stderr)
    common = run_facts(model, fallback, model_older_than_data=data_newer)
    print(f"model {common['model']}  data {common['data_hash']}  rulebook {common['rulebook_version']}")
    results, start = [], 0
    for holdout, examples in zip(holdouts, example_sets):
        end = start + len(examples)
        result = holdout_result(
            common, holdout, examples, parses[start:end], latencies[start:end], fallback, model_intents, args.nlu_data
        )
        start = end
        if holdout.name == "holdout":  # cross-validation is about the training data: report it once
            result["cross_validation"] = (
                None
                if args.skip_cv
                else run_cross_validation(args.cv_folds, args.config, args.nlu_data, args.cv_timeout)
            )
        print_summary({**result, "show_examples": not args.no_examples and holdout.name == "holdout"})
        results.append(result)
    out = results_dir(args)
    out.mkdir(parents=True, exist_ok=True)
    for holdout, result in zip(holdouts, results):
        (out / holdout.results_file).write_text(
            json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
    (out / "nlu_report.md").write_text(render_markdown(results), encoding="utf-8")
    print(f"wrote {', '.join(h.results_file for h in holdouts)} and nlu_report.md into {out}")
    if args.check:
        failures = check(zip(holdouts, results), agent)
        for failure in failures:
            print(f"未达标 / below floor: {failure}", file=sys.stderr)
        if failures:
            return EXIT_BELOW_FLOOR
        print("NLU hold-out check passed: " + ", ".join(h.name for h in holdouts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
