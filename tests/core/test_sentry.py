"""Sentry: errors in views and in jobs reach a real HTTP server standing in for Sentry.

The app runs in a process of its own: Sentry, once started, changes the whole process.
"""

from __future__ import annotations

import gzip
import http.server
import json
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from startvora.config import ConfigError
from startvora.version import __version__

pytestmark = pytest.mark.slow


class FakeSentry(http.server.ThreadingHTTPServer):
    """Accepts envelopes at /api/<project>/envelope/ and keeps each item."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.raw: list[bytes] = []
        self.items: list[tuple[dict, bytes]] = []
        self.paths: list[str] = []

    @property
    def dsn(self) -> str:
        return f"http://publickey@127.0.0.1:{self.server_address[1]}/1"

    def events(self) -> list[dict]:
        return [json.loads(payload) for head, payload in self.items if head["type"] == "event"]


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        encoding = self.headers.get("Content-Encoding", "")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "br":
            import brotli

            body = brotli.decompress(body)
        server: FakeSentry = self.server  # type: ignore[assignment]
        server.paths.append(self.path)
        server.raw.append(body)
        # An envelope: a header line, then for each item a header line and its payload.
        _envelope, _, rest = body.partition(b"\n")
        while rest.strip():
            head_line, _, rest = rest.partition(b"\n")
            head = json.loads(head_line)
            if "length" in head:
                payload, rest = rest[: head["length"]], rest[head["length"] :].lstrip(b"\n")
            else:
                payload, _, rest = rest.partition(b"\n")
            server.items.append((head, payload))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def sentry():
    server = FakeSentry()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def run_app(code: str, data, **settings: str) -> subprocess.CompletedProcess[str]:
    """Run `code` in a new process after `app = create_app(...)` with these settings."""
    program = (
        "from startvora import create_app\n"
        f"app = create_app({{'data_dir': {str(data)!r}, **{settings!r}}})\n"
        "app.extensions['startvora.setup_done'] = True\n" + textwrap.dedent(code)
    )
    return subprocess.run(
        [sys.executable, "-c", program],
        env={"PATH": "/usr/bin:/bin", "HOME": str(data)},
        capture_output=True,
        text=True,
        timeout=60,
    )


def wait_for_events(server: FakeSentry, count: int) -> list[dict]:
    deadline = time.monotonic() + 10
    while len(server.events()) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return server.events()


def test_an_exception_in_a_view_is_reported(sentry, tmp_path):
    result = run_app(
        """
        @app.get("/boom")
        def boom():
            raise RuntimeError("boom in a view")

        response = app.test_client().get(
            "/boom?token=reset-secret-123",
            headers={"Cookie": "startvora_session=cookie-secret-456",
                     "Authorization": "Bearer header-secret-789"},
        )
        assert response.status_code == 500, response.status_code
        import sentry_sdk
        sentry_sdk.flush(10)
        """,
        tmp_path,
        **{"sentry.dsn": sentry.dsn, "sentry.environment": "staging"},
    )
    assert result.returncode == 0, result.stderr
    [event] = wait_for_events(sentry, 1)
    assert sentry.paths[0] == "/api/1/envelope/"
    [exception] = event["exception"]["values"]
    assert (exception["type"], exception["value"]) == ("RuntimeError", "boom in a view")
    assert event["release"] == __version__ and event["environment"] == "staging"
    assert event["request"]["url"] == "http://localhost/boom"
    assert "query_string" not in event["request"] and "cookies" not in event["request"]
    assert "user" not in event or "ip_address" not in event["user"]
    sent = b"".join(sentry.raw)
    for secret in (b"reset-secret-123", b"cookie-secret-456", b"header-secret-789"):
        assert secret not in sent


def test_a_failing_job_in_the_consumer_is_reported_once(sentry, tmp_path):
    result = run_app(
        """
        import time
        import sentry_sdk
        from startvora.core import tasks

        class Explained(Exception):
            user_facing = True  # its message is written for people: not a bug

        @tasks.task(retries=0)
        def breaks(kind: str) -> None:
            if kind == "bug":
                raise KeyError("a bug in a job")
            raise Explained("the file has no header row")

        breaks("explained")
        bug = breaks("bug")
        consumer = tasks.huey.create_consumer(workers=1, periodic=False, initial_delay=0.05,
                                              max_delay=0.1)
        consumer.start()
        deadline = time.monotonic() + 20
        while tasks.tracker.get(bug.id).state != "failed" and time.monotonic() < deadline:
            time.sleep(0.05)
        consumer.stop(graceful=True)
        assert tasks.tracker.get(bug.id).state == "failed"
        sentry_sdk.flush(10)
        """,
        tmp_path,
        **{"sentry.dsn": sentry.dsn, "queue.immediate": False},
    )
    assert result.returncode == 0, result.stderr
    wait_for_events(sentry, 1)
    time.sleep(0.5)  # a second report, if one were sent, has arrived by now
    [event] = sentry.events()
    [exception] = event["exception"]["values"]
    assert (exception["type"], exception["value"]) == ("KeyError", "'a bug in a job'")
    assert event["tags"]["job.task"] == "breaks"
    assert event["contexts"]["job"]["retries_left"] == 0


def test_nothing_happens_without_a_dsn(sentry, tmp_path):
    result = run_app(
        """
        import sys

        @app.get("/boom")
        def boom():
            raise RuntimeError("boom in a view")

        assert app.test_client().get("/boom").status_code == 500
        print("sentry loaded:", "sentry_sdk" in sys.modules)
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "sentry loaded: False" in result.stdout
    assert sentry.raw == []


def test_a_malformed_dsn_is_a_setting_error(make_app):
    with pytest.raises(ConfigError) as error:
        make_app(sentry__dsn="sentry.example.com/1")
    assert error.value.key == "sentry.dsn"
