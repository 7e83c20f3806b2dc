"""`startvora serve` as a person runs it: gunicorn plus the consumer, supervised."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def children(pid: int) -> dict[int, str]:
    found = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ")
            found[int(child)] = cmdline.decode()
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except FileNotFoundError:
        return False
    return state != "Z"


def wait_for(predicate, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


def start(data: Path, port: int, **env: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "startvora", "serve", "--port", str(port), "--workers", "1"],
        env={
            "PATH": os.environ["PATH"],
            "HOME": os.environ.get("HOME", "/tmp"),
            "STARTVORA_DATA": str(data),
            **env,
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if "Startvora is running: open" in line:
            # Keep reading so that access-log lines never fill the pipe.
            threading.Thread(target=proc.stdout.read, daemon=True).start()
            return proc, line.split("open ", 1)[1].strip()
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise AssertionError("startvora serve did not print its URL")


def stop(proc: subprocess.Popen[str]) -> int:
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=30)
    proc.stdout.close()
    return code


def test_serve_supervises_and_stops_cleanly(tmp_path):
    assert (
        subprocess.run(
            [sys.executable, "-m", "startvora", "init"],
            env={**os.environ, "STARTVORA_DATA": str(tmp_path)},
            capture_output=True,
        ).returncode
        == 0
    )
    port = free_port()
    proc, url = start(tmp_path, port)
    try:
        assert url == f"http://127.0.0.1:{port}/"
        with urllib.request.urlopen(url + "healthz", timeout=5) as response:
            assert response.status == 200
            assert json.load(response)["checks"]["database"]["ok"] is True

        kids = children(proc.pid)
        consumer = next(pid for pid, cmd in kids.items() if cmd.endswith("worker "))
        web = next(pid for pid, cmd in kids.items() if "gunicorn" in cmd)
        os.kill(consumer, signal.SIGKILL)
        replacement = wait_for(
            lambda: next(
                (
                    p
                    for p, c in children(proc.pid).items()
                    if c.endswith("worker ") and p != consumer and alive(p)
                ),
                None,
            )
        )
        assert alive(replacement) and alive(web)
    finally:
        code = stop(proc)
    assert code == 0
    assert not alive(web) and not alive(replacement)


def test_auto_migrate_upgrades_on_start(tmp_path):
    port = free_port()
    proc, url = start(tmp_path, port, STARTVORA_DATABASE__AUTO_MIGRATE="true")
    try:
        with urllib.request.urlopen(url + "healthz", timeout=5) as response:
            assert response.status == 200
    finally:
        assert stop(proc) == 0


def test_serve_fails_when_the_web_server_cannot_start(tmp_path):
    from startvora.config import load_settings
    from startvora.supervisor import Supervisor

    settings = load_settings(environ={"STARTVORA_DATA": str(tmp_path)})
    supervisor = Supervisor(settings, "127.0.0.1", free_port(), 1, [])
    supervisor.web_command = lambda: [sys.executable, "-c", "raise SystemExit(3)"]
    supervisor.consumer_command = lambda: [sys.executable, "-c", "import time; time.sleep(60)"]
    handlers = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    try:
        assert supervisor.run() == 1  # so that systemd's Restart=on-failure acts
    finally:
        signal.signal(signal.SIGTERM, handlers[0])
        signal.signal(signal.SIGINT, handlers[1])
    assert supervisor.consumer.poll() is not None  # not left behind
