"""Phone / 身份证 validation and masking (bot.privacy)."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import ric

from bot.privacy import MaskingLogFilter, mask_id, mask_phone, mask_text, normalise_phone, phone_last4, valid_id_number


def _id_with_check_digit(first17: str) -> str:
    """Complete 17 digits with their computed check digit (stdnum expects a placeholder last digit)."""
    return first17 + ric.calc_check_digit(first17 + "0")


# A synthetic number: region 130302 (海港区), birth date 1990-01-01, sequence 123. Not a real person's.
VALID_ID = _id_with_check_digit("13030219900101123")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("13812345678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("１３８１２３４５６７８", "13812345678"),
        ("0335-3012345", "0335-3012345"),
        ("(0335)3012345", "0335-3012345"),
        ("03353012345", "0335-3012345"),
        ("010-82345678", "010-82345678"),
    ],
)
def test_normalise_phone_accepts_mobiles_and_area_coded_landlines(text: str, expected: str) -> None:
    assert normalise_phone(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "12345", "3012345", "12812345678", "1381234567", "138123456789", "0335-1012345", "电话", None, 13812345678],
)
def test_normalise_phone_refuses_everything_else(text: object) -> None:
    assert normalise_phone(text) is None  # type: ignore[arg-type]  # None and an int on purpose


def test_phone_last4() -> None:
    assert phone_last4("13812345678") == "5678" and phone_last4("0335-3012345") == "2345"


def test_valid_id_number_checks_the_checksum() -> None:
    assert valid_id_number(VALID_ID) == VALID_ID
    assert valid_id_number(f" {VALID_ID[:6]} {VALID_ID[6:14]} {VALID_ID[14:]} ") == VALID_ID
    wrong_check = VALID_ID[:-1] + ("0" if VALID_ID[-1] != "0" else "1")
    assert valid_id_number(wrong_check) is None
    assert valid_id_number(VALID_ID[:-1]) is None  # 17 characters
    assert valid_id_number(_id_with_check_digit("13030219901301123")) is None  # month 13
    assert valid_id_number(None) is None


def test_valid_id_number_accepts_lower_case_x_check_digit() -> None:
    with_x = next(n for n in (_id_with_check_digit(f"13030219900101{s:03d}") for s in range(1000)) if n.endswith("X"))
    assert valid_id_number(with_x.lower()) == with_x


def test_mask_phone_and_id() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("138 1234 5678") == "138****5678"
    assert mask_phone("0335-3012345") == "0335-***2345"
    assert mask_phone("98765") == "*8765"
    assert mask_id(VALID_ID) == VALID_ID[:6] + "*" * 8 + VALID_ID[-4:]
    assert mask_phone(None) == "" and mask_id("") == ""


def test_mask_text_masks_every_number_and_keeps_the_rest() -> None:
    text = (
        f"我叫张三，手机13812345678，家里座机0335-3012345，身份证{VALID_ID}，"
        f"记错的身份证{VALID_ID[:-1]}0，全角１３９１２３４５６７８。订单12345，三口人。"
    )
    masked = mask_text(text)
    assert "13812345678" not in masked and "138****5678" in masked
    assert "0335-***2345" in masked
    assert VALID_ID not in masked and VALID_ID[:6] + "*" * 8 + VALID_ID[-4:] in masked
    assert VALID_ID[:-1] not in masked  # an ID with a wrong checksum is still personal data
    assert "１３９****５６７８" in masked
    assert masked.startswith("我叫张三，手机") and masked.endswith("订单12345，三口人。")
    assert len(masked) == len(text)


@given(
    st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True),
    st.sampled_from(["", " ", "-"]),
    st.sampled_from(["电话", "号码是", "call "]),
)
def test_mask_text_never_leaks_the_middle_of_a_mobile(number: str, sep: str, prefix: str) -> None:
    shown = f"{number[:3]}{sep}{number[3:7]}{sep}{number[7:]}"
    assert mask_text(f"{prefix}{shown}，谢谢") == f"{prefix}{number[:3]}{sep}****{sep}{number[7:]}，谢谢"


def test_masking_log_filter(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test_privacy_filter")
    handler_filter = MaskingLogFilter()
    logger.addFilter(handler_filter)
    try:
        with caplog.at_level(logging.INFO, logger="test_privacy_filter"):
            logger.info("resident %s wrote %s", "s1", "我的电话13812345678")
    finally:
        logger.removeFilter(handler_filter)
    assert "138****5678" in caplog.text and "13812345678" not in caplog.text
