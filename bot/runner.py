"""`python -m bot run`: train when the data changed, then start Rasa, the action server and the web app.

All three run as child processes of this one, bound to 127.0.0.1 by default. A child that exits is
restarted with back-off and the restart is announced (bot.restarts); only Ctrl-C (or SIGTERM) stops
them all. A model is named after a hash of everything that shapes it, so an unchanged project
starts without training and a changed one never runs a stale model.
"""

from __future__ import annotations

import argparse
import hashlib
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from bot.restarts import Restarter
from bot.settings import REPO_ROOT, child_environment, settings
from bot.store.db import upgrade_database

MODEL_DIR = REPO_ROOT / "models"
# Everything that changes what `rasa train` produces.
MODEL_INPUTS = ("config.yml", "domain.yml", "data", "bot/nlu")
# Files under MODEL_INPUTS that do not: the NLU gate (bench/nlu.py, `make test-nlu`) only measures a
# trained model, so changing it must not rename the model and force a retrain.
EVALUATION_ONLY = frozenset({"bot/nlu/gate.py"})
PYTHON = sys.executable


def model_fingerprint(root: Path = REPO_ROOT) -> str:
    """A short hash of MODEL_INPUTS (paths and bytes, EVALUATION_ONLY left out): the model's name."""
    digest = hashlib.sha256()
    for name in MODEL_INPUTS:
        path = root / name
        files = (
            sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and "__pycache__" not in p.parts
                and p.relative_to(root).as_posix() not in EVALUATION_ONLY
            )
            if path.is_dir()
            else [path]
        )
        for file in files:
            digest.update(str(file.relative_to(root)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:12]


def model_path(root: Path = REPO_ROOT) -> Path:
    return root / "models" / f"qhd-{model_fingerprint(root)}.tar.gz"


def rasa_env() -> dict[str, str]:
    """Environment for Rasa processes: endpoints.yml reads these; telemetry stays off."""
    s = settings()
    env = child_environment()
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")
    env.setdefault("ACTION_ENDPOINT_URL", s.action_url)
    env.setdefault("TRACKER_SQLITE_PATH", s.tracker_db_url.removeprefix("sqlite:///"))
    env.setdefault("SANIC_HOST", s.action_host)
    env.setdefault("ACTION_TOKEN", s.action_token)  # endpoints.yml sends it to the action server
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("PYTHONPATH", str(REPO_ROOT))
    return env


def ensure_model(force: bool = False) -> Path:
    """Train only when no model matches the current data, config and NLU components."""
    target = model_path()
    if target.exists() and not force:
        print(f"模型已是最新：{target.relative_to(REPO_ROOT)}", flush=True)
        return target
    print("训练模型（数据或配置有变化）……约需几分钟", flush=True)
    started = time.monotonic()
    subprocess.run(
        [
            PYTHON,
            "-m",
            "rasa",
            "train",
            "--fixed-model-name",
            target.name.removesuffix(".tar.gz"),
            "--out",
            str(MODEL_DIR),
        ],
        cwd=REPO_ROOT,
        env=rasa_env(),
        check=True,
    )
    print(f"训练完成，用时 {time.monotonic() - started:.0f} 秒", flush=True)
    return target


def actions_command(port: int | str) -> list[str]:
    """Our action server (bot.action_server): loopback, only for callers with ACTION_TOKEN (Rasa), masked
    logs and metrics set up at start; one definition for every launcher."""
    return [PYTHON, "-m", "bot.action_server", "--port", str(port)]


def rasa_command(
    model: Path,
    host: str,
    port: int | str,
    cors: str,
    credentials: str = "credentials.yml",
    endpoints: str = "endpoints.yml",
) -> list[str]:
    """`rasa run` with the HTTP API and our channels; one definition for every launcher.

    The API's token is RASA_TOKEN, read by bot.channels.api_auth from the settings (Bearer header only),
    so it is not on the command line where `ps` would show it.
    """
    return [
        PYTHON,
        "-m",
        "rasa",
        "run",
        "--enable-api",
        "--model",
        str(model),
        "--endpoints",
        endpoints,
        "--credentials",
        credentials,
        "--interface",
        host,
        "--port",
        str(port),
        "--cors",
        cors,
    ]


def commands(model: Path) -> dict[str, list[str]]:
    s = settings()
    return {
        "动作服务器": actions_command(s.action_port),
        "Rasa 服务器": rasa_command(model, s.rasa_host, s.rasa_port, s.web_url),
        "网页应用": [PYTHON, "-m", "bot.web"],
    }


def wait_ready(name: str, url: str, proc: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} 启动失败（退出码 {proc.returncode}）")
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{name} 在 {timeout:.0f} 秒内没有就绪：{url}")


def warm_up() -> None:
    """Parse one message so jieba's dictionary and the graph are loaded before the first resident writes."""
    s = settings()
    requests.post(
        f"{s.rasa_url}/model/parse",
        headers={"Authorization": f"Bearer {s.rasa_token}"},
        json={"text": "农村低保标准是多少"},
        timeout=60,
    )


def ready_urls() -> dict[str, str]:
    s = settings()
    return {
        "动作服务器": f"http://{s.action_host}:{s.action_port}/health",
        "Rasa 服务器": f"{s.rasa_url}/",
        "网页应用": f"{s.web_url}/healthz",
    }


def start_all(model: Path, restarter: Restarter) -> None:
    """Start the three children under `restarter`, wait until each answers, then print where they are."""
    s = settings()
    (REPO_ROOT / "var").mkdir(exist_ok=True)
    upgrade_database()
    urls = ready_urls()
    for name, cmd in commands(model).items():
        restarter.start(name, cmd, urls[name])
    for name, url in urls.items():
        proc = restarter.children[name].proc
        assert proc is not None
        wait_ready(name, url, proc)
    warm_up()
    print(f"就绪 动作服务器  http://{s.action_host}:{s.action_port}", flush=True)
    print(
        f"就绪 Rasa 服务器 {s.rasa_url}  (REST: {s.rasa_url}/webhooks/rest/webhook, socket.io, HTTP API；"
        f"令牌见 python -m bot rest-token)",
        flush=True,
    )
    print(
        f"就绪 网页应用    {s.web_url}  (居民聊天 /  坐席 /operator  审核 /staff；聊天窗口经由本地址连接)", flush=True
    )


def spawn_child(cmd: list[str]) -> subprocess.Popen:
    """A child in its own process group (so stopping it stops what it started), output to ours."""
    return subprocess.Popen(cmd, cwd=REPO_ROOT, env=rasa_env(), start_new_session=True)


def _stop_on_sigterm(*_: object) -> None:
    """SIGTERM stops the children the same way Ctrl-C does."""
    raise KeyboardInterrupt


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot run", description="训练（如需要）并启动全部服务")
    parser.add_argument("--train-only", action="store_true", help="只训练，不启动")
    parser.add_argument("--force-train", action="store_true", help="即使数据没变也重新训练")
    args = parser.parse_args(argv)
    model = ensure_model(force=args.force_train)
    if args.train_only:
        print(model)
        return 0
    restarter = Restarter(spawn_child, report=lambda line: print(line, flush=True))
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        start_all(model, restarter)
        print("某个服务意外退出时会自动重启；按 Ctrl-C 停止全部服务", flush=True)
        while True:
            restarter.tick()
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\n正在停止……", flush=True)
        return 0
    except RuntimeError as error:
        print(f"启动失败：{error}", file=sys.stderr)
        return 1
    finally:
        restarter.stop_all()
