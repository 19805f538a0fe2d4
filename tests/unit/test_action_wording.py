"""What actions say comes from actions/texts.yml: no Chinese sentence is written into an action's call."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ACTIONS = Path(__file__).resolve().parents[2] / "actions"
CHINESE = re.compile(r"[\u4e00-\u9fff]")
# Calls whose arguments reach the resident: a message, or the hint a form re-asks with.
SPEAKING_CALLS = {"utter_message", "closed_choice", "read_back_answer"}


def _called_name(call: ast.Call) -> str | None:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None


def test_actions_send_no_inline_chinese_wording() -> None:
    inline = []
    for path in sorted(ACTIONS.glob("*.py")):
        for call in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(call, ast.Call) or _called_name(call) not in SPEAKING_CALLS:
                continue
            for argument in [*call.args, *(k.value for k in call.keywords)]:
                for node in ast.walk(argument):
                    if isinstance(node, ast.Constant) and isinstance(node.value, str) and CHINESE.search(node.value):
                        inline.append(f"{path.name}:{node.lineno}: {node.value}")
    assert inline == [], "put these into actions/texts.yml:\n" + "\n".join(inline)
