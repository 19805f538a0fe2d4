"""Every setting of the assistant, read from the environment (and `.env`) here and nowhere else.

Why one module: each setting has one name, one default and one check, and `.env.example` lists them all
(tests/unit/test_settings.py keeps it so, and checks that no other module reads the environment). Every
process (Rasa, action server, web app, consumer, command line) reads the same names, so one `.env`
configures the whole assistant. A value that cannot be used stops the process with a message that names
the variable in Chinese and English (SettingsError), instead of a traceback later somewhere else.

Two views:
- `env_settings()`: every variable, parsed and checked by pydantic (`EnvSettings`). It looks at the
  environment on every call and parses again only when one of its variables changed, so a test or a
  bench script that sets a variable is seen at once, while a running process pays a few dict lookups.
- `settings()`: what the servers share (addresses, database URLs) with the secrets resolved by
  bot.local_secrets (from the environment, else generated once into var/secrets.json; never a default
  in the source). Built once per process, like the servers that use it; `settings.cache_clear()` reads
  again.

An empty value counts as unset: the default applies. Three numbers stay tolerant, as they always were: a
value that is not a number falls back to the default with a warning (LEARN_MARGIN, OUTBOX_RETRY_SECONDS,
TRACKER_DB_RETRY_SECONDS). A few variables override a default that belongs to the
component using them (the tracker window's size, the rulebook folder); unset, they are None here.

Handing a copy of the environment to a child process (`child_environment()`) is not reading a setting:
the child reads its own.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from dotenv import load_dotenv
from pydantic import BaseModel, Field, SecretStr, ValidationError, validator
from pydantic.fields import ModelField

from bot.local_secrets import SECRET_NAMES, resolve_secrets

REPO_ROOT = Path(__file__).resolve().parent.parent
VAR = REPO_ROOT / "var"
log = logging.getLogger(__name__)


class SettingsError(ValueError):
    """A setting whose value cannot be used; the message names it, in Chinese and in English."""


class EnvSettings(BaseModel):
    """Every variable the assistant reads, by its environment name (the alias), with its default."""

    # --- where each part listens; what both profiles share (see also `settings()`) ---
    profile: str = Field("embedded", alias="PROFILE")  # or "production" (docs/production.md)
    rasa_host: str = Field("127.0.0.1", alias="RASA_HOST")
    rasa_port: int = Field(5005, alias="RASA_PORT")
    rasa_listen_port: int = Field(5005, alias="RASA_LISTEN_PORT")  # inside a container (its health probe)
    action_host: str = Field("127.0.0.1", alias="ACTION_HOST")
    action_port: int = Field(5055, alias="ACTION_PORT")
    sanic_host: str = Field("", alias="SANIC_HOST")  # the action server's listen address; empty: ACTION_HOST
    web_host: str = Field("127.0.0.1", alias="WEB_HOST")
    web_port: int = Field(8000, alias="WEB_PORT")
    handoff_hours_zh: str = Field("工作日 8:30-17:30", alias="HANDOFF_HOURS_ZH")

    # --- secrets as given (empty: generated, see bot.local_secrets); use settings() for the values ---
    rasa_token: SecretStr = Field(SecretStr(""), alias="RASA_TOKEN")
    web_secret: SecretStr = Field(SecretStr(""), alias="WEB_SECRET")
    jwt_secret: SecretStr = Field(SecretStr(""), alias="JWT_SECRET")
    rest_token: SecretStr = Field(SecretStr(""), alias="REST_TOKEN")
    action_token: SecretStr = Field(SecretStr(""), alias="ACTION_TOKEN")
    secrets_file: Path = Field(VAR / "secrets.json", alias="SECRETS_FILE")

    # --- our tables (bot.store) ---
    database_url: str = Field(f"sqlite:///{VAR / 'app.db'}", alias="DATABASE_URL")
    db_pool_size: int = Field(5, alias="DB_POOL_SIZE")  # PostgreSQL pool per process
    db_max_overflow: int = Field(10, alias="DB_MAX_OVERFLOW")
    outbox_path: Path = Field(VAR / "outbox.jsonl", alias="OUTBOX_PATH")  # relative: to the checkout
    outbox_retry_seconds: float = Field(15.0, alias="OUTBOX_RETRY_SECONDS", tolerant=True)
    # retention in days (bot.store.retention)
    request_retention_days: int = Field(365, alias="REQUEST_RETENTION_DAYS", ge=1, unit=("天", "day(s)"))
    check_retention_days: int = Field(365, alias="CHECK_RETENTION_DAYS", ge=1, unit=("天", "day(s)"))
    analytics_retention_days: int = Field(365, alias="ANALYTICS_RETENTION_DAYS", ge=1, unit=("天", "day(s)"))
    conversation_state_days: int = Field(30, alias="CONVERSATION_STATE_DAYS", ge=1, unit=("天", "day(s)"))
    audit_retention_days: int = Field(1095, alias="AUDIT_RETENTION_DAYS", ge=1, unit=("天", "day(s)"))
    tracker_retention_days: int = Field(180, alias="TRACKER_RETENTION_DAYS", ge=1, unit=("天", "day(s)"))

    # --- Rasa's tracker store ---
    tracker_db_url: str = Field(f"sqlite:///{VAR / 'tracker.db'}", alias="TRACKER_DB_URL")
    tracker_db_retry_seconds: float = Field(20.0, alias="TRACKER_DB_RETRY_SECONDS", tolerant=True)
    # None: the store's own window (its endpoints.yml arguments, else bot.tracker_window's defaults)
    # Rasa's own TensorFlow thread settings; when neither is set, the Rasa process runs each op on one thread
    # (bot.rasa_speedups.one_thread_per_op)
    tf_intra_op_threads: int | None = Field(None, alias="TF_INTRA_OP_PARALLELISM_THREADS")
    tf_inter_op_threads: int | None = Field(None, alias="TF_INTER_OP_PARALLELISM_THREADS")
    tracker_window_turns: int | None = Field(None, alias="TRACKER_WINDOW_TURNS")
    tracker_window_slack: int | None = Field(None, alias="TRACKER_WINDOW_SLACK")

    # --- rulebook, learning loop ---
    policies_dir: str | None = Field(None, alias="POLICIES_DIR")  # None: bot.rulebook.DEFAULT_POLICIES_DIR
    policy_layer: str = Field("on", alias="POLICY_LAYER")  # off / 0 / false / no: the files alone
    learn_margin: float = Field(0.2, alias="LEARN_MARGIN", tolerant=True)

    # --- production profile (bot.production.config; docs/production.md has the table) ---
    pg_server_url: str = Field("postgresql://postgres@127.0.0.1:5432", alias="PG_SERVER_URL")
    redis_host: str = Field("127.0.0.1", alias="REDIS_HOST")
    redis_port: int = Field(6379, alias="REDIS_PORT")
    redis_db: int = Field(1, alias="REDIS_DB")
    redis_password: SecretStr = Field(SecretStr(""), alias="REDIS_PASSWORD", keep_spaces=True)
    lock_key_prefix: str = Field("qhdlock", alias="LOCK_KEY_PREFIX")
    ticket_lock_lifetime: int = Field(60, alias="TICKET_LOCK_LIFETIME")
    rabbitmq_host: str = Field("127.0.0.1", alias="RABBITMQ_HOST")
    rabbitmq_port: int = Field(5672, alias="RABBITMQ_PORT")
    rabbitmq_user: str = Field("guest", alias="RABBITMQ_USER")
    rabbitmq_password: SecretStr = Field(SecretStr("guest"), alias="RABBITMQ_PASSWORD")
    events_queue: str = Field("qhd_events", alias="EVENTS_QUEUE")
    events_exchange: str = Field("qhd-exchange", alias="EVENTS_EXCHANGE")
    sql_pool_size: int = Field(5, alias="SQL_POOL_SIZE")  # Rasa's tracker store, per instance
    sql_max_overflow: int = Field(5, alias="SQL_MAX_OVERFLOW")
    rasa_instances: int = Field(2, alias="RASA_INSTANCES")
    rasa_workers: int = Field(1, alias="RASA_WORKERS")  # Sanic worker processes per instance (SANIC_WORKERS)
    rasa_first_port: int = Field(5006, alias="RASA_FIRST_PORT")
    action_endpoint_url: str = Field("", alias="ACTION_ENDPOINT_URL")  # empty: http://ACTION_HOST:ACTION_PORT/webhook
    retention_every_hours: float = Field(24.0, alias="RETENTION_EVERY_HOURS")
    metrics_first_port: int = Field(9100, alias="METRICS_FIRST_PORT")
    socketio_redis_url: str = Field("", alias="SOCKETIO_REDIS_URL")  # empty: socket.io rooms in memory

    # --- observability, containers ---
    metrics_port: int | None = Field(None, alias="METRICS_PORT")  # None: no Prometheus port
    # set per Rasa instance by the launcher when it has several workers (bot.rasa_workers, bot.metrics)
    sanic_workers: int = Field(1, alias="SANIC_WORKERS")
    prometheus_multiproc_dir: Path | None = Field(None, alias="PROMETHEUS_MULTIPROC_DIR")
    metrics_host: str = Field("127.0.0.1", alias="METRICS_HOST")
    log_format: str = Field("plain", alias="LOG_FORMAT")  # or json
    log_level: str = Field("INFO", alias="LOG_LEVEL")
    consumer_heartbeat_file: Path | None = Field(None, alias="CONSUMER_HEARTBEAT_FILE")
    qhd_role: str = Field("", alias="QHD_ROLE")  # a container's role (deploy/docker/entrypoint.sh)

    class Config:
        allow_mutation = False
        allow_population_by_field_name = True  # tests build one by field name
        extra = "ignore"

    @validator("*", pre=True)
    def _as_given(cls, value: Any, field: ModelField) -> Any:
        """Spaces around a value are dropped (not around a password: they could be part of it); a tolerant
        number that is not a number falls back to its default, as the code reading it always did."""
        if not isinstance(value, str):
            return value
        extra = field.field_info.extra
        if not extra.get("keep_spaces"):
            value = value.strip()
        if extra.get("tolerant"):
            try:
                float(value)
            except ValueError:
                log.warning(
                    "%s=%r 不是数字，按默认值 %s 处理 / is not a number, the default %s applies",
                    field.alias,
                    value,
                    field.default,
                    field.default,
                )
                return field.default
        return value

    @property
    def production(self) -> bool:
        return self.profile == "production"

    @property
    def policy_layer_on(self) -> bool:
        return self.policy_layer.lower() not in ("off", "0", "false", "no")

    def given_secrets(self) -> dict[str, str]:
        """The secrets set in the environment, by name ("" when not set)."""
        return {name: getattr(self, _FIELDS[name].name).get_secret_value() for name in SECRET_NAMES}


_FIELDS: dict[str, ModelField] = {field.alias: field for field in EnvSettings.__fields__.values()}
ENV_NAMES: tuple[str, ...] = tuple(_FIELDS)
_ENCODED_NAMES = tuple(map(os.environ.encodekey, ENV_NAMES))
DEFAULTS = EnvSettings()  # every setting at its default: what an empty environment gives
_dotenv_loaded = False


def load_env_file() -> None:
    """Read the checkout's `.env` into the environment once per process; the real environment wins."""
    global _dotenv_loaded
    if not _dotenv_loaded:
        load_dotenv(REPO_ROOT / ".env", override=False)
        _dotenv_loaded = True


def env_settings() -> EnvSettings:
    """Every setting as the environment gives it now (parsed once per distinct environment).

    Raises SettingsError when a value cannot be used."""
    load_env_file()
    # Why not os.environ.get: it raises and catches a KeyError for every unset name (most of them), about
    # 60 µs for all of them, and this runs for every database session. The encoded mapping behind
    # os.environ (CPython, POSIX) gives the same values in about 3 µs.
    return _parse(tuple(map(os.environ._data.get, _ENCODED_NAMES)))


@lru_cache(maxsize=8)
def _parse(encoded: tuple[bytes | None, ...]) -> EnvSettings:
    values = (None if value is None else os.environ.decodevalue(value) for value in encoded)
    given = {name: value for name, value in zip(ENV_NAMES, values) if value and value.strip()}
    try:
        return EnvSettings.parse_obj(given)
    except ValidationError as error:
        raise SettingsError(_explain(error, given)) from None


_PROBLEMS = {  # pydantic's error type -> (Chinese, English)
    "type_error.integer": ("应为整数", "must be a whole number"),
    "type_error.float": ("应为数字", "must be a number"),
}


def _explain(error: ValidationError, given: dict[str, str]) -> str:
    lines = []
    for problem in error.errors():
        name = str(problem["loc"][0])
        field = _FIELDS[name]
        shown = "***" if field.type_ is SecretStr else given.get(name, "")
        if problem["type"] == "value_error.number.not_ge":
            limit = problem["ctx"]["limit_value"]
            unit_zh, unit_en = field.field_info.extra.get("unit", ("", ""))
            zh, en = f"至少为 {limit} {unit_zh}".rstrip(), f"must be at least {limit} {unit_en}".rstrip()
        else:
            zh, en = _PROBLEMS.get(problem["type"], ("的值不可用", problem["msg"]))
        lines.append(f"环境变量 {name} {zh}，当前为「{shown}」 / {name} {en}, got {shown!r}")
    return "设置有误，请改正 .env 或环境变量 / invalid setting, correct .env or the environment:\n" + "\n".join(lines)


def child_environment() -> dict[str, str]:
    """A copy of this process's environment (`.env` included) for a child process to read its own settings."""
    load_env_file()
    return dict(os.environ)


@dataclass(frozen=True)
class Settings:
    """What the servers share, with the secrets resolved (the embedded profile unless PROFILE=production)."""

    profile: str
    rasa_host: str
    rasa_port: int
    rasa_token: str
    action_host: str
    action_port: int
    web_host: str
    web_port: int
    web_secret: str
    jwt_secret: str
    rest_token: str  # integrators on the REST webhook (Authorization: Bearer)
    action_token: str  # Rasa -> action server (header set in endpoints.yml)
    database_url: str
    tracker_db_url: str
    handoff_hours_zh: str
    production: bool

    @property
    def rasa_url(self) -> str:
        return f"http://{self.rasa_host}:{self.rasa_port}"

    @property
    def action_url(self) -> str:
        return f"http://{self.action_host}:{self.action_port}/webhook"

    @property
    def web_url(self) -> str:
        return f"http://{self.web_host}:{self.web_port}"


@lru_cache(maxsize=1)
def settings() -> Settings:
    """The servers' settings, read once per process. Raises SecretError for a missing or unsafe secret."""
    env = env_settings()
    secrets = resolve_secrets(env.given_secrets(), env.production, env.secrets_file)
    return Settings(
        profile=env.profile,
        rasa_host=env.rasa_host,
        rasa_port=env.rasa_port,
        action_host=env.action_host,
        action_port=env.action_port,
        web_host=env.web_host,
        web_port=env.web_port,
        database_url=env.database_url,
        tracker_db_url=env.tracker_db_url,
        handoff_hours_zh=env.handoff_hours_zh,
        production=env.production,
        **{name.lower(): value for name, value in secrets.items()},
    )
