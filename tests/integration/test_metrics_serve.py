"""/metrics and JSON logs under `startvora serve`: gunicorn with two workers, the consumer and
the supervisor, each a real process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.integration.test_serve import alive, children, free_port, wait_for

pytestmark = pytest.mark.slow

HEALTHZ = ("startvora_http_requests_total", {"endpoint": "health.healthz", "method": "GET"})
# The supervisor's words for the person at the console, not log lines.
CONSOLE = ("Startvora is running: open", "Press Ctrl+C to stop.")


class Server:
    """`startvora serve` in a process group of its own, its output in files."""

    def __init__(self, data: Path, logs: Path, workers: int = 2, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        logs.mkdir(exist_ok=True)
        self.stdout, self.stderr = logs / "stdout", logs / "stderr"
        full = {
            "PATH": os.environ["PATH"],
            "HOME": os.environ.get("HOME", "/tmp"),
            "STARTVORA_DATA": str(data),
            **env,
        }
        with self.stdout.open("w") as out, self.stderr.open("w") as err:
            self.proc = subprocess.Popen(
                [
                    *(sys.executable, "-m", "startvora", "serve"),
                    *("--port", str(self.port), "--workers", str(workers)),
                ],
                env=full,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
        try:
            wait_for(lambda: self.proc.poll() is not None or CONSOLE[0] in self.output(), 90)
        except AssertionError:
            self.kill()
            raise
        if self.proc.poll() is not None:
            raise AssertionError(f"serve stopped: {self.stderr.read_text()[-2000:]}")

    def output(self) -> str:
        return self.stdout.read_text()

    def web_workers(self) -> set[int]:
        """The gunicorn workers: children of the gunicorn master under the supervisor."""
        top = self.proc.pid
        supervisor = next((p for p, cmd in children(top).items() if "startvora serve" in cmd), top)
        master = next(p for p, cmd in children(supervisor).items() if "gunicorn" in cmd)
        return {p for p in children(master) if alive(p)}

    def get(self, path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
        request = urllib.request.Request(self.url + path.lstrip("/"), headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # a new connection
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            with error:
                return error.code, dict(error.headers), error.read()

    def scrape(self) -> dict[tuple[str, tuple], float]:
        from prometheus_client.parser import text_string_to_metric_families

        status, _headers, body = self.get("/metrics")
        assert status == 200
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(body.decode())
            for s in family.samples
        }

    def healthz_count(self) -> float:
        name, labels = HEALTHZ
        return sum(
            value
            for (sample, pairs), value in self.scrape().items()
            if sample == name and labels.items() <= dict(pairs).items()
        )

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            self.kill()
            raise

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)


def init(data: Path, with_account: bool = False) -> None:
    env = {"PATH": os.environ["PATH"], "STARTVORA_DATA": str(data)}
    commands = [["init"]]
    if with_account:  # past the first-run page: unknown addresses are plain 404s
        commands.append(["create-user", "--email", "olivia@acme.test", "--password-stdin"])
        commands[-1] += ["--org", "Acme"]
    for command in commands:
        result = subprocess.run(
            [sys.executable, "-m", "startvora", *command],
            env=env,
            input="a long enough passphrase\n",
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr


def counting_pids(data: Path) -> set[int]:
    return {int(f.stem.rsplit("_", 1)[1]) for f in (data / "run" / "metrics").glob("counter_*.db")}


def test_counts_from_every_worker_add_up_in_one_scrape(tmp_path):
    data = tmp_path / "data"
    init(data)
    server = Server(data, tmp_path / "logs", workers=2)
    try:
        workers = server.web_workers()
        assert len(workers) == 2
        base = server.healthz_count()  # the supervisor's own start-up checks are in it
        sent = 0

        def both_workers_counted() -> bool:
            nonlocal sent
            with ThreadPoolExecutor(8) as pool:  # at once, so both workers take some
                statuses = list(pool.map(lambda _: server.get("/healthz")[0], range(16)))
            assert statuses == [200] * 16
            sent += 16
            return counting_pids(data) == workers

        wait_for(both_workers_counted, timeout=60)
        # Whichever worker answers a scrape, it reports the requests both have served.
        for _ in range(6):
            assert server.healthz_count() == base + sent

        # A worker dies: its counts stay in the total; gunicorn starts another.
        dead = min(workers)
        os.kill(dead, signal.SIGKILL)
        wait_for(lambda: dead not in server.web_workers() and len(server.web_workers()) == 2)
        assert server.healthz_count() == base + sent
        for _ in range(5):
            assert server.get("/healthz")[0] == 200
        assert server.healthz_count() == base + sent + 5
        before_restart = counting_pids(data)
    finally:
        assert server.stop() == 0

    # A new run starts from nothing: the files of the earlier run's processes are gone.
    server = Server(data, tmp_path / "logs-again", workers=2)
    try:
        assert counting_pids(data).isdisjoint(before_restart)
        assert server.healthz_count() < sent
    finally:
        assert server.stop() == 0


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_json_logs_from_every_process(tmp_path):
    data = tmp_path / "data"
    init(data, with_account=True)
    server = Server(data, tmp_path / "logs", workers=2, STARTVORA_LOG__FORMAT="json")
    try:
        status, headers, _body = server.get("/healthz", **{"X-Request-ID": "not-from-a-proxy"})
        assert status == 200
        request_id = headers["X-Request-ID"]
        assert request_id != "not-from-a-proxy"  # no trusted proxy: the client's id is not used
        assert server.get("/sign-in?token=never-logged")[0] == 200
        assert server.get("/no/such/page")[0] == 404
        assert server.get("/metrics", Authorization="Bearer nothing")[0] == 200  # local network
        # A worker writes its access line just after answering: all are there before a kill.
        wait_for(lambda: server.output().count('"logger": "gunicorn.access"') >= 5)
        victim = min(server.web_workers())
        os.kill(victim, signal.SIGKILL)  # gunicorn's master says so in its error log
        wait_for(lambda: "SIGKILL" in server.stderr.read_text())
    finally:
        assert server.stop() == 0

    stdout = server.output().splitlines()
    console = [line for line in stdout if line.startswith(CONSOLE)]
    assert len(console) == 2
    # Everything else on either stream is one JSON object per line.
    access = json_lines("\n".join(line for line in stdout if line not in console))
    logged = json_lines(server.stderr.read_text())

    [healthz] = [a for a in access if a.get("request_id") == request_id]
    assert healthz["logger"] == "gunicorn.access"
    assert (healthz["method"], healthz["path"], healthz["status"]) == ("GET", "/healthz", 200)
    assert healthz["endpoint"] == "health.healthz" and healthz["remote_addr"] == "127.0.0.1"
    assert isinstance(healthz["duration_ms"], float) and healthz["bytes"] > 0
    [sign_in] = [a for a in access if a.get("path") == "/sign-in"]
    assert sign_in["endpoint"] == "auth.sign_in" and "never-logged" not in json.dumps(access)
    assert any(a["path"] == "/no/such/page" and a["status"] == 404 for a in access)
    assert any(a["path"] == "/metrics" and a.get("endpoint") == "metrics" for a in access)
    assert all(a["request_id"] for a in access if a["path"] != "/metrics")

    by_logger = {}
    for line in logged:
        by_logger.setdefault(line["logger"], []).append(line)
    assert any(f"pid:{victim}" in line["message"] for line in by_logger["gunicorn.error"])
    consumer = by_logger["startvora.cli"]
    assert any("background worker started" in line["message"] for line in consumer)
    supervisor = by_logger["startvora.serve"]
    assert any(line["message"] == "stopped" for line in supervisor)
    # Three kinds of process wrote: the supervisor, the consumer and gunicorn's master.
    pids = {line["pid"] for line in supervisor + consumer + by_logger["gunicorn.error"]}
    assert len(pids) == 3


def test_replication_lag_under_litestream(tmp_path):
    data = tmp_path / "data"
    init(data)
    replica = tmp_path / "replica"
    server = Server(data, tmp_path / "logs", workers=1, STARTVORA_REPLICATION__URL=str(replica))
    try:
        lag_name = ("startvora_replication_lag_seconds", ())

        def lag() -> float | None:
            samples = server.scrape()
            assert samples[("startvora_replication_enabled", ())] == 1
            return samples.get(lag_name)

        # Litestream's first copy takes a moment; the figure is read at most every 10 s.
        seen = wait_for(lambda: lag() is not None, timeout=60)
        value = server.scrape()[lag_name]
        assert seen and 0 <= value < 30
    finally:
        assert server.stop() == 0
