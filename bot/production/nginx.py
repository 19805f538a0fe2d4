"""Render deploy/nginx.conf.template for this machine and check it with `nginx -t`.

The load balancer runs as a child of the launcher with its own prefix folder (var/nginx by default),
so it needs no system configuration, no root-owned paths and no running system nginx.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from jinja2 import Environment, StrictUndefined

from bot.production.config import NGINX_TEMPLATE

NGINX_PACKAGES = "nginx-light (or nginx)"
UPSTREAM_KEEPALIVE = 32  # idle connections kept open to the Rasa instances (each of one worker)


class NginxMissing(RuntimeError):
    """nginx is not installed; the message says which Debian package to install."""


def nginx_binary() -> str:
    path = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None
    )
    if not path:
        raise NginxMissing(f"未找到 nginx：请先安装 Debian 软件包 {NGINX_PACKAGES}（apt-get install nginx-light）")
    return path


def render(
    prefix: Path,
    listen_host: str,
    listen_port: int,
    rasa_ports: Sequence[int],
    rasa_host: str = "127.0.0.1",
    read_timeout_s: int = 120,
    access_log: bool = False,
    upstream_keepalive: int = UPSTREAM_KEEPALIVE,
    template: Path = NGINX_TEMPLATE,
) -> Path:
    """Write <prefix>/nginx.conf and the temp folders it names; returns the config path.

    `upstream_keepalive` idle connections to the instances are kept open; 0 opens one per request. An
    instance of several workers needs 0: its workers share one listening socket, so the worker that
    accepts a connection serves every request sent over it, and kept connections would pin most turns
    on one worker while the other waits. A new connection is accepted by a worker that is waiting.
    """
    if not rasa_ports:
        raise ValueError("at least one Rasa instance is needed behind nginx")
    prefix = prefix.resolve()
    (prefix / "tmp").mkdir(parents=True, exist_ok=True)
    env = Environment(undefined=StrictUndefined, keep_trailing_newline=True)
    text = env.from_string(template.read_text(encoding="utf-8")).render(
        prefix=str(prefix),
        worker_processes=1,
        listen_host=listen_host,
        listen_port=listen_port,
        rasa_host=rasa_host,
        rasa_ports=list(rasa_ports),
        fail_timeout_s=5,
        upstream_keepalive=upstream_keepalive,
        read_timeout_s=read_timeout_s,
        access_log=f"{prefix}/access.log upstreams buffer=16k flush=1s" if access_log else "off",
    )
    conf = prefix / "nginx.conf"
    conf.write_text(text, encoding="utf-8")
    return conf


def command(conf: Path) -> list[str]:
    """Foreground nginx using only files under the config's folder."""
    prefix = conf.parent
    return [nginx_binary(), "-p", str(prefix), "-e", str(prefix / "error.log"), "-c", str(conf), "-g", "daemon off;"]


def check(conf: Path) -> None:
    """`nginx -t` on the rendered file; RuntimeError with nginx's own message when it is invalid."""
    prefix = conf.parent
    result = subprocess.run(
        [nginx_binary(), "-t", "-p", str(prefix), "-e", str(prefix / "error.log"), "-c", str(conf)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"nginx 配置无效：{result.stderr.strip()}")
