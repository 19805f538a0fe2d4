"""The NLU gate of `make test` (bot.nlu.gate, run by bench/nlu.py): both hold-outs, their own floors, results
outside git."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from bot.nlu import gate
from bot.runner import model_fingerprint

REPO_ROOT = Path(__file__).resolve().parents[2]


def _bench():
    spec = importlib.util.spec_from_file_location("bench_nlu_gate", REPO_ROOT / "bench" / "nlu.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_nlu_gate", module)
    spec.loader.exec_module(module)
    return module


def _result(macro_f1: float, confident_wrong: float, recall: float = 0.9) -> dict:
    return {
        "intent": {"macro_f1": macro_f1, "confident_wrong_share": confident_wrong},
        "entities": {"micro_by_value": {"recall": recall}},
    }


def test_hard_holdout_is_gated_only_when_its_file_exists(tmp_path, monkeypatch):
    bench = _bench()
    holdout = tmp_path / "holdout.yml"
    holdout.write_text("version: '3.1'\n", encoding="utf-8")
    hard = tmp_path / "holdout_hard.yml"
    monkeypatch.setattr(bench, "DEFAULT_HARD_HOLDOUT", hard)
    args = bench.build_parser().parse_args(["--holdout", str(holdout), "--hard-holdout", str(hard)])
    assert [h.name for h in bench.holdouts_to_run(args)] == ["holdout"]  # not written yet: first gate only
    named = bench.build_parser().parse_args(["--holdout", str(holdout), "--hard-holdout", str(tmp_path / "typo.yml")])
    with pytest.raises(bench.BenchError):
        bench.holdouts_to_run(named)  # a file named on the command line must exist
    hard.write_text("version: '3.1'\n", encoding="utf-8")
    chosen = [(h.name, h.min_macro_f1, h.max_confident_wrong) for h in bench.holdouts_to_run(args)]
    assert chosen == [("holdout", 0.93, 0.03), ("hard", 0.95, 0.02)]


def test_each_holdout_is_held_to_its_own_floors():
    first = gate.Holdout("holdout", Path("h.yml"), "nlu_holdout.json", 0.93, 0.03, 0.85)
    hard = gate.Holdout("hard", Path("x.yml"), "nlu_holdout_hard.json", 0.95, 0.02, None)
    assert gate.floor_failures(_result(0.94, 0.025), first) == []
    failures = gate.floor_failures(_result(0.94, 0.025, recall=0.1), hard)
    assert len(failures) == 2 and all(f.startswith("[hard]") for f in failures)  # recall not gated there


def test_results_go_to_the_tracked_folder_only_on_request():
    bench = _bench()
    parser = bench.build_parser()
    assert bench.results_dir(parser.parse_args([])) == bench.SCRATCH_RESULTS
    assert bench.results_dir(parser.parse_args(["--write-results"])) == bench.TRACKED_RESULTS
    assert bench.SCRATCH_RESULTS.relative_to(REPO_ROOT).parts[0] == "var"  # ignored by .gitignore


def test_changing_the_gate_does_not_rename_the_model(tmp_path):
    """bot/nlu/ is a model input, but the gate only measures a model: editing it must not force a retrain."""
    for name in ("config.yml", "domain.yml", "data/nlu/x.yml", "bot/nlu/tokenizer.py", "bot/nlu/gate.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("a", encoding="utf-8")
    before = model_fingerprint(tmp_path)
    (tmp_path / "bot/nlu/gate.py").write_text("b", encoding="utf-8")
    assert model_fingerprint(tmp_path) == before
    (tmp_path / "bot/nlu/tokenizer.py").write_text("b", encoding="utf-8")
    assert model_fingerprint(tmp_path) != before
