"""Runs the YAML rule cases of tests/cases/ against the engine.

Inputs and expected outputs are literal values typed by hand (OpenFisca style): nothing is computed from
the rulebook, so a wrong figure in policies/ fails a case instead of moving with it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.eligibility import evaluate
from bot.rulebook import default_rulebook

CASES_DIR = Path(__file__).resolve().parents[1] / "cases"


def _load() -> list[tuple[str, dict]]:
    out = []
    for path in sorted(CASES_DIR.glob("*.yml")):
        for item in yaml.safe_load(path.read_text(encoding="utf-8")):
            out.append((f"{path.stem}: {item['name']}", item))
    return out


@pytest.mark.parametrize("name,item", _load(), ids=[n for n, _ in _load()])
def test_case(name: str, item: dict) -> None:
    rb = default_rulebook()
    result = evaluate(item["case"], rb)
    for key, want in item["expect"].items():
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
        elif key == "estimate" and want is not None:
            assert result["estimate"] is not None, result["explanation_zh"]
            for field, value in want.items():
                assert result["estimate"][field] == value, f"estimate.{field}: {result['estimate']}"
        elif key == "eligible":
            assert result["eligible"] is want, result["explanation_zh"]
        else:
            assert result[key] == want, f"{key}: {result[key]!r} != {want!r}"


def test_every_program_has_cases() -> None:
    from bot.eligibility import PROGRAMS

    programs = {item["case"]["program"] for _, item in _load()}
    assert programs == set(PROGRAMS)
