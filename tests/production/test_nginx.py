"""The rendered nginx config, run for real in front of two tiny HTTP back ends standing in for Rasa:
REST requests spread over both, a dead instance is skipped, long-polling socket.io stays sticky."""

from __future__ import annotations

import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from bot.production import nginx
from tests.support.servers import free_port


class _Handler(BaseHTTPRequestHandler):
    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = str(self.server.server_port).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args) -> None:  # keep test output clean
        pass


def _backend() -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def balanced(tmp_path: Path) -> Iterator[tuple[str, list[ThreadingHTTPServer]]]:
    try:
        nginx.nginx_binary()
    except nginx.NginxMissing as missing:
        pytest.skip(str(missing))
    backends = [_backend(), _backend()]
    port = free_port()
    conf = nginx.render(tmp_path / "nginx", "127.0.0.1", port, [b.server_port for b in backends])
    nginx.check(conf)
    proc = subprocess.Popen(nginx.command(conf), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                if requests.get(f"{base}/nginx-health", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
            time.sleep(0.1)
        yield base, backends
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        for b in backends:
            b.shutdown()
            b.server_close()


def test_rest_turns_spread_over_all_instances(balanced) -> None:
    base, backends = balanced
    seen = Counter(requests.post(f"{base}/webhooks/rest/webhook", json={}, timeout=5).text for _ in range(20))
    assert set(seen) == {str(b.server_port) for b in backends}


def test_a_stopped_instance_is_skipped_without_errors(balanced) -> None:
    base, backends = balanced
    backends[0].shutdown()
    backends[0].server_close()  # connection refused from now on, as after `kill -9`
    answers = [requests.post(f"{base}/webhooks/rest/webhook", json={}, timeout=5) for _ in range(10)]
    assert all(a.status_code == 200 for a in answers)
    assert {a.text for a in answers} == {str(backends[1].server_port)}


def test_long_polling_socketio_sticks_to_one_instance(balanced) -> None:
    base, _ = balanced
    polled = {
        requests.get(f"{base}/socket.io/", params={"EIO": "4", "transport": "polling"}, timeout=5).text
        for _ in range(10)
    }
    assert len(polled) == 1
    spread = {
        requests.get(f"{base}/socket.io/", params={"EIO": "4", "transport": "websocket"}, timeout=5).text
        for _ in range(10)
    }
    assert len(spread) == 2
