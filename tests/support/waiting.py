"""Polling for a condition in tests that watch other processes (servers, forked workers)."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(condition: Callable[[], object], timeout_s: float = 60.0, poll_s: float = 0.2) -> bool:
    """True as soon as `condition()` is truthy, False once `timeout_s` has passed without it."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(poll_s)
    return bool(condition())
