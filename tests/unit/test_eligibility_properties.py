"""Property tests: arithmetic and decisions stay consistent, and no input crashes the engine."""

from __future__ import annotations

from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.eligibility import PROGRAMS, CaseError, evaluate
from bot.rulebook import default_rulebook

RB = default_rulebook()
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

member = st.fixed_dictionaries(
    {
        "monthly_income": st.floats(min_value=0, max_value=20000, allow_nan=False).map(lambda x: round(x, 2)),
        "income_type": st.sampled_from(["wage", "farming", "pension", "other", "scholarship", "basic_pension_central"]),
        "age": st.integers(0, 100),
        "disability_level": st.none() | st.integers(1, 4),
        "disability_kind": st.none() | st.sampled_from(["physical", "mental", "visual"]),
        "serious_illness": st.booleans(),
    }
)
cases = st.fixed_dictionaries(
    {
        "program": st.sampled_from(PROGRAMS),
        "as_of": st.dates(date(2014, 1, 1), date(2027, 12, 31)).map(date.isoformat),
        "district": st.sampled_from(list(RB.districts) + ["青龙", "开发区"]),
        "residence": st.sampled_from(["urban", "rural"]),
        "household": st.lists(member, min_size=1, max_size=6),
        "rigid_expenses_monthly": st.fixed_dictionaries(
            {"medical": st.integers(0, 5000), "education": st.integers(0, 2000)}
        ),
        "assets": st.fixed_dictionaries(
            {"deposits": st.integers(0, 200000), "private_cars": st.integers(0, 2), "homes": st.integers(0, 3)}
        ),
        "receiving_dibao": st.none() | st.booleans(),
        "income_rose_due_to_employment": st.none() | st.booleans(),
        "has_able_supporter": st.none() | st.booleans(),
        "hardship_kind": st.none() | st.sampled_from(["emergency", "expenditure", "none"]),
        "job": st.fixed_dictionaries(
            {
                "poverty_alleviated": st.none() | st.booleans(),
                "months_employed": st.integers(0, 24),
                "work_location": st.sampled_from(["outside_province", "inside_province", "local"]),
            }
        ),
    }
)


@SETTINGS
@given(cases)
def test_arithmetic_and_decision_are_consistent(case) -> None:
    r = evaluate(case, RB)
    if r["gross_income_monthly"] is not None:
        total = sum(d["amount"] for d in r["deductions"])
        size = len(case["household"]) if case["program"] != "extreme_poverty" else 1
        assert all(d["amount"] >= 0 for d in r["deductions"])
        assert total <= r["gross_income_monthly"] + 0.01
        assert abs(r["per_capita_income_monthly"] - round((r["gross_income_monthly"] - total) / size, 2)) <= 0.011
        assert r["per_capita_income_monthly"] >= 0
    passed = [c["passed"] for c in r["conditions"]]
    expected = False if False in passed else (None if None in passed else True)
    assert r["eligible"] is expected


@SETTINGS
@given(cases, st.floats(min_value=1, max_value=5000, allow_nan=False))
def test_more_income_never_helps(case, extra) -> None:
    """Monotonic: raising a member's income never turns a dibao 'not eligible' or 'unknown' into eligible."""
    case = dict(case, program="dibao")
    before = evaluate(case, RB)["eligible"]
    richer = dict(
        case,
        household=[
            dict(case["household"][0], monthly_income=case["household"][0]["monthly_income"] + extra),
            *case["household"][1:],
        ],
    )
    after = evaluate(richer, RB)["eligible"]
    rank = {True: 2, None: 1, False: 0}
    assert rank[after] <= rank[before]


junk = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@SETTINGS
@given(
    st.fixed_dictionaries(
        {
            "program": st.sampled_from(PROGRAMS) | junk,
            "district": st.sampled_from(["海港", "x"]) | junk,
            "residence": st.sampled_from(["urban", "rural"]) | junk,
            "household": st.lists(
                st.dictionaries(
                    st.sampled_from(
                        ["monthly_income", "age", "disability_level", "income_type", "income_items", "relation"]
                    ),
                    junk,
                    max_size=4,
                ),
                max_size=3,
            )
            | junk,
            "assets": junk,
            "job": junk,
            "as_of": junk,
            "rigid_expenses_monthly": junk,
        }
    )
)
def test_no_input_crashes_the_engine(case) -> None:
    try:
        result = evaluate(case, RB)
    except CaseError as err:
        assert err.code and err.message_zh
    else:
        assert result["eligible"] in (True, False, None)
