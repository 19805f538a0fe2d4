"""Class 2 in the production layout: the rendered nginx forwards only socket.io and the REST webhook to
callers from other machines, and its access log never records a query string.

nginx runs for real on every interface, in front of tiny back ends standing in for Rasa; "another
machine" is this machine's non-loopback address (the source address nginx sees is then not 127.0.0.1).
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from bot.production import nginx
from tests.production.test_nginx import _backend
from tests.support.servers import free_port


def outside_address() -> str | None:
    """An IPv4 address of this machine other than loopback (None when there is none)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing interface
            address = probe.getsockname()[0]
    except OSError:
        return None
    return None if address.startswith("127.") else address


def _healthy(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


@pytest.fixture
def public_nginx(tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    try:
        nginx.nginx_binary()
    except nginx.NginxMissing as missing:
        pytest.skip(str(missing))
    outside = outside_address()
    if outside is None:
        pytest.skip("this machine has no non-loopback address to call from")
    backend = _backend()
    port = free_port()
    conf = nginx.render(tmp_path / "nginx", "0.0.0.0", port, [backend.server_port], access_log=True)
    nginx.check(conf)
    proc = subprocess.Popen(nginx.command(conf), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not _healthy(f"http://127.0.0.1:{port}/nginx-health"):
            assert time.monotonic() < deadline and proc.poll() is None, "nginx did not start"
            time.sleep(0.1)
        yield f"http://{outside}:{port}", f"http://127.0.0.1:{port}", tmp_path / "nginx" / "access.log"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        backend.shutdown()
        backend.server_close()


@pytest.mark.parametrize(
    "method,path",
    [
        ("GET", "/conversations/x/tracker"),
        ("POST", "/model/parse"),
        ("PUT", "/model"),
        ("GET", "/status"),
        ("GET", "/"),
        ("POST", "/webhooks/qhd_socketio/operator_message"),
        ("GET", "/webhooks/rest/webhook"),
    ],
)
def test_rasas_api_is_not_reachable_from_another_machine(public_nginx, method: str, path: str) -> None:
    outside, local, _ = public_nginx
    assert requests.request(method, outside + path, timeout=5).status_code in (403, 404)
    if method == "GET" and path != "/webhooks/rest/webhook":
        assert requests.request(method, local + path, timeout=5).status_code == 200  # the web app's way in


def test_the_widget_and_the_webhook_are_reachable_from_another_machine(public_nginx) -> None:
    outside, _, _ = public_nginx
    assert (
        requests.get(f"{outside}/socket.io/", params={"EIO": "4", "transport": "polling"}, timeout=5).status_code == 200
    )
    assert requests.post(f"{outside}/webhooks/rest/webhook", json={}, timeout=5).status_code == 200


def test_the_access_log_keeps_paths_without_query_strings(public_nginx) -> None:
    outside, local, log = public_nginx
    secret = "a-secret-that-must-not-be-logged"
    requests.get(f"{outside}/socket.io/", params={"EIO": "4", "transport": "polling", "token": secret}, timeout=5)
    requests.get(f"{local}/conversations/x/tracker", params={"token": secret}, timeout=5)
    deadline = time.monotonic() + 5
    while "/conversations/x/tracker" not in (log.read_text() if log.exists() else ""):
        assert time.monotonic() < deadline, "nginx wrote no access log"
        time.sleep(0.2)
    text = log.read_text()
    assert "/socket.io/" in text and secret not in text and "?" not in text


def test_a_body_above_the_limit_is_refused(public_nginx) -> None:
    outside, _, _ = public_nginx
    answer = requests.post(f"{outside}/webhooks/rest/webhook", data=b"x" * (65 * 1024), timeout=5)
    assert answer.status_code == 413
