"""Regression check of the NLU gate: every reviewed message (data/nlu/reviewed/reviewed.yml; hard.yml is
exempt) must be classified by the model as staff labelled it.

Why: a message staff corrected once must not slip back in a later model. The NLU gate (bot.nlu.gate,
`make test-nlu`) calls `reviewed_failures(agent)` next to its hold-out floors; `python -m bot nlu
check-reviewed` runs it alone.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.learning.reviewed import REVIEWED_DIR, REVIEWED_FILE, Reviewed, read_reviewed
from bot.runner import model_path


def must_pass(directory: Path = REVIEWED_DIR) -> list[Reviewed]:
    return [r for r in read_reviewed(directory) if not r.hard]


def misclassified(examples: Sequence[Reviewed], parses: Sequence[dict[str, Any]]) -> list[str]:
    """Messages (Chinese) for every example whose parse's final intent differs from its label."""
    out = []
    for example, parse in zip(examples, parses, strict=True):
        got = (parse.get("intent") or {}).get("name")
        if got != example.intent:
            out.append(f"复核过的消息「{example.text}」应为 {example.intent}，模型给出 {got}")
    return out


async def _parse_all(agent: Any, texts: Sequence[str]) -> list[dict[str, Any]]:
    return [await agent.parse_message(t) for t in texts]


def reviewed_failures(agent: Any, directory: Path = REVIEWED_DIR) -> list[str]:
    """Failure messages for `agent` (a loaded rasa Agent); [] when every non-hard reviewed message passes
    or there are none."""
    examples = must_pass(directory)
    if not examples:
        return []
    parses = asyncio.run(_parse_all(agent, [e.text for e in examples]))
    failures = misclassified(examples, parses)
    print(f"复核回归：{len(examples) - len(failures)}/{len(examples)} 条分类正确（{directory / REVIEWED_FILE}）")
    return failures


def main(model: Path | None = None, directory: Path = REVIEWED_DIR) -> int:
    # lazy: loading a model needs rasa.core.agent, i.e. TensorFlow (+5,500 modules, ~7 s here), and Rasa's
    # logging set-up (~0.3 s); `python -m bot nlu export-reviewed` imports this module and needs neither
    from rasa.core.agent import Agent  # noqa: PLC0415 - lazy import, reason above
    from rasa.utils.common import configure_logging_and_warnings  # noqa: PLC0415 - lazy import, reason above
    from rasa.utils.log_utils import configure_structlog  # noqa: PLC0415 - lazy import, reason above

    configure_logging_and_warnings(logging.WARNING)  # rasa logs every parse at debug level otherwise
    configure_structlog(logging.WARNING)
    model = model or model_path()
    if not model.is_file():
        print(f"找不到模型 {model}：先运行 make train", file=sys.stderr)
        return 2
    failures = reviewed_failures(Agent.load(str(model)), directory)
    for failure in failures:
        print(failure, file=sys.stderr)
    return 1 if failures else 0
