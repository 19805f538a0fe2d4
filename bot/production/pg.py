"""PostgreSQL housekeeping for the production profile: create / drop databases, wait for the server.

Rasa can create its tracker database itself (`login_db`), but then it builds a second engine without
the pool settings; creating both databases here keeps SQL_POOL_SIZE effective and gives one place
that knows our two databases must stay apart.
"""

from __future__ import annotations

import time

from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from bot.production.config import database_name, server_url


def _admin_engine(url: str):
    # CREATE/DROP DATABASE cannot run inside a transaction block.
    return create_engine(server_url(url), future=True, isolation_level="AUTOCOMMIT", poolclass=NullPool)


def database_exists(url: str) -> bool:
    engine = _admin_engine(url)
    try:
        with engine.connect() as conn:
            return (
                conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": database_name(url)}).first()
                is not None
            )
    finally:
        engine.dispose()


def ensure_database(url: str) -> bool:
    """Create the database named in `url` when it is missing. True when it was created now."""
    if database_exists(url):
        return False
    engine = _admin_engine(url)
    try:
        with engine.connect() as conn:
            # The name was validated by ProductionConfig (lower-case identifier), so quoting is safe.
            conn.execute(text(f'CREATE DATABASE "{database_name(url)}"'))
    finally:
        engine.dispose()
    return True


def drop_database(url: str) -> None:
    """Drop the database in `url`, closing other sessions on it first (tests and their clean-up)."""
    engine = _admin_engine(url)
    name = database_name(url)
    try:
        with engine.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :n AND pid <> pg_backend_pid()"
                ),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    finally:
        engine.dispose()


def wait_ready(url: str, timeout_s: float = 60.0) -> None:
    """Block until the server accepts connections; OperationalError after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        engine = create_engine(server_url(url), future=True, poolclass=NullPool)
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
                return
        except OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
        finally:
            engine.dispose()
