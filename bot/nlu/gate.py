"""The NLU gate of `make test`: how well the trained model understands residents it has never seen.

Why our own evaluation instead of `rasa test nlu`: rasa's evaluation ignores the FallbackClassifier
threshold, but what a resident experiences is the intent *after* that threshold (a low-confidence
guess becomes `nlu_fallback`, which the bot answers with "please rephrase / reach a person"). A
confident wrong answer is worse than a fallback, so both shares are reported separately.

Two hold-outs, each with its own floors: `tests/nlu/holdout.yml` (the first one, close to the shape of
the training data) and `tests/nlu/holdout_hard.yml` (issue 12: long stories with the question at the
end, voice-input spellings, colloquial replies; written blind to data/nlu). Reviewed messages
(bot.learning.regression) must keep the intent staff gave them.

This module loads the hold-outs and the model, computes the figures and checks them against the floors;
`bench/nlu.py` is its command line (arguments, cross-validation, printing and writing the results).
It is evaluation code, not part of what `rasa train` produces: bot.runner leaves it out of the model's
name, so changing it never forces a retrain.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import yaml
from rasa.core.constants import DEFAULT_NLU_FALLBACK_AMBIGUITY_THRESHOLD, DEFAULT_NLU_FALLBACK_THRESHOLD
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader
from rasa.utils.common import configure_logging_and_warnings
from rasa.utils.log_utils import configure_structlog
from sklearn.metrics import f1_score, precision_recall_fscore_support

from bot.learning.regression import reviewed_failures
from bot.rulebook import default_rulebook

REPO_ROOT = Path(__file__).resolve().parents[2]
FALLBACK_INTENT = "nlu_fallback"
DEFAULT_HOLDOUT = REPO_ROOT / "tests" / "nlu" / "holdout.yml"
DEFAULT_HARD_HOLDOUT = REPO_ROOT / "tests" / "nlu" / "holdout_hard.yml"
# Quality floors for --check (`make test`). A resident must be understood most of the time, and a
# confident wrong answer (no fallback, no "please rephrase") is the failure that misleads: it gets the
# tightest bound. Entity recall is by exact canonical value, what the forms and the engine consume.
# The hold-out gate of `make test` (issue 2): macro-F1 >= 0.93 with at most 3% confident wrong answers.
FLOOR_MACRO_F1 = 0.93
CEILING_CONFIDENT_WRONG = 0.03
FLOOR_ENTITY_RECALL = 0.85
# The hard hold-out's gate (issue 12): stories, homophones and colloquial replies must be understood
# at least as well, and a confident wrong answer there is the failure residents actually met.
FLOOR_HARD_MACRO_F1 = 0.95
CEILING_HARD_CONFIDENT_WRONG = 0.02


class BenchError(Exception):
    """A problem the operator can fix (missing model, bad file); bench/nlu.py prints it without a traceback."""


# --------------------------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    entities: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class FallbackSettings:
    """FallbackClassifier thresholds as configured; threshold None = no fallback in the pipeline."""

    threshold: float | None
    ambiguity_threshold: float | None
    source: str


@dataclass(frozen=True)
class Holdout:
    """One hold-out file and the floors `--check` holds it to (entity recall None = reported only)."""

    name: str
    path: Path
    results_file: str
    min_macro_f1: float
    max_confident_wrong: float
    min_entity_recall: float | None


def read_fallback_settings(config_path: Path) -> FallbackSettings:
    """Thresholds of the FallbackClassifier in config.yml (Rasa's defaults fill missing keys)."""
    if not config_path.is_file():
        return FallbackSettings(None, None, f"{config_path.name} not found")
    try:
        config = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise BenchError(f"config.yml 无法解析 / cannot parse {config_path}: {exc}") from exc
    for component in config.get("pipeline") or []:
        name = str((component or {}).get("name", ""))
        if name.split(".")[-1].endswith("FallbackClassifier"):
            return FallbackSettings(
                float(component.get("threshold", DEFAULT_NLU_FALLBACK_THRESHOLD)),
                float(component.get("ambiguity_threshold", DEFAULT_NLU_FALLBACK_AMBIGUITY_THRESHOLD)),
                f"{config_path.name}: {name}",
            )
    return FallbackSettings(None, None, f"no FallbackClassifier in {config_path.name}")


def load_holdout(path: Path) -> list[Example]:
    """Hold-out examples as written (Rasa YAML with entity annotations)."""
    if not path.is_file():
        raise BenchError(f"找不到留出测试集 / hold-out file not found: {path}")
    data = RasaYAMLReader().read(str(path))
    examples = [Example(m.get("text"), m.get("intent"), tuple(m.get("entities") or ())) for m in data.intent_examples]
    if not examples:
        raise BenchError(f"留出测试集为空 / hold-out file has no examples: {path}")
    return examples


# Texts this short are stock phrases (你好, 转人工, 算了) that training data rightly contains too.
OVERLAP_MIN_CHARS = 8


def _squash(text: str) -> str:
    return re.sub(r"[\s\W_]+", "", text).lower()


def training_overlap(examples: Sequence[Example], nlu_data: Path) -> list[str]:
    """Hold-out texts (of OVERLAP_MIN_CHARS or more) found verbatim in the training data.

    Such an example measures memory, not understanding, so the count is reported with the figures.
    """
    files = sorted(nlu_data.rglob("*.yml")) if nlu_data.is_dir() else ([nlu_data] if nlu_data.is_file() else [])
    if not files:
        return []
    reader = RasaYAMLReader()
    training: set[str] = set()
    for path in files:
        training |= {_squash(m.get("text")) for m in reader.read(str(path)).intent_examples}
    return [e.text for e in examples if len(_squash(e.text)) >= OVERLAP_MIN_CHARS and _squash(e.text) in training]


def content_hash(paths: Iterable[Path], root: Path = REPO_ROOT) -> str | None:
    """Short sha256 over files (path relative to root + bytes), so a result names the exact inputs."""
    digest = hashlib.sha256()
    found = False
    for path in sorted(p.resolve() for p in paths):
        if path.is_file():
            found = True
            name = path.relative_to(root.resolve()) if path.is_relative_to(root.resolve()) else path.name
            digest.update(str(name).encode())
            digest.update(b"\0")
            digest.update(path.read_bytes())
            digest.update(b"\0")
    return digest.hexdigest()[:12] if found else None


def training_inputs() -> list[Path]:
    """Files whose change changes what the NLU learns or returns (custom component code is imported
    from the checkout at parse time, not from the model). This module is not one: it only measures
    (bot.runner leaves it out of the model's name for the same reason)."""
    files = [REPO_ROOT / "config.yml"]
    for folder in ("data/nlu", "data/jieba", "bot/nlu"):
        files.extend(p for p in (REPO_ROOT / folder).rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    return [p for p in files if p.resolve() != Path(__file__).resolve()]


def rulebook_version() -> str | None:
    """The rulebook's own version hash when bot.rulebook loads; else a hash of policies/*.yml."""
    try:
        return str(default_rulebook().version)
    except Exception:  # noqa: BLE001 - the rulebook is another module's concern; a hash still identifies the files
        digest = content_hash((REPO_ROOT / "policies").glob("*.yml"))
        return f"files:{digest}" if digest else None


# ------------------------------------------------------------------------------------------- metrics


def canonical_value(value: Any) -> Any:
    """Comparable entity value: numbers (also numeric strings) rounded to 2 decimals, text stripped."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return round(float(value), 2)
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        return text
    return round(number, 2) if math.isfinite(number) else text


def _overlaps(a: dict[str, Any], b: dict[str, Any]) -> bool:
    if None in (a.get("start"), a.get("end"), b.get("start"), b.get("end")):
        return False
    return a["start"] < b["end"] and b["start"] < a["end"]


def dedupe_predicted(entities: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Two extractors (DIET + regex) reporting the same value on the same words count once."""
    kept: list[dict[str, Any]] = []
    for ent in entities:
        key = (ent.get("entity"), canonical_value(ent.get("value")))
        if any((k.get("entity"), canonical_value(k.get("value"))) == key and _overlaps(k, ent) for k in kept):
            continue
        kept.append(ent)
    return kept


@dataclass
class Tally:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def as_dict(self) -> dict[str, Any]:
        precision = self.tp / (self.tp + self.fp) if self.tp + self.fp else None
        recall = self.tp / (self.tp + self.fn) if self.tp + self.fn else None
        f1 = None
        if precision is not None and recall is not None:
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "precision": rounded(precision),
            "recall": rounded(recall),
            "f1": rounded(f1),
        }


def rounded(x: float | None, digits: int = 4) -> float | None:
    """A figure as reported: 4 decimals, None stays None."""
    return None if x is None else round(x, digits)


def match_entities(
    expected: Sequence[dict[str, Any]], predicted: Sequence[dict[str, Any]], by: str
) -> tuple[dict[str, Tally], list[dict[str, Any]], list[dict[str, Any]]]:
    """Greedy one-to-one matching per entity type.

    by="value": same type and same canonical value (position ignored: the actions use the value).
    by="span":  same type and overlapping characters (extraction found, normalisation aside).
    Returns tallies per type plus the unmatched expected (missed) and predicted (spurious) entities.
    """
    tallies: dict[str, Tally] = {}
    unmatched_pred = list(predicted)
    missed: list[dict[str, Any]] = []
    for exp in expected:
        tally = tallies.setdefault(exp["entity"], Tally())
        hit = None
        for pred in unmatched_pred:
            if pred.get("entity") != exp["entity"]:
                continue
            if by == "value" and canonical_value(pred.get("value")) == canonical_value(exp.get("value")):
                hit = pred
                break
            if by == "span" and _overlaps(pred, exp):
                hit = pred
                break
        if hit is None:
            tally.fn += 1
            missed.append(exp)
        else:
            tally.tp += 1
            unmatched_pred.remove(hit)
    for pred in unmatched_pred:
        tallies.setdefault(str(pred.get("entity")), Tally()).fp += 1
    return tallies, missed, unmatched_pred


def decide_intent(parse: dict[str, Any], fallback: FallbackSettings) -> tuple[str, str, float]:
    """(final intent, raw top intent, raw confidence) for one parse result.

    The raw prediction is the classifier's top intent with nlu_fallback removed. The final intent
    is what the dialogue sees. With thresholds from config.yml the FallbackClassifier rule is
    re-applied to the raw ranking (same rule as rasa: confidence < threshold, or top-two gap <
    ambiguity_threshold), so a model trained with another threshold is judged by the current one;
    without them the model's own decision stands.
    """
    ranking = [r for r in parse.get("intent_ranking") or [] if r.get("name") != FALLBACK_INTENT]
    top = parse.get("intent") or {}
    if top.get("name") == FALLBACK_INTENT or not top.get("name"):
        top = ranking[0] if ranking else {"name": FALLBACK_INTENT, "confidence": 0.0}
    raw_name, raw_conf = str(top.get("name")), float(top.get("confidence") or 0.0)
    if fallback.threshold is None:
        fired = (parse.get("intent") or {}).get("name") == FALLBACK_INTENT
    else:
        fired = raw_conf < fallback.threshold
        if not fired and fallback.ambiguity_threshold is not None and len(ranking) >= 2:
            gap = float(ranking[0].get("confidence") or 0.0) - float(ranking[1].get("confidence") or 0.0)
            fired = gap < fallback.ambiguity_threshold
    return (FALLBACK_INTENT if fired else raw_name), raw_name, raw_conf


def _percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    return round(float(np.percentile(values, q)), 2)


def evaluate(
    examples: Sequence[Example],
    parses: Sequence[dict[str, Any]],
    latencies_ms: Sequence[float],
    fallback: FallbackSettings,
    model_intents: Iterable[str] | None = None,
) -> dict[str, Any]:
    """All hold-out figures from the examples and the model's parse results (same order)."""
    if len(examples) != len(parses):
        raise ValueError("one parse result per example is required")
    y_true = [e.intent for e in examples]
    final, raw, rows = [], [], []
    value_tally: dict[str, Tally] = {}
    span_tally: dict[str, Tally] = {}
    entity_errors: list[dict[str, Any]] = []
    for ex, parse in zip(examples, parses):
        decided, raw_name, raw_conf = decide_intent(parse, fallback)
        final.append(decided)
        raw.append(raw_name)
        rows.append(
            {
                "text": ex.text,
                "expected": ex.intent,
                "predicted": decided,
                "raw": raw_name,
                "confidence": round(raw_conf, 4),
            }
        )
        predicted = dedupe_predicted(parse.get("entities") or [])
        for by, sink in (("value", value_tally), ("span", span_tally)):
            tallies, missed, spurious = match_entities(ex.entities, predicted, by)
            for name, t in tallies.items():
                total = sink.setdefault(name, Tally())
                total.tp, total.fp, total.fn = total.tp + t.tp, total.fp + t.fp, total.fn + t.fn
            if by == "value" and (missed or spurious):
                entity_errors.append(
                    {
                        "text": ex.text,
                        "missed": [{"entity": m["entity"], "value": m.get("value")} for m in missed],
                        "spurious": [
                            {"entity": s.get("entity"), "value": s.get("value"), "extractor": s.get("extractor")}
                            for s in spurious
                        ],
                    }
                )
    labels = sorted(set(y_true))
    n = len(examples)
    fallback_n = sum(p == FALLBACK_INTENT for p in final)
    correct_n = sum(p == t for p, t in zip(final, y_true))
    p, r, f, s = precision_recall_fscore_support(y_true, final, labels=labels, zero_division=0)
    per_intent = {
        label: {
            "precision": rounded(float(p[i])),
            "recall": rounded(float(r[i])),
            "f1": rounded(float(f[i])),
            "support": int(s[i]),
            "fallback": sum(1 for t, q in zip(y_true, final) if t == label and q == FALLBACK_INTENT),
        }
        for i, label in enumerate(labels)
    }
    confusion = Counter((row["expected"], row["predicted"]) for row in rows if row["expected"] != row["predicted"])
    worst = [
        {
            "expected": e,
            "predicted": q,
            "count": c,
            "examples": [row["text"] for row in rows if (row["expected"], row["predicted"]) == (e, q)][:3],
        }
        for (e, q), c in confusion.most_common(12)
    ]
    confident_wrong = [row for row in rows if row["predicted"] not in (row["expected"], FALLBACK_INTENT)]
    micro = Tally()  # over the annotated types only: an extra type a component emits is not an error here
    annotated = {e["entity"] for ex in examples for e in ex.entities}
    for t in (value_tally[name] for name in annotated if name in value_tally):
        micro.tp, micro.fp, micro.fn = micro.tp + t.tp, micro.fp + t.fp, micro.fn + t.fn
    known = set(model_intents) if model_intents is not None else None
    return {
        "examples": n,
        "intents": len(labels),
        "intent": {
            "accuracy": rounded(correct_n / n),
            "macro_f1": rounded(float(f1_score(y_true, final, labels=labels, average="macro", zero_division=0))),
            "fallback_share": rounded(fallback_n / n),
            "confident_wrong_share": rounded(len(confident_wrong) / n),
            "raw_accuracy": rounded(sum(q == t for q, t in zip(raw, y_true)) / n),
            "raw_macro_f1": rounded(float(f1_score(y_true, raw, labels=labels, average="macro", zero_division=0))),
            "per_intent": per_intent,
            "worst_confusions": worst,
            "confident_wrong_examples": sorted(confident_wrong, key=lambda row: -row["confidence"]),
            "holdout_intents_unknown_to_model": sorted(set(labels) - known) if known is not None else None,
        },
        "entities": {
            "by_value": {k: v.as_dict() for k, v in sorted(value_tally.items())},
            "by_span": {k: v.as_dict() for k, v in sorted(span_tally.items())},
            "micro_by_value": micro.as_dict(),
            "errors": entity_errors,
        },
        "latency_ms": {
            "n": len(latencies_ms),
            "p50": _percentile(latencies_ms, 50),
            "p95": _percentile(latencies_ms, 95),
            "max": round(max(latencies_ms), 2) if latencies_ms else None,
        },
    }


# ------------------------------------------------------------------------------------------- running


class Parser(Protocol):
    async def parse_message(self, message_data: str) -> dict[str, Any]: ...


async def parse_all(agent: Parser, texts: Sequence[str]) -> tuple[list[dict[str, Any]], list[float]]:
    """Parse every text once, timing each call; one warm-up parse first (jieba loads lazily)."""
    await agent.parse_message("你好")
    parses, latencies = [], []
    for text in texts:
        started = time.perf_counter()
        parses.append(await agent.parse_message(text))
        latencies.append((time.perf_counter() - started) * 1000.0)
    return parses, latencies


def quiet_rasa() -> None:
    """Rasa logs every parse at debug level through structlog; the figures would drown in it."""
    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)


def load_agent(model: Path) -> Any:
    """Rasa Agent for the model; BenchError (not a traceback) when it cannot be loaded."""
    # Imported here, not at the top: rasa.core.agent brings TensorFlow, about 5 s to import (the rest of
    # this module: under 2 s), which the gate's pure functions and `bench/nlu.py --help` do not need.
    from rasa.core.agent import Agent  # noqa: PLC0415 - lazy import, reason above

    quiet_rasa()

    try:
        agent = Agent.load(str(model))
    except Exception as exc:  # any loading failure means the same thing to the operator
        raise BenchError(f"模型无法加载 / cannot load model {model}: {type(exc).__name__}: {exc}") from exc
    if not agent.is_ready():
        raise BenchError(f"模型无法加载 / model not ready: {model}")
    return agent


async def load_and_parse(model: Path, texts: Sequence[str]) -> tuple[Any, list[dict[str, Any]], list[float]]:
    """Load and parse inside one event loop (the agent's processor belongs to the loop it runs on)."""
    agent = load_agent(model)
    parses, latencies = await parse_all(agent, texts)
    return agent, parses, latencies


def floor_failures(result: dict[str, Any], holdout: Holdout) -> list[str]:
    """Human-readable reasons the result misses one of the hold-out's floors (empty list = passes)."""
    failures = []
    intent = result["intent"]
    tag = f"[{holdout.name}] "
    if intent["macro_f1"] < holdout.min_macro_f1:
        failures.append(f"{tag}意图 macro-F1 {intent['macro_f1']:.3f} < {holdout.min_macro_f1} (intent macro-F1)")
    if intent["confident_wrong_share"] > holdout.max_confident_wrong:
        failures.append(
            f"{tag}高置信度误判 {intent['confident_wrong_share']:.1%} > "
            f"{holdout.max_confident_wrong:.0%} (confidently wrong)"
        )
    recall = result["entities"]["micro_by_value"]["recall"]
    if holdout.min_entity_recall is not None and recall is not None and recall < holdout.min_entity_recall:
        failures.append(f"{tag}实体召回率 {recall:.3f} < {holdout.min_entity_recall} (entity recall by value)")
    return failures


# --------------------------------------------------------------------------------------------- the run


def inputs_newer_than(model: Path) -> list[Path]:
    """Training inputs changed after the model was written: the figures may then describe an older model."""
    return [p for p in training_inputs() if p.is_file() and p.stat().st_mtime > model.stat().st_mtime]


def run_facts(model: Path, fallback: FallbackSettings, model_older_than_data: bool) -> dict[str, Any]:
    """What every hold-out result of one run shares: when, which model, data and rulebook, which threshold."""
    return {
        "date": datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds"),
        "model": model.name,
        "model_mtime": datetime.fromtimestamp(model.stat().st_mtime).isoformat(timespec="seconds"),
        "model_older_than_data": model_older_than_data,
        "data_hash": content_hash(training_inputs()),
        "rulebook_version": rulebook_version(),
        "fallback": {
            "threshold": fallback.threshold,
            "ambiguity_threshold": fallback.ambiguity_threshold,
            "source": fallback.source,
        },
    }


def holdout_result(
    common: dict[str, Any],
    holdout: Holdout,
    examples: Sequence[Example],
    parses: Sequence[dict[str, Any]],
    latencies_ms: Sequence[float],
    fallback: FallbackSettings,
    model_intents: Iterable[str] | None,
    nlu_data: Path,
) -> dict[str, Any]:
    """One hold-out's result: the run's facts, the file and its floors, and every figure (`evaluate`)."""
    return {
        **common,
        "holdout": {
            "name": holdout.name,
            "path": str(holdout.path),
            "sha": content_hash([holdout.path], holdout.path.parent),
            "also_in_training": training_overlap(examples, nlu_data),
            "floors": {
                "min_macro_f1": holdout.min_macro_f1,
                "max_confident_wrong": holdout.max_confident_wrong,
                "min_entity_recall": holdout.min_entity_recall,
            },
        },
        **evaluate(examples, parses, latencies_ms, fallback, model_intents),
    }


def check(results: Iterable[tuple[Holdout, dict[str, Any]]], agent: Any) -> list[str]:
    """Every reason the gate fails (empty list = passes): a hold-out below one of its floors, or a reviewed
    message the model no longer classifies as staff labelled it (issue 14, bot.learning.regression)."""
    failures = [failure for holdout, result in results for failure in floor_failures(result, holdout)]
    return failures + reviewed_failures(agent)
