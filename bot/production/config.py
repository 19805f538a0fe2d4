"""Settings of the production profile (PostgreSQL, Redis, RabbitMQ, N Rasa instances behind nginx).

The embedded profile needs none of these; `bot.settings` holds what both profiles share. Everything
here comes from `bot.settings` (which reads the environment and `.env`) with defaults that match the
services on 127.0.0.1, so `PROFILE=production` alone is enough on a single machine. On several
machines only the host names change (see docs/production.md).

`ProductionConfig.child_env()` is the single place that turns this into the environment variables
the Rasa processes expand in deploy/endpoints.production.yml, so the YAML and the Python side cannot
drift apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit, urlunsplit

from bot.settings import REPO_ROOT, SettingsError, child_environment, env_settings, settings

ENDPOINTS_FILE = REPO_ROOT / "deploy" / "endpoints.production.yml"
NGINX_TEMPLATE = REPO_ROOT / "deploy" / "nginx.conf.template"
# Each worker loads its own copy of the model (about 1 GiB); more workers than cores only adds memory.
MAX_WORKERS_PER_INSTANCE = 16
_ALNUM = re.compile(r"^[A-Za-z0-9]+$")
_DB_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class ConfigError(SettingsError):
    """A production setting that would make a service misbehave silently (message in Chinese)."""


def database_name(url: str) -> str:
    """The database part of an SQLAlchemy URL (`postgresql://h/qhd_app` -> `qhd_app`)."""
    return urlsplit(url).path.lstrip("/")


def server_url(url: str, database: str = "postgres") -> str:
    """The same server URL pointing at another database (used to CREATE/DROP DATABASE)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


@dataclass(frozen=True)
class ProductionConfig:
    """Where the shared services are and how the processes are laid out on this machine."""

    app_db_url: str
    tracker_db_url: str
    redis_host: str
    redis_port: int
    redis_db: int
    redis_password: str
    lock_key_prefix: str
    lock_lifetime_s: int
    rabbitmq_host: str
    rabbitmq_port: int
    rabbitmq_user: str
    rabbitmq_password: str
    events_queue: str
    events_exchange: str
    sql_pool_size: int
    sql_max_overflow: int
    instances: int
    public_host: str
    public_port: int
    first_rasa_port: int
    action_port: int
    action_endpoint_url: str
    web_port: int
    retention_days: int
    retention_every_hours: float
    # Prometheus ports on this machine: actions, consumer, then one per Rasa instance; 0 = none
    metrics_first_port: int = 9100
    # Worker processes of one Rasa instance (Rasa's SANIC_WORKERS): one process runs a turn on one core
    # at a time (the GIL), so an instance given N cores serves with N workers behind its one port
    workers_per_instance: int = 1
    extra_env: dict = field(default_factory=dict)

    @classmethod
    def from_env(cls) -> ProductionConfig:
        s = settings()
        env = env_settings()
        pg = env.pg_server_url
        app_db = s.database_url if s.database_url.startswith("postgresql") else f"{pg}/qhd_app"
        tracker_db = s.tracker_db_url if s.tracker_db_url.startswith("postgresql") else f"{pg}/qhd_tracker"
        config = cls(
            app_db_url=app_db,
            tracker_db_url=tracker_db,
            redis_host=env.redis_host,
            redis_port=env.redis_port,
            redis_db=env.redis_db,
            redis_password=env.redis_password.get_secret_value(),
            lock_key_prefix=env.lock_key_prefix,
            lock_lifetime_s=env.ticket_lock_lifetime,
            rabbitmq_host=env.rabbitmq_host,
            rabbitmq_port=env.rabbitmq_port,
            rabbitmq_user=env.rabbitmq_user,
            rabbitmq_password=env.rabbitmq_password.get_secret_value(),
            events_queue=env.events_queue,
            events_exchange=env.events_exchange,
            sql_pool_size=env.sql_pool_size,
            sql_max_overflow=env.sql_max_overflow,
            instances=env.rasa_instances,
            public_host=s.rasa_host,
            public_port=s.rasa_port,
            first_rasa_port=env.rasa_first_port,
            action_port=s.action_port,
            action_endpoint_url=env.action_endpoint_url or s.action_url,
            web_port=s.web_port,
            retention_days=env.tracker_retention_days,
            retention_every_hours=env.retention_every_hours,
            metrics_first_port=env.metrics_first_port,
            workers_per_instance=env.rasa_workers,
        )
        config.validate()
        return config

    def with_(self, **changes) -> ProductionConfig:
        """A copy with some fields changed (tests use fresh database and queue names)."""
        new = replace(self, **changes)
        new.validate()
        return new

    def validate(self) -> None:
        """Refuse settings that Rasa would otherwise accept and then ignore or misuse."""
        if not _ALNUM.match(self.lock_key_prefix):
            raise ConfigError(
                f"LOCK_KEY_PREFIX 只能包含字母和数字（当前为「{self.lock_key_prefix}」），"
                "否则 Rasa 会静默改用默认前缀，多套部署会互相抢锁"
            )
        for url, name in ((self.app_db_url, "DATABASE_URL"), (self.tracker_db_url, "TRACKER_DB_URL")):
            if not url.startswith("postgresql"):
                raise ConfigError(f"生产配置的 {name} 必须是 PostgreSQL 地址")
            if not _DB_NAME.match(database_name(url)):
                raise ConfigError(f"{name} 的数据库名「{database_name(url)}」不合法")
        if database_name(self.app_db_url) == database_name(self.tracker_db_url) and server_url(
            self.app_db_url
        ) == server_url(self.tracker_db_url):
            raise ConfigError(
                "业务数据库（DATABASE_URL）与 Rasa 对话记录库（TRACKER_DB_URL）必须分开：两者都会用到名为 events 的表"
            )
        if not self.redis_password:
            raise ConfigError(
                "生产配置必须设置 REDIS_PASSWORD（并在 Redis 上设 requirepass）：Redis 里有会话锁和"
                "各实例之间的 socket.io 消息，没有密码时能连上 Redis 的人就能读写它们"
            )
        if self.instances < 1:
            raise ConfigError("RASA_INSTANCES 至少为 1")
        if not 1 <= self.workers_per_instance <= MAX_WORKERS_PER_INSTANCE:
            raise ConfigError(
                f"RASA_WORKERS 必须在 1 到 {MAX_WORKERS_PER_INSTANCE} 之间（每个工作进程约占 1 GiB 内存），"
                f"当前为 {self.workers_per_instance}"
            )
        if self.lock_lifetime_s < 10:
            raise ConfigError("TICKET_LOCK_LIFETIME 必须长于最慢的动作（至少 10 秒）")
        if self.retention_days < 1:
            raise ConfigError("TRACKER_RETENTION_DAYS 至少为 1 天")

    @property
    def rasa_ports(self) -> list[int]:
        return [self.first_rasa_port + i for i in range(self.instances)]

    def metrics_port(self, program: str) -> int | None:
        """The Prometheus port of `program` (actions, consumer, rasa-1, ...) on this machine."""
        if not self.metrics_first_port:
            return None
        if program.startswith("rasa-"):
            return self.metrics_first_port + 1 + int(program.removeprefix("rasa-"))
        return {"actions": self.metrics_first_port, "consumer": self.metrics_first_port + 1}.get(program)

    @property
    def socketio_redis_url(self) -> str:
        password = f":{self.redis_password}@" if self.redis_password else ""
        return f"redis://{password}{self.redis_host}:{self.redis_port}/{self.redis_db}"

    @property
    def rabbitmq_url(self) -> str:
        return f"amqp://{self.rabbitmq_user}:{self.rabbitmq_password}@{self.rabbitmq_host}:{self.rabbitmq_port}/"

    def child_env(self, base: dict | None = None) -> dict[str, str]:
        """Environment for every child process (Rasa, action server, web app, consumer)."""
        env = child_environment() if base is None else dict(base)
        env.update(
            {
                "PROFILE": "production",
                "DATABASE_URL": self.app_db_url,
                "TRACKER_DB_URL": self.tracker_db_url,
                "REDIS_HOST": self.redis_host,
                "REDIS_PORT": str(self.redis_port),
                "REDIS_DB": str(self.redis_db),
                "REDIS_PASSWORD": self.redis_password,
                # socket.io rooms shared by every Rasa instance: an operator message posted to one
                # instance reaches a widget connected to another (bot/channels/socketio.py)
                "SOCKETIO_REDIS_URL": self.socketio_redis_url,
                "LOCK_KEY_PREFIX": self.lock_key_prefix,
                "TICKET_LOCK_LIFETIME": str(self.lock_lifetime_s),
                "RABBITMQ_HOST": self.rabbitmq_host,
                "RABBITMQ_PORT": str(self.rabbitmq_port),
                "RABBITMQ_USER": self.rabbitmq_user,
                "RABBITMQ_PASSWORD": self.rabbitmq_password,
                "EVENTS_QUEUE": self.events_queue,
                "EVENTS_EXCHANGE": self.events_exchange,
                "SQL_POOL_SIZE": str(self.sql_pool_size),
                "SQL_MAX_OVERFLOW": str(self.sql_max_overflow),
                "ACTION_ENDPOINT_URL": self.action_endpoint_url,
                "RASA_TELEMETRY_ENABLED": "false",
                "SANIC_HOST": "127.0.0.1",
            }
        )
        env.update(self.extra_env)
        return env
