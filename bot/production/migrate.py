"""`python -m bot.production.migrate`: create both PostgreSQL databases when missing and migrate ours.

The one-shot migration job of the container deployments (Compose `migrate`, the Kubernetes Job) and the
first step of the single-machine launcher: Rasa's tracker database (TRACKER_DB_URL) and our tables
(DATABASE_URL, Alembic to head). Safe to run again: nothing happens when both are up to date.
"""

from __future__ import annotations

import sys

from bot.production import pg
from bot.production.config import ProductionConfig
from bot.settings import SettingsError
from bot.store.db import upgrade_database


def prepare_databases(config: ProductionConfig, wait_s: float = 30) -> None:
    pg.wait_ready(config.app_db_url, timeout_s=wait_s)
    pg.ensure_database(config.app_db_url)
    pg.ensure_database(config.tracker_db_url)
    upgrade_database(config.app_db_url)


def main() -> int:
    try:
        config = ProductionConfig.from_env()
    except SettingsError as error:  # ConfigError is one
        print(str(error), file=sys.stderr)
        return 2
    prepare_databases(config, wait_s=120)
    print("数据库已就绪并迁移到最新版本", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
