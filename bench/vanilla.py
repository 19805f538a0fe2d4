"""The stock Rasa 3.6 server the benches compare against (bench/load.py, bench/latency.py): one place
for how it is started, so every baseline reaches our action server the same way."""

from __future__ import annotations

import sys
from pathlib import Path


def write_endpoints(path: Path, action_url: str) -> Path:
    """endpoints.yml for the baseline: our action server, with the token it requires (ACTION_TOKEN comes
    from the environment of the spawned server); in-memory tracker and lock store, no broker."""
    path.write_text(
        f"action_endpoint:\n  url: {action_url}\n  headers:\n    X-Action-Token: ${{ACTION_TOKEN}}\n",
        encoding="utf-8",
    )
    return path


def command(model: Path, endpoints: Path, port: int, auth_token: str | None = None) -> list[str]:
    """`rasa run` on loopback with the HTTP API (its tracker is read back); `auth_token` puts Rasa's own
    URL-token check on the API."""
    token = ["--auth-token", auth_token] if auth_token else []
    return [
        sys.executable,
        "-m",
        "rasa",
        "run",
        "--enable-api",
        *token,
        "--model",
        str(model),
        "--endpoints",
        str(endpoints),
        "--interface",
        "127.0.0.1",
        "--port",
        str(port),
    ]
