"""Fixed-window attempt counters in the database (table qhd_rate_limits).

Why in the database and why one UPDATE: the action server may run several workers (and the production
profile several hosts); a counter read and then written could let two concurrent guesses both take the
last allowed try. `take` raises the counter only `WHERE count < limit`, which the database evaluates under
the row lock, so the limit holds under any concurrency. Rows are tiny and `purge_expired` (run by the
retention job) removes windows that ended, so the table stays bounded.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.store.models import RateLimit, utcnow

_TABLE = RateLimit.__table__


def take(session: Session, key: str, limit: int, window: timedelta, now: datetime | None = None) -> bool:
    """Count one attempt under `key`; False (nothing counted) when `limit` attempts were already made in
    the current window."""
    now = now or utcnow()
    key = key[:300]
    for _ in range(3):
        counted = session.execute(
            sa.update(_TABLE)
            .where(_TABLE.c.key == key, _TABLE.c.window_start > now - window, _TABLE.c.count < limit)
            .values(count=_TABLE.c.count + 1)
        )
        if counted.rowcount == 1:
            return True
        restarted = session.execute(
            sa.update(_TABLE)
            .where(_TABLE.c.key == key, _TABLE.c.window_start <= now - window)
            .values(count=1, window_start=now)
        )
        if restarted.rowcount == 1:
            return True
        try:
            with session.begin_nested():
                session.execute(sa.insert(_TABLE).values(key=key, window_start=now, count=1))
            return True
        except IntegrityError:  # the row exists: either it is full, or a concurrent caller created it
            exists = session.execute(sa.select(_TABLE.c.count).where(_TABLE.c.key == key)).scalar_one_or_none()
            if exists is not None and exists >= limit:
                return False
    return False


def give_back(session: Session, key: str) -> None:
    """Undo one `take` (a look-up that succeeded is not a failed guess)."""
    session.execute(
        sa.update(_TABLE).where(_TABLE.c.key == key[:300], _TABLE.c.count > 0).values(count=_TABLE.c.count - 1)
    )


def purge_expired(session: Session, older_than: timedelta, now: datetime | None = None) -> int:
    """Delete counters whose window started more than `older_than` ago; returns how many."""
    cutoff = (now or utcnow()) - older_than
    return int(session.execute(sa.delete(_TABLE).where(_TABLE.c.window_start < cutoff)).rowcount or 0)
