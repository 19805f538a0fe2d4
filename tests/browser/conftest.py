"""Real servers and a real browser for the end-to-end tests.

- `web`: the web app (python -m bot.web) in a subprocess on a free port, on a temporary database with
  one account per role.
- `bot_stack`: additionally the Rasa server (with our socket.io channel, through a temporary
  credentials file) and the action server, sharing the same databases and secrets. Skipped with a reason
  when no trained model matches the current data (bot.runner.model_path()).
- `browser`: Debian's chromium driven by Playwright.
Screenshots go to docs/screenshots/.
"""
from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Optional

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
from browser_helpers import ACCOUNTS


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, timeout: float, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited early:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} not ready after {timeout}s:\n{log.read_text(errors='replace')[-3000:]}")


@dataclass
class Stack:
    env: dict
    tmp: Path
    web_url: str
    rasa_port: int
    procs: list = field(default_factory=list)

    def start(self, name: str, args: list[str], ready_url: str, timeout: float) -> None:
        log = self.tmp / f"{name}.log"
        handle = open(log, "wb")
        proc = subprocess.Popen(args, cwd=REPO, env=self.env, stdout=handle, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        wait_for(ready_url, timeout, proc, log)

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.procs.clear()


@pytest.fixture(scope="session")
def stack_env(tmp_path_factory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("stack")
    ports = {"web": free_port(), "rasa": free_port(), "action": free_port()}
    env = dict(os.environ)
    env.update({
        "PROFILE": "embedded",
        "DATABASE_URL": f"sqlite:///{tmp / 'app.db'}",
        "TRACKER_DB_URL": f"sqlite:///{tmp / 'tracker.db'}",
        "TRACKER_SQLITE_PATH": str(tmp / "tracker.db"),
        "WEB_PORT": str(ports["web"]), "RASA_PORT": str(ports["rasa"]), "ACTION_PORT": str(ports["action"]),
        "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{ports['action']}/webhook",
        "JWT_SECRET": secrets.token_urlsafe(32), "WEB_SECRET": secrets.token_urlsafe(32),
        "RASA_TOKEN": secrets.token_urlsafe(16),
        "RASA_TELEMETRY_ENABLED": "false", "SANIC_HOST": "127.0.0.1", "TF_CPP_MIN_LOG_LEVEL": "2",
        "PYTHONPATH": str(REPO),
    })
    stack = Stack(env=env, tmp=tmp, web_url=f"http://127.0.0.1:{ports['web']}", rasa_port=ports["rasa"])
    stack.ports = ports  # type: ignore[attr-defined]
    # Accounts and migrations through the store, in this process, on the same database.
    saved = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = env["DATABASE_URL"]
    from bot.store import accounts
    from bot.store.db import upgrade_database

    upgrade_database(env["DATABASE_URL"])
    for name, (role, password) in ACCOUNTS.items():
        accounts.create_account(name, password, role)
    try:
        yield stack
    finally:
        stack.stop()
        if saved is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = saved


@pytest.fixture(scope="session")
def web(stack_env: Stack) -> Stack:
    if not any(p.args[:3] == [sys.executable, "-m", "bot.web"] for p in stack_env.procs):
        stack_env.start("web", [sys.executable, "-m", "bot.web", "--no-migrate"],
                        stack_env.web_url + "/healthz", timeout=60)
    return stack_env


def current_model() -> Optional[Path]:
    from bot.runner import model_path

    path = model_path()
    return path if path.exists() else None


@pytest.fixture(scope="session")
def bot_stack(web: Stack) -> Stack:
    model = current_model()
    if model is None:
        pytest.skip("no trained model matches the current data in models/ (run `make train` / `python -m bot run` "
                    "first); the bot-dependent browser flows need it")
    creds = web.tmp / "credentials.yml"
    creds.write_text("rest:\nbot.channels.socketio.BoundSocketIOInput:\n"
                     "  user_message_evt: user_uttered\n  bot_message_evt: bot_uttered\n", encoding="utf-8")
    ports = web.ports  # type: ignore[attr-defined]
    web.start("actions", [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "-p", str(ports["action"])],
              f"http://127.0.0.1:{ports['action']}/health", timeout=120)
    web.start("rasa", [sys.executable, "-m", "rasa", "run", "--enable-api", "--auth-token", web.env["RASA_TOKEN"],
                       "--credentials", str(creds), "--endpoints", "endpoints.yml", "-m", str(model),
                       "--port", str(ports["rasa"]), "-i", "127.0.0.1"],
              f"http://127.0.0.1:{ports['rasa']}/", timeout=240)
    # Warm up (jieba dictionary load) so the first resident message is answered promptly.
    requests.post(f"http://127.0.0.1:{ports['rasa']}/model/parse?token={web.env['RASA_TOKEN']}",
                  json={"text": "你好"}, timeout=60)
    return web


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()
