"""Help-request reference numbers that cannot be guessed from a neighbour's.

Why: a resident's reference number plus the last four digits of a phone number opens the status
look-up. Sequential numbers (QHD-2026-000123) let a stranger walk to the next request and then only the
10 000 phone endings stand in the way. New numbers are QHD-<year>-<six random symbols><check symbol>:
30 random bits per year and a Luhn mod 32 check symbol, so a mistyped or invented number is refused before
the database is asked. The alphabet is Crockford's base 32 (no I, L, O, U): read aloud or copied by
hand, O/I/L typed by mistake are read as 0/1/1. Old six-digit numbers stay valid.
"""

from __future__ import annotations

import re
import secrets
import unicodedata

PREFIX = "QHD"
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RANDOM_SYMBOLS = 6
_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "L": "1"})
_OLD = re.compile(r"QHD[-_ ]?(\d{4})[-_ ]?(\d{6})")
_NEW = re.compile(r"QHD[-_ ]?(\d{4})[-_ ]?([0-9A-Z]{7})")


def check_symbol(body: str) -> str:
    """Luhn mod 32 over `body` (symbols of ALPHABET): catches every single wrong symbol and every swap of
    two neighbouring symbols."""
    factor, total, n = 2, 0, len(ALPHABET)
    for symbol in reversed(body):
        addend = factor * ALPHABET.index(symbol)
        total += addend // n + addend % n
        factor = 1 if factor == 2 else 2
    return ALPHABET[(n - total % n) % n]


def new_reference(year: int) -> str:
    """A fresh random reference number for `year` (the caller makes sure it is unused)."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_SYMBOLS))
    return f"{PREFIX}-{year}-{body}{check_symbol(body)}"


def normalise_reference(text: str | None) -> str | None:
    """'qhd 2026 k7m4q9x' / full-width forms / old 'QHD-2026-000123' -> canonical form; None when it is not
    a reference number or its check symbol is wrong."""
    if not isinstance(text, str):
        return None
    compact = unicodedata.normalize("NFKC", text).strip().upper()
    old = _OLD.fullmatch(compact)
    if old:
        return f"{PREFIX}-{old.group(1)}-{old.group(2)}"
    new = _NEW.fullmatch(compact)
    if not new:
        return None
    code = new.group(2).translate(_CONFUSABLE)
    if any(symbol not in ALPHABET for symbol in code) or check_symbol(code[:-1]) != code[-1]:
        return None
    return f"{PREFIX}-{new.group(1)}-{code}"
