"""`python -m bot.production.healthcheck ROLE`: exit 0 when this container's process can do its job.

The container image's HEALTHCHECK and the Kubernetes probes run this inside the container (the standard
library and the settings only; SQLAlchemy for the migrate role alone, so a probe costs a fraction of a
second of CPU). What each role must prove:

- rasa: the model is loaded, not just the port open. Rasa answers `GET /` ("Hello from Rasa") before
  its model is loaded, so that would route residents to an instance that can only answer 409.
  `GET /status` answers 200 with the model file only once an agent is ready; it needs the API token,
  which the probe reads from RASA_TOKEN as set in its own environment (never written into a manifest).
  With RASA_WORKERS > 1 and a metrics port, every worker must have its model too: `/status` answers as
  soon as one of them does (qhd_rasa_workers_serving, bot.rasa_workers).
- actions: rasa_sdk's `/health`; web: the web app's `/healthz`.
- consumer: its heartbeat file was touched within the last minute (the consumer loop touches it
  every flush interval, also while waiting for events).
- migrate: the database answers (the job itself reports success by its exit code).
"""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from bot.production.config import ProductionConfig
from bot.settings import env_settings

DEFAULT_HEARTBEAT = "/tmp/qhd-consumer.heartbeat"
HEARTBEAT_MAX_AGE_S = 60


def _get(url: str, timeout: float = 3, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=timeout) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, b""
    except (urllib.error.URLError, OSError):
        return 0, b""


def rasa_model_loaded(port: int, token: str) -> bool:
    # the token travels in a header only: Rasa's API refuses it in a query string (bot.channels.api_auth)
    status, body = _get(f"http://127.0.0.1:{port}/status", headers={"Authorization": f"Bearer {token}"})
    if status != 200:
        return False
    try:
        return bool(json.loads(body).get("model_file"))
    except ValueError:
        return False


def workers_serving(metrics_port: int) -> float:
    """qhd_rasa_workers_serving as the instance's metrics port shows it (0 when it does not answer)."""
    status, body = _get(f"http://127.0.0.1:{metrics_port}/metrics")
    if status != 200:
        return 0.0
    for line in body.decode(errors="replace").splitlines():
        if line.startswith("qhd_rasa_workers_serving "):
            return float(line.split()[1])
    return 0.0


def rasa_ready(port: int, token: str, workers: int, metrics_port: int | None) -> bool:
    """The model is loaded, and with several workers and a metrics port, in every worker."""
    if not rasa_model_loaded(port, token):
        return False
    return workers < 2 or metrics_port is None or workers_serving(metrics_port) >= workers


def heartbeat_fresh(path: Path, max_age_s: float = HEARTBEAT_MAX_AGE_S) -> bool:
    try:
        return time.time() - path.stat().st_mtime < max_age_s
    except OSError:
        return False


def check(role: str) -> bool:
    env = env_settings()
    if role == "rasa":
        return rasa_ready(env.rasa_listen_port, env.rasa_token.get_secret_value(), env.rasa_workers, env.metrics_port)
    if role == "actions":
        return _get(f"http://127.0.0.1:{env.action_port}/health")[0] == 200
    if role == "web":
        return _get(f"http://127.0.0.1:{env.web_port}/healthz")[0] == 200
    if role == "consumer":
        return heartbeat_fresh(env.consumer_heartbeat_file or Path(DEFAULT_HEARTBEAT))
    if role == "migrate":
        # lazy: bot.production.pg brings SQLAlchemy (+~125 ms, ~120 modules), which the probes of the
        # other roles (every 5 to 30 s, in every container) do not need
        from bot.production.pg import database_exists  # noqa: PLC0415 - lazy import, reason above

        return database_exists(ProductionConfig.from_env().app_db_url)
    raise SystemExit(f"unknown role {role!r}")


# What PID 1 runs (after the entrypoint's exec) -> its role. Docker runs HEALTHCHECK with the image's
# environment, not the entrypoint's, so the role is read from the process itself.
ROLE_MARKERS = (
    ("bot.action_server", "actions"),
    ("rasa_sdk", "actions"),
    ("bot.production.consumer", "consumer"),
    ("bot.web", "web"),
    ("bot.production.migrate", "migrate"),
    ("rasa", "rasa"),
)


def role_of(cmdline: list[str]) -> str:
    for marker, role in ROLE_MARKERS:
        if marker in cmdline:
            return role
    return ""


def detect_role() -> str:
    try:
        raw = Path("/proc/1/cmdline").read_bytes()
    except OSError:
        return ""
    return role_of([part.decode(errors="replace") for part in raw.split(b"\0") if part])


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    role = args[0] if args else (env_settings().qhd_role or detect_role())
    return 0 if check(role) else 1


if __name__ == "__main__":
    raise SystemExit(main())
