"""`python -m bot nlu export-reviewed`: staff-labelled messages -> Rasa NLU YAML in data/nlu/reviewed/.

- reviewed.yml: messages every new model must classify as labelled (bot.learning.regression checks)
- hard.yml: messages staff marked hard — trained on, but not held against the model

Idempotent and additive: what the files already hold is kept (a fresh database does not erase earlier
reviews; the files are the team's record, committed with the rest of data/), the database's labels are
laid over it (a later review of the same text wins). A message whose text (punctuation and spaces aside)
is already in the other training data, or in the NLU hold-out sets (tests/nlu/holdout*.yml), is left
out; one that is in the training data under ANOTHER intent is reported as a conflict for a person to
settle. Entities are not annotated: the text is written as the resident typed
it (masked), with square brackets made full-width so Rasa cannot read them as an annotation.

`python -m bot nlu check-reviewed [--model M]` runs the regression check on its own (bot.learning.regression).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from bot.learning import regression
from bot.learning.reviewed import HARD_FILE, NLU_DIR, REVIEWED_DIR, REVIEWED_FILE, Reviewed, nlu_examples, read_reviewed
from bot.learning.store import labelled_items
from bot.settings import REPO_ROOT

HOLDOUT_DIR = REPO_ROOT / "tests" / "nlu"
HEADER = (
    "# Written by `python -m bot nlu export-reviewed` from the staff review inbox (/staff/learning).\n"
    "# Real residents' messages (phone and ID numbers masked); entities are not annotated.\n"
)


def squash(text: str) -> str:
    """Comparison key for 'the same example': no punctuation, no whitespace, lower case."""
    return re.sub(r"[\W_]+", "", text).lower()


def clean_example(text: str) -> str:
    """One line, no leading list marker, no brackets Rasa would parse as an entity annotation."""
    text = " ".join(text.split())
    text = text.replace("[", "［").replace("]", "］")
    return text.lstrip("-").strip()


def training_examples(nlu_dir: Path = NLU_DIR, exclude: Path | None = REVIEWED_DIR) -> dict[str, set[str]]:
    """squashed text -> intents it is a training example of, from every NLU file outside `exclude`."""
    index: dict[str, set[str]] = {}
    for path in sorted(nlu_dir.rglob("*.yml")):
        if exclude is not None and exclude in path.parents:
            continue
        for text, intent in nlu_examples(path):
            if text and intent:
                index.setdefault(squash(text), set()).add(intent)
    return index


def holdout_keys(directory: Path = HOLDOUT_DIR) -> set[str]:
    """Squashed texts of the NLU hold-out sets (tests/nlu/holdout*.yml): never to be trained on, or the
    hold-out gate would measure memory."""
    keys: set[str] = set()
    for path in sorted(directory.glob("holdout*.yml")):
        keys |= {squash(text) for text, _ in nlu_examples(path) if text}
    return keys


def merge(
    existing: Iterable[Reviewed],
    labelled: Iterable[dict],
    training: dict[str, set[str]],
    held_out: set[str] | None = None,
) -> tuple[list[Reviewed], list[str], list[str]]:
    """(examples to write, texts skipped as already trained or held out, conflict messages). Later
    entries win."""
    chosen: dict[str, Reviewed] = {}
    for item in list(existing) + [
        Reviewed(clean_example(i["text"]), i["label"], bool(i.get("hard"))) for i in labelled
    ]:
        text = clean_example(item.text)
        if squash(text):
            chosen[squash(text)] = Reviewed(text, item.intent, item.hard)
    keep, skipped, conflicts = [], [], []
    for key, item in chosen.items():
        known = training.get(key)
        if key in (held_out or ()):
            skipped.append(item.text)  # a hold-out example: the gate must keep measuring understanding
        elif known is None:
            keep.append(item)
        elif item.intent in known:
            skipped.append(item.text)
        else:
            conflicts.append(f"「{item.text}」：复核为 {item.intent}，训练数据里是 {'/'.join(sorted(known))}")
    return keep, skipped, conflicts


def render(examples: Sequence[Reviewed]) -> str:
    """Rasa NLU YAML (version 3.1), intents and examples sorted so the file diffs well."""
    lines = [HEADER, 'version: "3.1"', "", "nlu:"]
    by_intent: dict[str, list[str]] = {}
    for e in examples:
        by_intent.setdefault(e.intent, []).append(e.text)
    for intent in sorted(by_intent):
        lines.append(f"- intent: {intent}")
        lines.append("  examples: |")
        lines += [f"    - {t}" for t in sorted(by_intent[intent])]
    return "\n".join(lines) + "\n"


def export(
    out_dir: Path = REVIEWED_DIR, nlu_dir: Path = NLU_DIR, url: str | None = None, holdout_dir: Path = HOLDOUT_DIR
) -> dict:
    examples, skipped, conflicts = merge(
        read_reviewed(out_dir), labelled_items(url), training_examples(nlu_dir, out_dir), holdout_keys(holdout_dir)
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, hard in ((REVIEWED_FILE, False), (HARD_FILE, True)):
        part = [e for e in examples if e.hard == hard]
        path = out_dir / name
        if part:
            path.write_text(render(part), encoding="utf-8")
        elif path.exists():
            path.unlink()
        written[name] = len(part)
    return {"written": written, "skipped": skipped, "conflicts": conflicts}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot nlu", description="复核过的消息 -> NLU 训练数据")
    sub = parser.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("export-reviewed", help="把业务人员标注过的消息写入 data/nlu/reviewed/")
    ex.add_argument("--out", type=Path, default=REVIEWED_DIR)
    ex.add_argument("--nlu-data", type=Path, default=NLU_DIR)
    ex.add_argument("--database-url", default=None)
    check = sub.add_parser("check-reviewed", help="新模型是否把每条复核过的消息分对（难例除外）")
    check.add_argument("--model", type=Path, default=None)
    check.add_argument("--reviewed", type=Path, default=REVIEWED_DIR)
    args = parser.parse_args(argv)
    if args.command == "check-reviewed":
        return regression.main(args.model, args.reviewed)
    result = export(args.out, args.nlu_data, args.database_url)
    for name, count in result["written"].items():
        print(f"{args.out / name}: {count} 条")
    if result["skipped"]:
        print(f"已在训练数据或留出测试集中，跳过 {len(result['skipped'])} 条")
    for conflict in result["conflicts"]:
        print(f"冲突（未写入，请人工处理）：{conflict}", file=sys.stderr)
    return 0
