"""The rulebook everything uses: the files of POLICIES_DIR plus the approved layer from our database.

The change signal: every approval bumps a one-row version counter in the database (bot.store.rulelayer).
`default_rulebook()` returns its cached rulebook and, at most once per REFRESH_SECONDS, reads that counter
(one primary-key SELECT on a pooled connection); only when the number changed does it read the approved
values and compose a new rulebook. Every process (web app, each action server, each Rasa instance) does
this on its own against the shared database, so an approval reaches all of them within a second, with no
restart and no extra service (bench/rulebook_refresh.py measures the cost per turn).

POLICY_LAYER=off uses the files alone (unit tests of file figures, `policies check --files-only`). When
the database cannot be read the last good rulebook stays in use and the failure is logged once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from bot.rulebook.layer import LayerValue, compose
from bot.rulebook.load import load_rulebook
from bot.rulebook.lookup import Rulebook
from bot.rulebook.model import DEFAULT_POLICIES_DIR
from bot.settings import env_settings

logger = logging.getLogger(__name__)
REFRESH_SECONDS = 1.0  # how stale an approval may be in another process: a turn takes longer than this


@dataclass
class _State:
    rulebook: Rulebook
    version: int | None
    checked_at: float
    warned: bool = False


_states: dict[str, _State] = {}
_lock = threading.Lock()


def _store_version() -> int:
    # lazy: a real cycle (bot.store.rulelayer imports bot.rulebook), and the rulebook sits below the store:
    # at module top the store would add SQLAlchemy and its models (+~270 ms, 183 modules) to every import
    # of the rulebook (`python -m bot eligibility` has none), also with POLICY_LAYER=off
    from bot.store.rulelayer import layer_version  # noqa: PLC0415 - lazy import, reason above

    return layer_version()


def _store_layer() -> tuple[int, list[LayerValue]]:
    # lazy: the cycle and the cost of _store_version
    from bot.store.rulelayer import approved_layer  # noqa: PLC0415 - lazy import, reason above

    return approved_layer()


# Replaceable for tests and for a process without a database.
version_source: Callable[[], int] = _store_version
layer_source: Callable[[], tuple[int, list[LayerValue]]] = _store_layer


@lru_cache(maxsize=4)
def _cached(folder: str) -> Rulebook:
    return load_rulebook(folder)


def baseline_rulebook() -> Rulebook:
    """The files of POLICIES_DIR (default: the repository's policies/) alone, loaded once per process."""
    return _cached(env_settings().policies_dir or str(DEFAULT_POLICIES_DIR))


def layer_enabled() -> bool:
    """POLICY_LAYER (bot.settings): off uses the files alone."""
    return env_settings().policy_layer_on


def default_rulebook() -> Rulebook:
    """Files + approved layer, as of the last version check (at most REFRESH_SECONDS old)."""
    base = baseline_rulebook()
    if not layer_enabled():
        return base
    key = base.version
    state = _states.get(key)
    now = time.monotonic()
    if state is not None and now - state.checked_at < REFRESH_SECONDS:
        return state.rulebook
    with _lock:
        state = _states.get(key)
        if state is not None and now - state.checked_at < REFRESH_SECONDS:
            return state.rulebook
        return _refresh(base, state, now).rulebook


def _refresh(base: Rulebook, state: _State | None, now: float) -> _State:
    try:
        version = version_source()
        if state is not None and state.version == version:
            state.checked_at = now
            return state
        version, values = layer_source()
        rulebook, problems = compose(base, values, f"L{version}")
        for problem in problems:
            logger.warning("approved rulebook value left out: %s", problem)
        fresh = _State(rulebook, version, now)
    except Exception as exc:  # noqa: BLE001 - the database is down or not migrated: keep answering from what we have
        fresh = state or _State(base, None, now)
        if not fresh.warned:
            logger.warning("rulebook layer unavailable, using %s: %s", fresh.rulebook.version, exc)
            fresh.warned = True
        fresh.checked_at = now
    _states[base.version] = fresh
    return fresh


def forget_layer() -> None:
    """Drop the cached composition (tests switching databases)."""
    with _lock:
        _states.clear()
