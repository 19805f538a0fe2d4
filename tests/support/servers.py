"""Start real servers (action server, Rasa, web app) for a test, on free loopback ports.

Every test stack gets its own SQLite files in a temporary folder, so tests never share state with a
developer's `make run` or with each other.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from bot.local_secrets import SECRET_NAMES
from bot.runner import REPO_ROOT, actions_command, model_path, rasa_command, rasa_env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def require_model() -> Path:
    """The model for the current data; QHD_MODEL=path overrides it while iterating on tests."""
    model = Path(os.environ["QHD_MODEL"]) if os.environ.get("QHD_MODEL") else model_path()
    if not model.exists():
        if os.environ.get("CI"):
            pytest.fail(f"no trained model {model.name}: `make train` must run before these tests")
        pytest.skip(f"no trained model {model.name} (run `make train`)")
    return model


def random_secrets() -> dict[str, str]:
    """Fresh random values for every secret (bot.local_secrets refuses fixed, published ones)."""
    return {name: secrets.token_urlsafe(24) for name in SECRET_NAMES}


@dataclass
class Stack:
    """A running set of our processes and the settings they share."""

    workdir: Path
    env: dict[str, str] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    @classmethod
    def create(cls, workdir: Path, **extra_env: str) -> Stack:
        env = rasa_env()
        env.update(
            {
                "RASA_PORT": str(free_port()),
                "ACTION_PORT": str(free_port()),
                "WEB_PORT": str(free_port()),
                **random_secrets(),
                "SECRETS_FILE": str(workdir / "secrets.json"),
                "DATABASE_URL": f"sqlite:///{workdir / 'app.db'}",
                "TRACKER_DB_URL": f"sqlite:///{workdir / 'tracker.db'}",
                "TRACKER_SQLITE_PATH": str(workdir / "tracker.db"),
            }
        )
        env["ACTION_ENDPOINT_URL"] = f"http://127.0.0.1:{env['ACTION_PORT']}/webhook"
        env.update(extra_env)
        stack = cls(workdir=workdir, env=env)
        subprocess.run(
            [sys.executable, "-c", "from bot.store.db import upgrade_database; upgrade_database()"],
            cwd=REPO_ROOT,
            env=env,
            check=True,
        )
        return stack

    def create_account(self, username: str, password: str, role: str) -> None:
        """A staff account in this stack's database (in a subprocess, so this process's settings stay as they are)."""
        code = "import sys; from bot.store import accounts; accounts.create_account(*sys.argv[1:4])"
        subprocess.run([sys.executable, "-c", code, username, password, role], cwd=REPO_ROOT, env=self.env, check=True)

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.env['RASA_PORT']}"

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.env['WEB_PORT']}"

    def _spawn(self, name: str, cmd: list[str], ready_url: str, timeout: float = 180) -> None:
        log = open(self.workdir / f"{name}.log", "ab")
        proc = subprocess.Popen(
            cmd, cwd=REPO_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.procs[name] = proc
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"{name} exited with {proc.returncode}; see {self.workdir / (name + '.log')}:\n"
                    + (self.workdir / f"{name}.log").read_text(errors="replace")[-3000:]
                )
            try:
                if requests.get(ready_url, timeout=2).status_code < 500:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"{name} not ready within {timeout} s")

    def start_actions(self) -> None:
        port = self.env["ACTION_PORT"]
        self._spawn("actions", actions_command(port), f"http://127.0.0.1:{port}/health")

    def start_rasa(self, model: Path) -> None:
        self._spawn("rasa", rasa_command(model, "127.0.0.1", self.env["RASA_PORT"], "*"), f"{self.rasa_url}/")

    def start_web(self) -> None:
        self._spawn("web", [sys.executable, "-m", "bot.web"], f"{self.web_url}/healthz", timeout=60)

    def stop(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.stop(name)

    @property
    def rest_headers(self) -> dict[str, str]:
        """What an integrator sends on the REST webhook."""
        return {"Authorization": f"Bearer {self.env['REST_TOKEN']}"}

    @property
    def api_headers(self) -> dict[str, str]:
        """What the web app sends to Rasa's HTTP API."""
        return {"Authorization": f"Bearer {self.env['RASA_TOKEN']}"}

    def say(self, sender: str, text: str) -> list[dict]:
        """One REST turn: the bot's replies to `text` from `sender` (with the integrator's token)."""
        response = requests.post(
            f"{self.rasa_url}/webhooks/rest/webhook",
            headers=self.rest_headers,
            json={"sender": sender, "message": text},
            timeout=60,
        )
        response.raise_for_status()
        return response.json()
