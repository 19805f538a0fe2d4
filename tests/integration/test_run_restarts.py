"""`make run` (python -m bot run): killing the action server no longer stops the assistant. The runner
says in Chinese that it restarts it, does so, and the chat answers with actions again; SIGTERM stops all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from bot.channels.guard import NOTICE_ZH
from bot.settings import REPO_ROOT
from tests.support.servers import Stack, require_model

QUESTION = "农村低保标准是多少"  # answered by action_answer_topic: needs the action server


def pid_listening_on(port: str) -> int:
    """The pid of the process that holds a listening socket on `port` (from /proc, no extra tools)."""
    inode = None
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == int(port):
                inode = fields[9]
    assert inode, f"nothing listens on {port}"
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if any(os.readlink(fd) == f"socket:[{inode}]" for fd in (proc / "fd").iterdir()):
                return int(proc.name)
        except OSError:
            continue
    raise AssertionError(f"no process owns the socket on {port}")


def test_a_killed_action_server_is_restarted_and_announced(tmp_path: Path) -> None:
    model = require_model()
    stack = Stack.create(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        cwd=REPO_ROOT,
        env=stack.env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(line.rstrip() for line in proc.stdout), daemon=True).start()

    def wait_for(text: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while not any(text in line for line in lines):
            assert proc.poll() is None, "bot run exited:\n" + "\n".join(lines[-30:])
            assert time.monotonic() < deadline, f"never printed {text!r}:\n" + "\n".join(lines[-30:])
            time.sleep(0.3)

    try:
        assert model.exists()
        wait_for("就绪 网页应用", timeout_s=420)
        assert stack.say("run-1", QUESTION) not in ([], [{"recipient_id": "run-1", "text": NOTICE_ZH}])

        os.kill(pid_listening_on(stack.env["ACTION_PORT"]), signal.SIGKILL)
        wait_for("动作服务器意外退出（退出码 -9），1 秒后重启（第 1 次）", timeout_s=30)
        wait_for("动作服务器已重启", timeout_s=120)
        answer = stack.say("run-2", QUESTION)
        assert answer and NOTICE_ZH not in str(answer)  # a real answer from the restarted actions
        assert requests.get(f"{stack.web_url}/healthz", timeout=5).status_code == 200  # never stopped
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        code = proc.wait(timeout=60)
    assert code == 0 and any("正在停止" in line for line in lines)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{stack.env['ACTION_PORT']}/health", timeout=2)
