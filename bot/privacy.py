"""Personal data helpers: validate and mask phone numbers and 居民身份证 numbers.

Why here: the help-request record is the only place a full phone number is kept. Everything that leaves
it (logs, audit details, transcripts shown to staff, analytics) goes through `mask_text` / `mask_phone`
first, so the masking rules live in exactly one module.
"""

from __future__ import annotations

import logging
import re
import unicodedata

from stdnum.cn import ric
from stdnum.exceptions import ValidationError

# Mainland mobile numbers: 1 followed by 3-9 and nine more digits, MOBILE_DIGITS in all (residents are told so).
MOBILE_DIGITS = 11
_MOBILE = re.compile(r"1[3-9]\d{9}")
# Area codes: 010 and 020-029 have three digits (followed by an 8-digit local number); all others four
# digits starting with 03-09 (followed by a 7- or 8-digit local number). Local numbers never start 0/1.
_LANDLINE_3 = re.compile(r"(0(?:10|2\d))([2-9]\d{7})")
_LANDLINE_4 = re.compile(r"(0[3-9]\d{2})([2-9]\d{6,7})")
_SEPARATORS = re.compile(r"[\s\-()（）—–.]")
_COUNTRY_PREFIX = re.compile(r"^(?:\+86|0086|86)(?=1[3-9]\d{9}$)")

# Patterns used inside free text (matched against a copy with full-width digits made ASCII, see
# `_PROBE`; that mapping is one character to one character, so match positions stay valid in the original).
_TEXT_ID = re.compile(r"(?<![0-9])([0-9]{17}[0-9Xx]|[0-9]{15})(?![0-9])")
_TEXT_MOBILE = re.compile(r"(?<![0-9])(?:(?:\+|00)?86[ -]?)?(1[3-9][0-9](?:[ -]?[0-9]){8})(?![0-9])")
_TEXT_LANDLINE = re.compile(r"(?<![0-9])(0(?:10|2[0-9])|0[3-9][0-9]{2})[ )-]?([2-9](?:[ -]?[0-9]){6,7})(?![0-9])")
# (pattern, group holding the digits to hide, digits left visible at the start, at the end)
_TEXT_RULES = ((_TEXT_ID, 1, 6, 4), (_TEXT_MOBILE, 1, 3, 4), (_TEXT_LANDLINE, 2, 0, 4))
_PROBE = str.maketrans(
    {
        **{chr(0xFF10 + i): str(i) for i in range(10)},
        "\uff0d": "-",
        "\u3000": " ",
        "\uff0b": "+",
        "\uff08": "(",
        "\uff09": ")",
        "\uff38": "X",
        "\uff58": "x",
    }
)


def _ascii(text: str) -> str:
    """Full-width digits and letters to ASCII (NFKC), so '１３８…' validates like '138…'."""
    return unicodedata.normalize("NFKC", text)


def normalise_phone(text: str | None) -> str | None:
    """Return a canonical phone number or None when `text` is not a plausible Chinese phone number.

    Mobile numbers come back as 11 digits ('13812345678', a +86 prefix is dropped); landlines need an
    area code and come back as '0335-3012345'. A landline without area code is refused: a call-back from
    another city would not reach it.
    """
    if not isinstance(text, str):
        return None
    compact = _SEPARATORS.sub("", _ascii(text).strip())
    compact = _COUNTRY_PREFIX.sub("", compact)
    if _MOBILE.fullmatch(compact):
        return compact
    for pattern in (_LANDLINE_3, _LANDLINE_4):
        match = pattern.fullmatch(compact)
        if match:
            return f"{match.group(1)}-{match.group(2)}"
    return None


def phone_last4(phone: str) -> str:
    """The last four digits of a (normalised) phone number, used for the resident's status lookup."""
    digits = re.sub(r"\D", "", phone)
    return digits[-4:]


def valid_id_number(text: str | None) -> str | None:
    """Return the 18-character 身份证 number (upper-case X) when its checksum, birth date and region are
    valid according to stdnum.cn.ric, else None."""
    if not isinstance(text, str):
        return None
    candidate = _SEPARATORS.sub("", _ascii(text).strip()).upper()
    if len(candidate) != 18:
        return None
    try:
        return ric.validate(candidate)
    except ValidationError:
        return None


def _mask_digits(digits: str, keep_head: int, keep_tail: int) -> str:
    """Keep `keep_head` leading and `keep_tail` trailing characters, star the rest (at least one star)."""
    if len(digits) <= keep_head + keep_tail:
        keep_head = 0
        keep_tail = min(keep_tail, max(len(digits) - 1, 0))
    hidden = len(digits) - keep_head - keep_tail
    return digits[:keep_head] + "*" * hidden + digits[len(digits) - keep_tail :]


def mask_phone(phone: str | None) -> str:
    """'13812345678' -> '138****5678'; '0335-3012345' -> '0335-***2345'. Unrecognised input keeps only its
    last four digits visible, so nothing that might be a number leaks."""
    if not phone:
        return ""
    normal = normalise_phone(phone)
    if normal is None:
        digits = re.sub(r"\D", "", _ascii(phone))
        return _mask_digits(digits, 0, 4) if digits else "*" * len(phone)
    if "-" in normal:
        area, local = normal.split("-", 1)
        return f"{area}-{_mask_digits(local, 0, 4)}"
    return _mask_digits(normal, 3, 4)


def mask_id(id_number: str | None) -> str:
    """'130302199001011234' -> '130302********1234': region visible, birth date and sequence hidden."""
    if not id_number:
        return ""
    compact = _SEPARATORS.sub("", _ascii(id_number)).upper()
    if len(compact) in (15, 18):
        return _mask_digits(compact, 6, 4)
    return _mask_digits(compact, 0, 4)


def mask_text(text: str | None) -> str:
    """Mask every 身份证 number (18 or old 15 digits), mobile and area-coded landline number in `text`.

    ID-shaped digit runs are masked whether or not their checksum is valid: a mistyped ID number is still
    personal data. Only digits are replaced by '*'; every other character (full-width punctuation, spaces,
    separators) is left exactly as typed.
    """
    if not text:
        return text or ""
    probe = text.translate(_PROBE)
    hidden: set[int] = set()
    for pattern, group, keep_head, keep_tail in _TEXT_RULES:
        for match in pattern.finditer(probe):
            start, end = match.span(group)
            positions = [i for i in range(start, end) if probe[i] not in " -"]
            if any(i in hidden for i in positions):
                continue  # already part of a longer number masked by an earlier rule
            hidden.update(positions[keep_head : len(positions) - keep_tail])
    return "".join("*" if i in hidden else ch for i, ch in enumerate(text))


class MaskingLogFilter(logging.Filter):
    """A logging filter that masks phone and ID numbers in a record's rendered message.

    Attach it to a handler (`handler.addFilter(MaskingLogFilter())`) so that nothing a resident typed
    reaches a log file unmasked.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string is the logging module's problem, not ours
            return True
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True
