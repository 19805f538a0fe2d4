"""`python -m bot db ...`: migrations and retention.

    python -m bot db upgrade [--url URL]                  # Alembic migrations to head (DATABASE_URL)
    python -m bot db purge-tracker --days N [--url URL]   # delete Rasa tracker events older than N days
    python -m bot db purge [--tracker-days N] [--tracker-url URL]
                                                          # every retention period (bot/store/retention.py)

Why purge here: Rasa's SQL tracker store keeps every event of every conversation forever, and those
events contain what residents typed (names, phone numbers). The retention period is an operating
decision, so it is a required argument rather than a default.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import NoReturn

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from bot.settings import env_settings
from bot.store.db import absolute_sqlite_url, database_url, engine_for, upgrade_database
from bot.store.retention import RetentionPolicy
from bot.store.retention import purge as purge_tables

WINDOW_TABLE = "qhd_tracker_window"  # bot.tracker_window.WindowSnapshot: state before a conversation's window
TRACKER_TABLE = "events"  # rasa.core.tracker_store.SQLTrackerStore.SQLEvent: float `timestamp` (epoch s)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise ValueError(f"参数错误：{message}\n{self.format_usage()}")


def tracker_db_url() -> str:
    """Rasa's tracker-store database: TRACKER_DB_URL (bot.settings)."""
    return env_settings().tracker_db_url


def purge_tracker_events(url: str, days: int, now: float | None = None) -> int:
    """Delete tracker events whose timestamp is more than `days` days before `now`; returns how many.

    Uses its own short-lived engine: the tracker database belongs to Rasa, so none of our connection
    settings (WAL, pragmas) are applied to it.
    """
    if not isinstance(days, int) or days < 1:
        raise ValueError("保留天数必须是大于等于 1 的整数")
    cutoff = (time.time() if now is None else now) - days * 86400
    engine = sa.create_engine(absolute_sqlite_url(url), future=True)
    try:
        if not sa.inspect(engine).has_table(TRACKER_TABLE):
            raise ValueError(f"追踪库中没有 {TRACKER_TABLE} 表：请检查 --url 是否指向 Rasa 的追踪库")
        events = sa.table(TRACKER_TABLE, sa.column("timestamp", sa.Float), sa.column("sender_id"))
        has_window = sa.inspect(engine).has_table(WINDOW_TABLE)
        with engine.begin() as connection:
            result = connection.execute(sa.delete(events).where(events.c.timestamp < cutoff))
            if has_window:  # a window snapshot (bot.tracker_window) outlives no conversation it summarises
                window = sa.table(WINDOW_TABLE, sa.column("sender_id"))
                connection.execute(
                    sa.delete(window).where(window.c.sender_id.not_in(sa.select(events.c.sender_id).distinct()))
                )
            return int(result.rowcount or 0)
    finally:
        engine.dispose()


def main(argv: list[str]) -> int:
    parser = _Parser(prog="python -m bot db", description="数据库迁移与数据保留")
    sub = parser.add_subparsers(dest="command", metavar="子命令")
    upgrade = sub.add_parser("upgrade", help="把数据库迁移到最新结构")
    upgrade.add_argument("--url", help="数据库地址（默认读取 DATABASE_URL）")
    purge = sub.add_parser("purge-tracker", help="删除 Rasa 追踪库中早于 N 天的对话事件")
    purge.add_argument("--days", type=int, required=True, help="保留最近多少天")
    purge.add_argument("--url", help="追踪库地址（默认读取 TRACKER_DB_URL）")
    purge_all = sub.add_parser("purge", help="按保留期限删除所有个人信息（求助、测算、分析、会话状态、审计、对话事件）")
    purge_all.add_argument("--tracker-days", type=int, help="对话事件保留天数（默认 TRACKER_RETENTION_DAYS）")
    purge_all.add_argument("--tracker-url", help="追踪库地址（默认读取 TRACKER_DB_URL）")
    try:
        args = parser.parse_args(argv)
        if args.command == "upgrade":
            url = args.url or database_url()
            head = upgrade_database(url)
            print(f"数据库已是最新结构（版本 {head}）：{sa.engine.make_url(url).render_as_string(hide_password=True)}")
        elif args.command == "purge":
            policy = RetentionPolicy.from_env()
            days = args.tracker_days or policy.tracker_days
            deleted = purge_tracker_events(args.tracker_url or tracker_db_url(), days)
            print(f"已删除 {deleted} 条早于 {days} 天的对话事件")
            if sa.inspect(engine_for()).has_table("qhd_help_requests"):
                counts = purge_tables(policy)
                print("按保留期限删除：" + "，".join(f"{k} {v}" for k, v in counts.items()))
            else:
                print("业务数据库尚未建立（python -m bot db upgrade），跳过")
        elif args.command == "purge-tracker":
            deleted = purge_tracker_events(args.url or tracker_db_url(), args.days)
            print(f"已删除 {deleted} 条早于 {args.days} 天的对话事件")
        else:
            print(parser.format_help())
            return 2
        return 0
    except ValueError as error:
        print(str(error), file=sys.stderr)
        return 2
    except SQLAlchemyError as error:
        print(f"数据库操作失败：{type(error).__name__}: {str(error).splitlines()[0]}", file=sys.stderr)
        return 1
