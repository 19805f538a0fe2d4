"""Runs the YAML rule cases of tests/cases/ against the engine.

Figures are read from the rulebook, never written in the cases: a mapping {rulebook: <id>} stands for
the value in force for the case's date and place (options: times, per_month, as_of, district,
times_param), so a changed YAML figure moves inputs and expectations together.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.eligibility import evaluate
from bot.rulebook import Rulebook, default_rulebook

CASES_DIR = Path(__file__).resolve().parents[1] / "cases"
MONTHS = 12


def _load() -> list[tuple[str, dict]]:
    out = []
    for path in sorted(CASES_DIR.glob("*.yml")):
        for item in yaml.safe_load(path.read_text(encoding="utf-8")):
            out.append((f"{path.stem}: {item['name']}", item))
    return out


def resolve(node: Any, rb: Rulebook, case: dict) -> Any:
    """Replace every {rulebook: id, ...} by the figure it names."""
    if isinstance(node, dict) and "rulebook" in node:
        on = date.fromisoformat(str(node.get("as_of", case["as_of"])))
        district = node.get("district", case["district"])
        value = rb.value(node["rulebook"], on, district, case.get("residence")).value
        assert value is not None, f"rulebook figure {node['rulebook']} is not set"
        value = float(value)
        if node.get("per_month"):
            value = round(value / MONTHS, 2)
        if "times_param" in node:
            value *= float(rb.value(node["times_param"], on, district, case.get("residence")).value)
        return round(value * float(node.get("times", 1)), 2)
    if isinstance(node, dict):
        return {k: resolve(v, rb, case) for k, v in node.items()}
    if isinstance(node, list):
        return [resolve(v, rb, case) for v in node]
    return node


@pytest.mark.parametrize("name,item", _load(), ids=[n for n, _ in _load()])
def test_case(name: str, item: dict) -> None:
    rb = default_rulebook()
    raw = item["case"]
    case = resolve(raw, rb, raw)
    result = evaluate(case, rb)
    expect = resolve(item["expect"], rb, raw)
    for key, want in expect.items():
        if key == "conditions":
            got = {c["id"]: c["passed"] for c in result["conditions"]}
            for cid, passed in want.items():
                assert got[cid] is passed, f"{cid}: {got[cid]} != {passed}\n{result['explanation_zh']}"
        elif key == "members":
            got = {m["index"]: m["eligible"] for m in result["members"]}
            for index, eligible in want.items():
                assert got[int(index)] is eligible, f"member {index}: {result['members']}"
        elif key == "subsidies":
            got = {s["id"]: s for s in result["subsidies"]}
            for sid, fields in want.items():
                for field, value in fields.items():
                    assert got[sid][field] == value, f"{sid}.{field}: {got[sid][field]!r} != {value!r}"
        elif key == "caveat_contains":
            text = "\n".join(result["caveats_zh"])
            for fragment in want:
                assert fragment in text, f"caveats lack {fragment!r}:\n{text}"
        elif key == "deduction_kinds":
            assert [d["kind"] for d in result["deductions"]] == want
        elif key == "eligible":
            assert result["eligible"] is want, result["explanation_zh"]
        else:
            assert result[key] == want, f"{key}: {result[key]!r} != {want!r}"


def test_every_program_has_cases() -> None:
    from bot.eligibility import PROGRAMS
    programs = {item["case"]["program"] for _, item in _load()}
    assert programs == set(PROGRAMS)
