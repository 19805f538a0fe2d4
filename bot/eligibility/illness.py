"""Illness names as residents say them -> serious / ordinary / unknown, by the rulebook's lists.

The lists (policies/illness.yml) are data with a source and a date: which illnesses count as 重特大疾病 is
policy, so nothing here names a disease. The longest matching word wins, so 「1型糖尿病」 (on the serious
list) is not read as 「糖尿病」 (ordinary). A name on neither list is "unknown": the office decides.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

from bot.rulebook import Rulebook

SERIOUS_LIST = "illness.serious.names"
ORDINARY_LIST = "illness.ordinary.names"


@lru_cache(maxsize=64)
def _words(text: str) -> tuple[tuple[str, str], ...]:
    """'a/b、c' -> (('a', 'a'), ('b', 'a'), ('c', 'c')): every word with its canonical name, longest first."""
    pairs = []
    for item in text.split("、"):
        names = [n.strip() for n in item.split("/") if n.strip()]
        pairs += [(n, names[0]) for n in names]
    return tuple(sorted(pairs, key=lambda p: -len(p[0])))


def _list(rulebook: Rulebook, pid: str, on: date) -> tuple[tuple[str, str], ...]:
    if pid not in rulebook.parameters:
        return ()
    value = rulebook.value(pid, on).value
    return _words(value) if isinstance(value, str) else ()


def match_illness(text: str, rulebook: Rulebook, on: date) -> tuple[str, str] | None:
    """(class, the word as the resident said it) for the longest illness word in `text`, or None when no
    word of either list is in it."""
    best: tuple[int, str, str] | None = None
    for cls, pid in (("serious", SERIOUS_LIST), ("ordinary", ORDINARY_LIST)):
        for word, _canonical in _list(rulebook, pid, on):
            if word in text and (best is None or len(word) > best[0]):
                best = (len(word), cls, word)
    return None if best is None else (best[1], best[2])


def classify_illness(text: str, rulebook: Rulebook, on: date) -> str:
    """'serious', 'ordinary' or 'unknown' for an illness name."""
    found = match_illness(text, rulebook, on)
    return found[0] if found else "unknown"
