"""A private, password-protected Redis for the production-profile tests and bench/load.py.

Production refuses a Redis without a password (bot.production.config), and the machine's own Redis
has none: each run starts its own `redis-server` on a free loopback port, in memory only.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import redis

from tests.support.servers import free_port


class RedisUnavailable(RuntimeError):
    """redis-server is not installed (Debian package redis-server)."""


@dataclass(frozen=True)
class PrivateRedis:
    port: int
    password: str

    def client(self, db: int = 0) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, db=db, password=self.password)


@contextmanager
def private_redis() -> Iterator[PrivateRedis]:
    binary = shutil.which("redis-server")
    if not binary:
        raise RedisUnavailable("redis-server 未安装（apt-get install redis-server）")
    server = PrivateRedis(free_port(), secrets.token_urlsafe(24))
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(server.port),
            "--bind",
            "127.0.0.1",
            "--requirepass",
            server.password,
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                server.client().ping()
                break
            except redis.RedisError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.1)
        yield server
    finally:
        proc.terminate()
        proc.wait(timeout=10)
