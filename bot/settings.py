"""Process settings, read once from the environment (and `.env` through python-dotenv).

Every process (Rasa server, action server, web app, command line) reads the same names, so a single
`.env` file configures the whole assistant. `.env.example` lists every setting with its default.
Secrets never have a default in the source: see bot.local_secrets (generated into var/secrets.json).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from dotenv import load_dotenv

from bot.local_secrets import resolve_secrets

REPO_ROOT = Path(__file__).resolve().parent.parent


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


@dataclass(frozen=True)
class Settings:
    """Where each part listens and what it talks to. Defaults are the embedded (single machine) profile."""

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
    load_dotenv(REPO_ROOT / ".env", override=False)
    var = REPO_ROOT / "var"
    profile = _env("PROFILE", "embedded")
    production = profile == "production"
    secrets = resolve_secrets(dict(os.environ), production, Path(_env("SECRETS_FILE", str(var / "secrets.json"))))
    return Settings(
        profile=profile,
        rasa_host=_env("RASA_HOST", "127.0.0.1"),
        rasa_port=int(_env("RASA_PORT", "5005")),
        rasa_token=secrets["RASA_TOKEN"],
        action_host=_env("ACTION_HOST", "127.0.0.1"),
        action_port=int(_env("ACTION_PORT", "5055")),
        web_host=_env("WEB_HOST", "127.0.0.1"),
        web_port=int(_env("WEB_PORT", "8000")),
        web_secret=secrets["WEB_SECRET"],
        jwt_secret=secrets["JWT_SECRET"],
        rest_token=secrets["REST_TOKEN"],
        action_token=secrets["ACTION_TOKEN"],
        database_url=_env("DATABASE_URL", f"sqlite:///{var / 'app.db'}"),
        tracker_db_url=_env("TRACKER_DB_URL", f"sqlite:///{var / 'tracker.db'}"),
        handoff_hours_zh=_env("HANDOFF_HOURS_ZH", "工作日 8:30-17:30"),
        production=production,
    )
