"""`python -m bot eligibility [--policies DIR] < case.json`: one case (or facts, see bot.eligibility.intake) JSON
in, one result JSON out.

Exit 0 with the result; exit 2 with {"error": {...}} on stdout for invalid input (never a traceback);
exit 3 with {"error": {"code": "rulebook_invalid", ...}} when the rulebook itself is broken.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from bot.eligibility import CaseError
from bot.eligibility.intake import check
from bot.rulebook import RulebookError, default_rulebook, load_rulebook


def _reject_constant(name: str) -> Any:
    raise ValueError(f"不支持的数值 {name}")


def _print(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2) + "\n")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot eligibility", description="从标准输入读取一个案例 JSON，输出判断结果 JSON"
    )
    parser.add_argument("--policies", help="规则目录（默认 policies/ 或环境变量 POLICIES_DIR）")
    args = parser.parse_args(argv)
    try:
        rb = load_rulebook(args.policies) if args.policies else default_rulebook()
    except RulebookError as exc:
        _print(
            {
                "error": {
                    "code": "rulebook_invalid",
                    "message_zh": f"规则文件有误：{exc.file} 的 {exc.field}：{exc.message_zh}",
                    "field": exc.field,
                }
            }
        )
        return 3
    raw = sys.stdin.buffer.read()
    try:
        case = json.loads(raw.decode("utf-8-sig"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        reason = "嵌套过深" if isinstance(exc, RecursionError) else str(exc)[:200]
        _print(CaseError("invalid_json", f"输入不是有效的 JSON：{reason}", None).to_json())
        return 2
    try:
        _, result = check(case, rb)
    except CaseError as exc:
        _print(exc.to_json())
        return 2
    _print(result)
    return 0
