"""Alembic environment: migrates the database named by the caller (bot.store.db.upgrade_database) or by
DATABASE_URL when run from the alembic command line.

Why the details: SQLite cannot ALTER most things, so migrations run in batch mode there; on PostgreSQL a
transaction-scoped advisory lock makes concurrent starters (web app and action server) migrate one after
the other instead of both trying to create the same tables.
"""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context

from bot.store.db import database_url, engine_for
from bot.store.models import Base

MIGRATION_LOCK_ID = 7_331_004_201  # any constant; only this program takes it

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name)

target_metadata = Base.metadata


def _url() -> str:
    return config.attributes.get("url") or database_url()


def run_migrations_offline() -> None:
    """`alembic upgrade head --sql`: print the SQL instead of running it."""
    url = _url()
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=url.startswith("sqlite"),
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = engine_for(_url())
    with engine.connect() as connection:
        is_sqlite = connection.dialect.name == "sqlite"
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=is_sqlite,
            compare_type=True,
        )
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_ID})")
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
