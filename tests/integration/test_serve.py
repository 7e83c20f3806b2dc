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


def test_live_stream_under_gunicorn_gthread(tmp_path):
    """Streams hold threads of their own: pages still load, a busy process says 503, and a
    closed page frees its thread."""
    import http.cookiejar
    import re
    import sqlite3
    import urllib.parse

    env = {**os.environ, "STARTVORA_DATA": str(tmp_path)}
    subprocess.run([sys.executable, "-m", "startvora", "init"], env=env, check=True)
    subprocess.run(
        [
            *(sys.executable, "-m", "startvora", "create-user"),
            *("--email", "olivia@acme.test", "--password-stdin", "--org", "Acme"),
        ],
        env=env,
        input=b"a long enough passphrase\n",
        check=True,
        capture_output=True,
    )
    proc, url = start(tmp_path, free_port(), STARTVORA_SERVER__THREADS="3")  # 2 stream slots
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    try:
        form = opener.open(url + "sign-in", timeout=5).read().decode()
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        body = urllib.parse.urlencode(
            {
                "csrf_token": token,
                "email": "olivia@acme.test",
                "password": "a long enough passphrase",
            }
        ).encode()
        opener.open(url + "sign-in", data=body, timeout=5).read()

        first = opener.open(url + "o/acme/live", timeout=10)
        assert first.headers["Content-Type"].startswith("text/event-stream")
        assert first.readline() == b"retry: 5000\n"
        assert first.readline() == b"\n"
        assert first.readline() == b"event: notifications\n"
        second = opener.open(url + "o/acme/live", timeout=10)
        with urllib.request.urlopen(url + "healthz", timeout=5) as response:
            assert response.status == 200  # pages are served while two streams are open
        with pytest.raises(urllib.error.HTTPError) as refused:
            opener.open(url + "o/acme/live", timeout=10)
        assert refused.value.code == 503  # no thread left for a third: that page polls
        refused.value.close()

        con = sqlite3.connect(tmp_path / "startvora.db")
        con.execute(
            "INSERT INTO core_live_events (org_id, topic, created_at)"
            " VALUES (1, 'members', CURRENT_TIMESTAMP)"
        )
        con.commit()
        con.close()
        seen = b""
        while b"event: changed-members" not in seen:
            seen += first.readline()

        second.close()  # a page left: its thread comes back within a poll or two
        third = wait_for(lambda: _try_stream(opener, url + "o/acme/live"), timeout=15)
        third.close()
        first.close()
    finally:
        assert stop(proc) == 0


def _try_stream(opener, url: str):
    try:
        return opener.open(url, timeout=10)
    except urllib.error.HTTPError as busy:
        busy.close()
        return None
