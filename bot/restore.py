"""`python -m bot restore --from DIR --yes`: put a backup made by `python -m bot backup` back.

Stop the assistant first (Rasa, the action server and the web app hold connections). Every file's
SHA-256 is checked against the manifest before anything is touched; then
- SQLite: the backup is copied over the database file through sqlite3's backup API;
- PostgreSQL: pg_restore --clean --if-exists in one transaction (all or nothing) into the profile's
  database, which is created first when it no longer exists.
Without --yes nothing is changed: restoring replaces the current data.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bot.backup import MANIFEST, BackupError, Database, copy_sqlite, libpq, profile_databases, run, sha256, sqlite_path
from bot.production import pg


def read_manifest(source: Path) -> dict:
    try:
        manifest = json.loads((source / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise BackupError(f"{source} 不是有效的备份目录（{MANIFEST} 无法读取：{error}）") from error
    for item in manifest["files"]:
        path = source / item["file"]
        if not path.exists() or sha256(path) != item["sha256"]:
            raise BackupError(f"备份文件 {path} 缺失或已损坏（校验值不符），没有恢复任何数据")
    return manifest


def restore_one(db: Database, path: Path) -> None:
    if db.kind == "sqlite":
        target = sqlite_path(db.url)
        target.parent.mkdir(parents=True, exist_ok=True)
        copy_sqlite(path, target)
        return
    pg.ensure_database(db.url)
    uri, env = libpq(db.url)
    run(
        [
            "pg_restore",
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "--exit-on-error",
            "--dbname",
            uri,
            str(path),
        ],
        env,
        f"pg_restore {db.role} ",
    )


def restore(source: Path, databases: list[Database]) -> list[str]:
    """Restore every database of the manifest that the profile has; returns the roles restored."""
    manifest = read_manifest(source)
    by_role = {db.role: db for db in databases}
    done = []
    for item in manifest["files"]:
        db = by_role.get(item["role"])
        if db is None:
            continue
        if db.kind != item["kind"]:
            raise BackupError(f"备份中的 {item['role']} 是 {item['kind']}，当前配置是 {db.kind}：请在相同配置下恢复")
        restore_one(db, source / item["file"])
        done.append(item["role"])
    return done


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot restore", description="从备份目录恢复两个数据库")
    parser.add_argument("--from", dest="source", type=Path, required=True, help="python -m bot backup 的目录")
    parser.add_argument("--yes", action="store_true", help="确认用备份替换当前数据")
    args = parser.parse_args(argv)
    try:
        _, databases = profile_databases()
        if not args.yes:
            read_manifest(args.source)
            print("恢复会用备份替换当前数据。请先停止助手的全部服务，再加上 --yes 重新运行。", file=sys.stderr)
            return 2
        roles = restore(args.source, databases)
    except BackupError as error:
        print(str(error), file=sys.stderr)
        return 1
    print(f"已恢复：{'、'.join(roles)}")
    return 0
