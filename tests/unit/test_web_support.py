"""Helpers shared by the web app's unit tests (no tests here): a migrated temporary database with one
account per role, the app on it with a fake Rasa client, and logging in through the real login form."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest

PASSWORDS = {"op1": "operator-pass-1", "op2": "operator-pass-2", "st1": "staff-pass-1", "ad1": "admin-pass-1"}
ROLES = {"op1": "operator", "op2": "operator", "st1": "staff", "ad1": "admin"}


class FakeRasa:
    """Stands in for bot.web.rasa_api.RasaClient: records calls, serves canned trackers."""

    def __init__(self) -> None:
        self.trackers: dict[str, dict] = {}
        self.calls: list[tuple] = []

    def tracker(self, sender_id: str) -> dict:
        self.calls.append(("tracker", sender_id))
        return self.trackers.get(sender_id, {"sender_id": sender_id, "events": [], "paused": False})

    def pause(self, sender_id: str) -> None:
        self.calls.append(("pause", sender_id))
        self.trackers.setdefault(sender_id, {"events": []})["paused"] = True

    def resume(self, sender_id: str) -> None:
        self.calls.append(("resume", sender_id))
        self.trackers.setdefault(sender_id, {"events": []})["paused"] = False

    def operator_message(self, sender_id: str, text: str, operator: str, mode: str | None = None) -> bool:
        self.calls.append(("operator_message", sender_id, text, operator, mode))
        return sender_id in self.trackers


def user_event(text: str, ts: float = 1_790_000_000.0) -> dict:
    return {"event": "user", "text": text, "timestamp": ts}


def bot_event(text: str, ts: float = 1_790_000_001.0, **extra: Any) -> dict:
    return {"event": "bot", "text": text, "timestamp": ts, **extra}


@pytest.fixture()
def web(tmp_path, monkeypatch):
    """(app, fake_rasa) on a fresh migrated SQLite database with accounts op1, op2, st1, ad1."""
    from bot.settings import settings
    from bot.store import accounts
    from bot.store.db import dispose_engine, upgrade_database
    from bot.web.app import create_app

    url = f"sqlite:///{tmp_path / 'app.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    upgrade_database(url)
    for name, password in PASSWORDS.items():
        accounts.create_account(name, password, ROLES[name])
    cfg = dataclasses.replace(settings(), database_url=url, tracker_db_url=f"sqlite:///{tmp_path / 'none.db'}")
    fake = FakeRasa()
    yield create_app(cfg, rasa=fake), fake
    dispose_engine(url)


def csrf_of(client) -> str:
    page = client.get("/login")
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def login(client, username: str) -> str:
    """Log in through the form; returns the session's CSRF token (rotated at login) for later POSTs."""
    resp = client.post(
        "/login",
        data={"username": username, "password": PASSWORDS[username], "csrf_token": csrf_of(client)},
        follow_redirects=False,
    )
    assert resp.status_code == 303, resp.text
    return csrf_of(client)
