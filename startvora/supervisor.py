"""`startvora serve`: gunicorn and the Huey consumer as two supervised child processes.

This process imports neither Flask nor the application, so it stays small; the children do
the work. The consumer is restarted with a growing delay if it dies; if the web server dies,
everything stops with an error. SIGTERM and SIGINT stop both children cleanly.
"""

from __future__ import annotations

import errno
import logging
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from types import FrameType

from startvora.config import Settings
from startvora.core import schema
from startvora.core.schema import SchemaState, schema_problem
from startvora.paths import resource_dir

log = logging.getLogger("startvora.serve")

STOP_GRACE_S = 20
READY_TIMEOUT_S = 30
MAX_BACKOFF_S = 30


class StartupError(Exception):
    """Start-up cannot go on; the message is one line for the person at the console."""


def schema_state(settings: Settings) -> SchemaState:
    """The database's Alembic revision and the revisions this code needs, read without Flask."""
    heads = schema.heads()
    if settings.database.url:
        # Another database server: ask a short-lived child, so this process stays small.
        result = subprocess.run(
            [sys.executable, "-m", "startvora", "schema-revision"],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise StartupError("the database cannot be reached; check database.url")
        return SchemaState(current=result.stdout.strip() or None, heads=heads)
    db_file = settings.data_path / "startvora.db"
    if not db_file.exists():
        return SchemaState(current=None, heads=heads)
    try:
        con = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True, timeout=5)
        try:
            row = con.execute("SELECT version_num FROM alembic_version").fetchone()
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        if "no such table" in str(exc):
            return SchemaState(current=None, heads=heads)
        raise StartupError(f"database {db_file} cannot be read: {exc}") from None
    return SchemaState(current=row[0] if row else None, heads=heads)


def check_schema(settings: Settings, config_args: list[str]) -> None:
    """Refuse an old or unknown schema, or upgrade an old one when auto_migrate is on."""
    state = schema_state(settings)
    problem = schema_problem(state, schema.known_revisions())
    if problem is None:
        return
    upgradable = state.current is None or state.current in schema.known_revisions()
    if settings.database.auto_migrate and upgradable:
        log.info("upgrading the database schema (auto_migrate is on)")
        result = subprocess.run([sys.executable, "-m", "startvora", *config_args, "init"])
        if result.returncode != 0:
            raise StartupError("the automatic database upgrade failed; see the messages above")
        return
    raise StartupError(problem)


def check_port(host: str, port: int) -> None:
    """Fail early, in one line, when the address is taken or cannot be used."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise StartupError(
                    f"port {port} on {host} is already in use: stop the other program or "
                    "choose another port with --port"
                ) from None
            if exc.errno == errno.EACCES:
                raise StartupError(
                    f"port {port} needs more privileges; choose a port above 1023"
                ) from None
            raise StartupError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def display_urls(host: str, port: int) -> list[str]:
    """URLs to print at start-up: the local one, plus the LAN one when serving every address."""
    if host in ("0.0.0.0", "::"):  # noqa: S104 (reading the setting, not binding)
        urls = [f"http://127.0.0.1:{port}/"]
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
                # No packet is sent: connecting a UDP socket only picks the outgoing address.
                probe.connect(("192.0.2.1", 9))
                lan = probe.getsockname()[0]
            if not lan.startswith("127."):
                urls.append(f"http://{lan}:{port}/")
        except OSError:
            pass
        return urls
    shown = f"[{host}]" if ":" in host else host
    return [f"http://{shown}:{port}/"]


def _die_with_parent() -> None:
    """In the child: get SIGTERM if the supervisor itself is killed, so nothing is orphaned."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: children are still stopped by a normal shutdown


def _spawn(command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    # A session of its own keeps Ctrl+C in a terminal for the supervisor, which then stops
    # the children gracefully instead of them all being interrupted at once.
    return subprocess.Popen(command, env=env, start_new_session=True, preexec_fn=_die_with_parent)


class Supervisor:
    def __init__(
        self, settings: Settings, host: str, port: int, workers: int, config_args: list[str]
    ):
        self.settings = settings
        self.host, self.port, self.workers = host, port, workers
        self.config_args = config_args
        self.stopping = False
        self.web: subprocess.Popen[bytes] | None = None
        self.consumer: subprocess.Popen[bytes] | None = None
        self.consumer_restarts = 0
        self.failed = False

    def web_command(self) -> list[str]:
        bind = f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"
        return [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            str(resource_dir("config") / "gunicorn.conf.py"),
            "--bind",
            bind,
            "--workers",
            str(self.workers),
            "--threads",
            str(self.settings.server.threads),
            "--timeout",
            str(self.settings.server.timeout),
            "startvora.wsgi:app",
        ]

    def consumer_command(self) -> list[str]:
        return [sys.executable, "-m", "startvora", *self.config_args, "worker"]

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if not self.stopping:
            log.info("received %s, stopping", signal.Signals(signum).name)
        self.stopping = True

    def wait_ready(self) -> bool:
        """Poll /healthz until it says ok (web and consumer up); False if the web never answers.

        A web server that answers but stays unhealthy (say, the disk is nearly full) still
        counts as started once the time is up: the problem is logged, the URL still printed.
        """
        wildcard = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}  # noqa: S104
        host = wildcard.get(self.host, self.host)
        url = f"http://{'[' + host + ']' if ':' in host else host}:{self.port}/healthz"
        deadline = time.monotonic() + READY_TIMEOUT_S
        # No proxy: http_proxy in the environment must not answer for our own server.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        answered = None
        while time.monotonic() < deadline and not self.stopping:
            if self.web is not None and self.web.poll() is not None:
                return False
            try:
                with opener.open(url, timeout=2):
                    return True
            except urllib.error.HTTPError as exc:
                answered = exc.read().decode(errors="replace")[:500]
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.05)
        if answered is not None:
            log.warning("started, but /healthz reports a problem: %s", answered)
            return True
        return False

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        env = dict(os.environ, STARTVORA_DATA=str(self.settings.data_path))
        self.web = _spawn(self.web_command(), env)
        self.consumer = _spawn(self.consumer_command(), env)
        if self.wait_ready():
            for url in display_urls(self.host, self.port):
                sys.stdout.write(f"Startvora is running: open {url}\n")
            sys.stdout.write("Press Ctrl+C to stop.\n")
            sys.stdout.flush()
        elif not self.stopping:
            log.error("the web server did not start; see the messages above")
            self.stopping = True
            self.failed = True
        backoff = 1.0
        next_start = started = time.monotonic()
        code = 1 if self.failed else 0
        while not self.stopping:
            time.sleep(0.2)
            if self.web.poll() is not None:
                log.error("the web server stopped unexpectedly (exit code %s)", self.web.returncode)
                code = 1
                break
            if self.consumer is not None and self.consumer.poll() is not None:
                log.error(
                    "the background worker stopped (exit code %s); restarting in %.0f s",
                    self.consumer.returncode,
                    backoff,
                )
                self.consumer = None
                next_start = time.monotonic() + backoff
                backoff = min(backoff * 2, MAX_BACKOFF_S)
            if self.consumer is None and time.monotonic() >= next_start:
                self.consumer = _spawn(self.consumer_command(), env)
                self.consumer_restarts += 1
                started = time.monotonic()
            elif self.consumer is not None and backoff > 1 and time.monotonic() - started > 60:
                backoff = 1.0  # it has stayed up for a minute: forget earlier crashes
        self.shutdown()
        return code

    def shutdown(self) -> None:
        children = [p for p in (self.web, self.consumer) if p is not None and p.poll() is None]
        for proc in children:
            proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        for proc in children:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("process %s did not stop in time; killing it", proc.pid)
                proc.kill()
                proc.wait()
        log.info("stopped")


def serve(settings: Settings, host: str, port: int, workers: int, config_args: list[str]) -> int:
    """Check, start and supervise the web server and the consumer; the exit code."""
    check_schema(settings, config_args)
    check_port(host, port)
    return Supervisor(settings, host, port, workers, config_args).run()
