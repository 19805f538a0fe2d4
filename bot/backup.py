"""`python -m bot backup --to DIR`: a consistent copy of both databases of the active profile.

- SQLite (embedded profile: var/app.db and var/tracker.db) through sqlite3's online backup API, so a
  running assistant is copied consistently, never a half-written file.
- PostgreSQL (production: qhd_app and qhd_tracker) with pg_dump's custom format, restorable with
  pg_restore. The password travels in PGPASSWORD, never on a command line.

DIR gets one file per database plus manifest.json (time, profile, each file's database and SHA-256);
`python -m bot restore --from DIR` (bot.restore) checks the digests before touching anything. Backups
hold personal data: DIR is created with mode 0700 and the files 0600.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from bot.production.config import ProductionConfig
from bot.settings import child_environment, settings

MANIFEST = "manifest.json"


class BackupError(RuntimeError):
    """A backup or restore that cannot be done; the message (Chinese) says why."""


@dataclass(frozen=True)
class Database:
    role: str  # "app" (our tables) or "tracker" (Rasa's conversations)
    url: str

    @property
    def kind(self) -> str:
        scheme = urlsplit(self.url).scheme.split("+")[0]
        if scheme not in {"sqlite", "postgresql"}:
            raise BackupError(f"不支持备份这种数据库：{scheme}")
        return scheme

    @property
    def file_name(self) -> str:
        return f"{self.role}.sqlite3" if self.kind == "sqlite" else f"{self.role}.dump"


def profile_databases() -> tuple[str, list[Database]]:
    """The profile's two databases, as the running services see them."""
    s = settings()
    if s.production:
        config = ProductionConfig.from_env()
        return s.profile, [Database("app", config.app_db_url), Database("tracker", config.tracker_db_url)]
    return s.profile, [Database("app", s.database_url), Database("tracker", s.tracker_db_url)]


def sqlite_path(url: str) -> Path:
    return Path(url.split("///", 1)[1])


def libpq(url: str) -> tuple[str, dict[str, str]]:
    """SQLAlchemy URL -> (libpq URI without the password, environment carrying it)."""
    parts = urlsplit(url)
    env = child_environment()
    netloc = parts.netloc
    if "@" in netloc:
        credentials, host = netloc.rsplit("@", 1)
        user, _, password = credentials.partition(":")
        if password:
            env["PGPASSWORD"] = unquote(password)
        netloc = f"{user}@{host}"
    return urlunsplit(("postgresql", netloc, parts.path, parts.query, "")), env


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def copy_sqlite(source: Path, target: Path) -> None:
    """sqlite3's online backup: consistent even while another process writes."""
    if not source.exists():
        raise BackupError(f"数据库文件不存在：{source}")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def run(cmd: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{what}失败：{done.stderr.strip()[:500]}")


def backup(target: Path, databases: list[Database], profile: str) -> dict:
    """Copy every database into `target`; returns the manifest that was written."""
    target.mkdir(parents=True, exist_ok=True, mode=0o700)
    files = []
    for db in databases:
        out = target / db.file_name
        if db.kind == "sqlite":
            copy_sqlite(sqlite_path(db.url), out)
        else:
            uri, env = libpq(db.url)
            run(["pg_dump", "--format=custom", "--no-owner", "--file", str(out), uri], env, f"pg_dump {db.role} ")
        out.chmod(0o600)
        files.append({"role": db.role, "kind": db.kind, "file": out.name, "sha256": sha256(out)})
    manifest = {
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "profile": profile,
        "files": files,
    }
    (target / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    return manifest


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot backup", description="备份当前配置的两个数据库")
    parser.add_argument("--to", type=Path, required=True, help="备份目录（新建，权限 0700）")
    args = parser.parse_args(argv)
    try:
        profile, databases = profile_databases()
        manifest = backup(args.to, databases, profile)
    except BackupError as error:
        print(str(error), file=sys.stderr)
        return 1
    for item in manifest["files"]:
        print(f"已备份 {item['role']}（{item['kind']}）-> {args.to / item['file']}")
    return 0
