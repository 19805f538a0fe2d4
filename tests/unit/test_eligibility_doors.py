"""Invalid input gets a clear exit-2 JSON error (CLI) or CaseError (API); valid input the contract's JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.eligibility import PROGRAMS, CaseError, evaluate
from bot.rulebook import default_rulebook

REPO = Path(__file__).resolve().parents[2]
BASE = {
    "program": "dibao",
    "as_of": "2026-11-29",
    "district": "海港区",
    "residence": "urban",
    "household": [{"relation": "self", "monthly_income": 900}],
}
CONTRACT_KEYS = {
    "program",
    "eligible",
    "standard_monthly",
    "gross_income_monthly",
    "deductions",
    "per_capita_income_monthly",
    "conditions",
    "explanation_zh",
    "caveats_zh",
    "rulebook_version",
}


def _run(stdin: str, *args: str) -> tuple[int, dict]:
    out = subprocess.run(
        [sys.executable, "-m", "bot", "eligibility", *args],
        cwd=REPO,
        input=stdin.encode(),
        capture_output=True,
        timeout=60,
    )
    assert b"Traceback" not in out.stderr + out.stdout
    return out.returncode, json.loads(out.stdout)


def _with(**changes) -> dict:
    case = json.loads(json.dumps(BASE))
    for key, value in changes.items():
        if value is ...:
            case.pop(key)
        else:
            case[key] = value
    return case


BAD = [
    ("empty_household", _with(household=[]), "household"),
    ("missing_field", _with(household=...), "household"),
    ("negative_amount", _with(household=[{"monthly_income": -5}]), "household[0].monthly_income"),
    ("absurd_amount", _with(household=[{"monthly_income": 1e12}]), "household[0].monthly_income"),
    ("invalid_number", _with(household=[{"monthly_income": "九百"}]), "household[0].monthly_income"),
    ("invalid_number", _with(household=[{"monthly_income": True}]), "household[0].monthly_income"),
    ("unknown_district", _with(district="石家庄"), "district"),
    ("unknown_program", _with(program="pension"), "program"),
    ("missing_field", _with(residence=...), "residence"),
    ("invalid_value", _with(residence="city"), "residence"),
    ("invalid_date", _with(as_of="2026/11/29"), "as_of"),
    ("invalid_value", _with(household=[{"disability_level": 7}]), "household[0].disability_level"),
    ("absurd_amount", _with(assets={"deposits": 5e12}), "assets.deposits"),
    ("invalid_number", _with(assets={"homes": 1.5}), "assets.homes"),
    ("missing_field", _with(program="job_subsidy"), "job"),
    ("invalid_case", [1, 2], None),
]


@pytest.mark.parametrize("code,case,field", BAD, ids=[f"{c}:{f}" for c, _, f in BAD])
def test_invalid_case_raises_case_error(code, case, field) -> None:
    with pytest.raises(CaseError) as err:
        evaluate(case, default_rulebook())
    assert err.value.code == code and err.value.field == field
    assert err.value.to_json()["error"]["message_zh"]


@pytest.mark.parametrize(
    "stdin,code",
    [
        ("not json", "invalid_json"),
        (
            '{"program": "dibao", "district": "海港区", "residence": "urban", "household": [{"monthly_income": NaN}]}',
            "invalid_json",
        ),
        (json.dumps(_with(household=[])), "empty_household"),
        (json.dumps(_with(district="火星")), "unknown_district"),
        (json.dumps(_with(household=[{"monthly_income": "abc"}])), "invalid_number"),
    ],
)
def test_cli_exit_2_with_json_error(stdin, code) -> None:
    rc, body = _run(stdin)
    assert rc == 2 and body["error"]["code"] == code


def test_cli_valid_case_and_policies_option() -> None:
    rc, body = _run(json.dumps(_with(district="海港")), "--policies", str(REPO / "policies"))
    assert rc == 0 and CONTRACT_KEYS <= set(body)
    assert body["district"] == "海港区" and body["per_capita_income_monthly"] == 900.0


# Keys only one programme's answer carries; every other programme's answer must not carry them.
PROGRAM_KEYS = {
    "single_person": {"members"},
    "gradual_exit": {"gradual_exit_months"},
    "extreme_poverty": {"support_standard_monthly"},
    "job_subsidy": {"subsidies"},
}
PROGRAM_ONLY_KEYS = set().union(*PROGRAM_KEYS.values())


@pytest.mark.parametrize("program", PROGRAMS)
def test_every_program_answers_the_contract(program) -> None:
    case = _with(
        program=program,
        hardship_kind="emergency",
        receiving_dibao=True,
        job={
            "poverty_alleviated": True,
            "employer_type": "enterprise",
            "months_employed": 6,
            "work_location": "outside_province",
        },
    )
    result = evaluate(case, default_rulebook())
    assert CONTRACT_KEYS <= set(result)
    assert result["rulebook_version"] == default_rulebook().version
    assert result["eligible"] in (True, False, None)
    passed = [c["passed"] for c in result["conditions"]]
    assert (result["eligible"] is False) == (False in passed)
    for c in result["conditions"]:
        assert c["detail_zh"] and set(c["reference"]) == {"title", "url", "effective_from"}
    assert len(result["explanation_zh"].splitlines()) == len(result["conditions"]) + 1
    assert result["program"] == program
    assert PROGRAM_ONLY_KEYS & set(result) == PROGRAM_KEYS.get(program, set())


ODD_JSON = [
    '{"program": "dibao", "district": "海港区", "residence": "urban", "household": [{"monthly_income": '
    + "9" * 400
    + "}]}",
    "[" * 50000 + "]" * 50000,
    '{"program": ["dibao"], "district": {"a": 1}}',
    '{"program": "dibao", "district": "海港区", "residence": "urban", "household": [{"age": ' + "1" * 400 + "}]}",
    '{"program": "dibao", "district": "海港区", "residence": "urban", "household": [{"income_items": [{"type": "wage", "amount": -'
    + "9" * 400
    + "}]}]}",
    '{"program": "dibao", "district": "海港区", "household_size": "三", "incomes": 5}',
]


@pytest.mark.parametrize("raw", ODD_JSON, ids=range(len(ODD_JSON)))
def test_cli_answers_odd_json_with_exit_2_and_a_json_error(raw) -> None:
    code, body = _run(raw)
    assert code == 2 and body["error"]["code"] and body["error"]["message_zh"]
