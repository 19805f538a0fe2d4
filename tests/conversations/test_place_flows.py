"""A resident who names only a township or street, over the REST webhook of real running servers.

Districts are typed by hand from the gazetteer's source (NBS 2022 codes): 驻操营镇 130302107 and
石门寨镇 130302106 are in 海港区 (130302); 大蒲河 is both 昌黎县's 大蒲河镇 and 北戴河新区's 大蒲河管理处.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, text

from tests.conversations.test_rest_flows import DIBAO_ANSWERS, HELP_ANSWERS, converse, joined
from tests.support.data_stack import REFERENCE

pytestmark = pytest.mark.timeout(600)


def test_eligibility_form_takes_a_township_for_the_district(stack):
    sender = f"t-{uuid.uuid4().hex[:8]}"
    summary = converse(
        stack, sender, "我想问问我家能不能吃低保", dict(DIBAO_ANSWERS, 哪个区县="驻操营镇"), until=("我核对一下",)
    )
    assert "海港区" in summary


def test_an_ambiguous_place_is_asked_again_then_a_district_is_taken(stack):
    sender = f"t-{uuid.uuid4().hex[:8]}"
    assert "哪个区县" in joined(stack.say(sender, "我想问问我家能不能吃低保"))
    again = joined(stack.say(sender, "大蒲河"))
    assert "区县" in again and "城镇户" not in again  # asked again, not moved on with a guess
    summary = converse(stack, sender, "昌黎", DIBAO_ANSWERS, until=("我核对一下",))
    assert "昌黎县" in summary


def test_help_request_keeps_the_township_and_records_its_district(stack):
    sender = f"t-{uuid.uuid4().hex[:8]}"
    answers = dict(HELP_ANSWERS, 哪个区县="石门寨镇", 手机号="13812345679")
    result = converse(stack, sender, "我想登记一下求助", answers)
    reference = REFERENCE.search(result)
    assert reference, result
    with create_engine(stack.env["DATABASE_URL"], future=True).connect() as conn:
        row = (
            conn.execute(
                text("select district, township from qhd_help_requests where reference_no = :r"),
                {"r": reference.group(0)},
            )
            .mappings()
            .one()
        )
    assert (row["district"], row["township"]) == ("海港区", "石门寨镇")
