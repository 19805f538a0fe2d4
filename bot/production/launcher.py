"""`python -m bot.production.launcher [--instances N]`: the production profile on this machine.

Creates the PostgreSQL databases if missing, migrates ours, then has supervisord run the action
server, the analytics consumer, N Rasa instances (ports RASA_FIRST_PORT...), nginx on
RASA_HOST:RASA_PORT in front of them, the web app and the tracker retention job (at start, then every
RETENTION_EVERY_HOURS); see bot.production.supervisor. A program that exits is restarted with
back-off and the others keep serving; Ctrl-C or SIGTERM stops them all. Settings: .env / environment,
see bot.production.config and docs/production.md.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from bot.local_secrets import SecretError
from bot.production.cluster import StartError, build
from bot.production.config import ProductionConfig
from bot.production.supervisor import Supervised
from bot.runner import ensure_model
from bot.settings import REPO_ROOT, SettingsError, settings


def secrets_from_settings() -> dict[str, str]:
    """Every secret for the children; bot.local_secrets refuses missing (production) or published values."""
    s = settings()
    return {
        "RASA_TOKEN": s.rasa_token,
        "JWT_SECRET": s.jwt_secret,
        "WEB_SECRET": s.web_secret,
        "REST_TOKEN": s.rest_token,
        "ACTION_TOKEN": s.action_token,
    }


def _stop_requested(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot.production.launcher",
        description="生产配置：多个 Rasa 实例 + nginx + PostgreSQL/Redis/RabbitMQ",
    )
    parser.add_argument("--instances", type=int, help="Rasa 实例数（默认 RASA_INSTANCES，未设置则 2）")
    parser.add_argument("--model", type=Path, help="模型文件（默认：与当前数据匹配的模型，必要时先训练）")
    parser.add_argument("--workdir", type=Path, default=REPO_ROOT / "var" / "production", help="日志和 nginx 配置目录")
    parser.add_argument("--no-web", action="store_true", help="不启动网页应用")
    args = parser.parse_args(argv)
    try:
        config = ProductionConfig.from_env()
        if args.instances is not None:
            config = config.with_(instances=args.instances)
        secrets = secrets_from_settings()
    except (SettingsError, SecretError) as error:
        print(str(error), file=sys.stderr)
        return 2

    model = args.model or ensure_model()
    supervised = Supervised(build(config, model, args.workdir, secrets), web=not args.no_web)
    # Explicit handlers: a launcher started in the background by a script inherits an ignored SIGINT.
    signal.signal(signal.SIGINT, _stop_requested)
    signal.signal(signal.SIGTERM, _stop_requested)
    try:
        print(f"启动生产配置（supervisord）：{config.instances} 个 Rasa 实例，日志在 {args.workdir}", flush=True)
        supervised.start()
        ports = ", ".join(str(p) for p in config.rasa_ports)
        print(f"就绪 负载均衡 nginx  {supervised.cluster.public_url}  -> Rasa 实例 {ports}", flush=True)
        print(f"就绪 动作服务器      http://127.0.0.1:{config.action_port}", flush=True)
        if not args.no_web:
            print(f"就绪 网页应用        http://{settings().web_host}:{config.web_port}", flush=True)
        print(
            f"某个服务意外退出时 supervisord 会自动重启它；查看状态：supervisorctl -c {supervised.conf} status",
            flush=True,
        )
        print("按 Ctrl-C 停止全部服务", flush=True)
        code = supervised.wait()
        print(f"supervisord 意外退出（退出码 {code}）", file=sys.stderr)
        return 1
    except StartError as error:
        print(str(error), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("正在停止……", flush=True)
        return 0
    finally:
        supervised.stop()


if __name__ == "__main__":
    raise SystemExit(main())
