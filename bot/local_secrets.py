"""The assistant's secrets: from the environment / `.env`, else generated once into `var/secrets.json`.

A secret written in the source is published, so none is: on the first run of the embedded profile every
missing secret is generated at random and kept in `var/secrets.json` (mode 0600). Every process of that
profile (Rasa, action server, web app, command line) reads the same file, so they agree without any set-up.
The production profile never generates: a missing secret stops it (an operator sets them in `.env`).

In every profile a value that was ever published (a default or test value from this repository's history)
or that is too short to resist guessing is refused with a Chinese message naming the setting. The
published values are kept as SHA-256 digests so that the source does not carry them again.

Rotating a secret: change it in `.env` (or delete `var/secrets.json` for generated ones) and restart.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import secrets
from pathlib import Path

# name -> what it protects (shown in messages)
SECRET_NAMES: dict[str, str] = {
    "RASA_TOKEN": "Rasa HTTP API 令牌",
    "WEB_SECRET": "网页会话签名密钥",
    "JWT_SECRET": "聊天窗口令牌签名密钥",
    "REST_TOKEN": "REST 接口集成方令牌",
    "ACTION_TOKEN": "动作服务器调用令牌",
}
MIN_SECRET_CHARS = 16

# SHA-256 of every secret value that appeared in this repository as a default or a test value
# (development defaults of bot/settings.py, fixed test and bench tokens). Add any newly published value.
PUBLISHED_SECRET_SHA256 = frozenset(
    {
        "ba7606b47549ab91eab87d327ed731a11f034083122b59e13ada6d1910b24fbf",
        "387cb299c903514854aba5df1f9c4dd67bdef4bbb56fe4d8f01cf158c768b263",
        "0907ae7f6687ec7082380874a503c5df5a8a822670739d0b17634e7d1c69b2f8",
        "4e9f88f22b99055144d89341a5230525a71a3ec6325c91af81195914a08501d9",
        "4c5dc9b7708905f77f5e5d16316b5dfb425e68cb326dcd55a860e90a7707031e",
        "6e0d0bede3f1e7e8b69b57b841f1c66c0a23a7852bf47a7b7eeaaf1c8b9cb3ce",
        "a18b97a5e345f11c8f6bce8c61884d9ab2907e7fa998d618f4e96ebe2356821b",
        "7954bed6c6725b6e06da454f16e451d4211cc00ebf8c6ce1a119ae5a06b5e99e",
        "82a8242fe0af89405065cd84e5b796af9b2e93f9af2bb7d3145bdf46f7135375",
        "c9c35da8fb26d564b561d43afe2c8ac58d6ba22b1382124aafbe9f523691ea38",
        "fcf312d2e4b8c57a51993226cca72706e4e9e860616c4069336f8a5d81b170f5",
        "95b3d8c4369a94650eb02e60ec18a0598d21c2cb1122f5ded6a132257255f03c",
        "9e371ab54f9954f47112b16286c05ba70490253fc7699c82283013c8d8b854dc",
        "84e6049b9a3a2ae02dda445f4c394ab28a256bf24f3a9cd11f835bb1408a0bb7",
    }
)


class SecretError(RuntimeError):
    """A secret is missing (production) or unsafe (any profile); the message is Chinese and names it."""


def digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def check_secret(name: str, value: str) -> None:
    """Refuse a value anyone could know: published in this repository, or too short to resist guessing."""
    what = SECRET_NAMES.get(name, name)
    if digest(value) in PUBLISHED_SECRET_SHA256:
        raise SecretError(
            f"{name}（{what}）使用的是公开过的开发或测试默认值，任何人都能知道，拒绝启动。"
            f"请在 .env 中换成随机值，或删除该行让系统自动生成。"
        )
    if len(value) < MIN_SECRET_CHARS:
        raise SecretError(f"{name}（{what}）太短（至少 {MIN_SECRET_CHARS} 个字符），容易被猜到，拒绝启动。")


def _read(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise SecretError(
            f"无法读取密钥文件 {path}：{exc}。请修复或删除它（删除后会重新生成，已登录的会话失效）。"
        ) from exc
    return (
        {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)} if isinstance(data, dict) else {}
    )


def _write_private(path: Path, data: dict[str, str]) -> None:
    """Write readable by the owner only; atomic, so a reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(data, out, indent=1, sort_keys=True)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def generated_secrets(path: Path, names: list[str]) -> dict[str, str]:
    """The stored secrets of `names`, generating (and storing) the missing ones.

    A lock file serialises the processes that start together, so they all end up with the same values.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stored = _read(path)
        missing = [n for n in names if not stored.get(n)]
        if missing:
            stored.update({n: secrets.token_urlsafe(32) for n in missing})
            _write_private(path, stored)
        elif path.stat().st_mode & 0o077:
            os.chmod(path, 0o600)
    return {n: stored[n] for n in names}


def resolve_secrets(env: dict[str, str], production: bool, store: Path) -> dict[str, str]:
    """Every secret by name: the environment's value, else (embedded profile) the generated one.

    Raises SecretError for a missing secret in production and for an unsafe value in any profile.
    """
    values = {name: (env.get(name) or "").strip() for name in SECRET_NAMES}
    missing = [name for name, value in values.items() if not value]
    if missing and production:
        raise SecretError(
            f"生产配置必须在 .env 中设置 {', '.join(missing)}（随机值，每项至少 {MIN_SECRET_CHARS} 个字符），拒绝启动。"
        )
    if missing:
        values.update(generated_secrets(store, missing))
    for name, value in values.items():
        check_secret(name, value)
    return values
