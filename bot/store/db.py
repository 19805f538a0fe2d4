"""Engines, sessions and migrations for the assistant's own database.

Why the SQLite settings: the action server and the web app write to the same file from several threads.
WAL lets readers run beside a writer, the busy timeout makes a second writer wait instead of failing, and
every transaction starts with BEGIN IMMEDIATE so a read-then-write transaction (create a request: read the
counter, then write) takes the write lock up front rather than failing half-way with "database is locked".
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from bot.settings import REPO_ROOT, env_settings

if TYPE_CHECKING:
    from alembic.config import Config

ALEMBIC_INI = REPO_ROOT / "alembic.ini"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_S = 30

_engines: dict[str, Engine] = {}
_sessionmakers: dict[str, sessionmaker] = {}
_lock = threading.Lock()


def absolute_sqlite_url(url: str) -> str:
    """Make a relative SQLite path relative to the repository root (not the current directory) and make
    sure its folder exists, so `sqlite:///var/app.db` means the same file from every process."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return url
    path = Path(parsed.database)
    if not path.is_absolute():
        path = REPO_ROOT / path
    path.parent.mkdir(parents=True, exist_ok=True)
    return str(parsed.set(database=str(path)))


def database_url() -> str:
    """The database URL: DATABASE_URL (bot.settings), default sqlite:///<repo>/var/app.db."""
    return absolute_sqlite_url(env_settings().database_url)


def _configure_sqlite(engine: Engine) -> None:
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        # Let SQLAlchemy (not pysqlite) decide when transactions begin: see the "begin" hook below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:  # type: ignore[no-untyped-def]
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _resolve(url: str | None) -> str:
    return absolute_sqlite_url(url) if url else database_url()


def engine_for(url: str | None = None) -> Engine:
    """The (cached, one per URL) engine for `url`, default `database_url()`."""
    url = _resolve(url)
    with _lock:
        engine = _engines.get(url)
        if engine is not None:
            return engine
        backend = make_url(url).get_backend_name()
        if backend == "sqlite":
            engine = sa.create_engine(
                url,
                future=True,
                connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_S},
            )
            _configure_sqlite(engine)
        else:
            env = env_settings()
            engine = sa.create_engine(
                url,
                future=True,
                pool_pre_ping=True,
                pool_size=env.db_pool_size,
                max_overflow=env.db_max_overflow,
            )
        _engines[url] = engine
        _sessionmakers[url] = sessionmaker(bind=engine, future=True, expire_on_commit=False)
        return engine


def dispose_engine(url: str | None = None) -> None:
    """Close the pooled connections of `url`'s engine and forget it (tests drop their databases)."""
    url = _resolve(url)
    with _lock:
        engine = _engines.pop(url, None)
        _sessionmakers.pop(url, None)
    if engine is not None:
        engine.dispose()


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """A session whose work is committed when the block ends normally and rolled back on any exception:
    one block = one transaction."""
    key = _resolve(url)
    engine_for(key)
    session = _sessionmakers[key]()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(url: str | None = None) -> Config:
    """Alembic configuration for `url`, usable without a current directory at the repo root."""
    # lazy: Alembic adds ~115 ms and ~150 modules; the action server imports this module (through the
    # store) and never migrates, and importing the web app stays without it until it migrates at start
    from alembic.config import Config  # noqa: PLC0415 - lazy import, reason above

    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["url"] = _resolve(url)
    config.attributes["configure_logging"] = False
    return config


def upgrade_database(url: str | None = None) -> str:
    """Run the Alembic migrations up to head on `url` (default `database_url()`); returns the head
    revision. Safe to call at every start: it does nothing when the database is current."""
    # lazy: Alembic (~115 ms, ~150 modules) only when migrating, see alembic_config
    from alembic import command  # noqa: PLC0415 - lazy import, reason above
    from alembic.script import ScriptDirectory  # noqa: PLC0415 - lazy import, reason above

    config = alembic_config(url)
    command.upgrade(config, "head")
    return ScriptDirectory.from_config(config).get_current_head() or ""


def current_revision(url: str | None = None) -> str | None:
    """The revision the database is at (None for an empty database)."""
    # lazy: Alembic (~115 ms, ~150 modules) only when asked, see alembic_config
    from alembic.runtime.migration import MigrationContext  # noqa: PLC0415 - lazy import, reason above

    with engine_for(url).connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
