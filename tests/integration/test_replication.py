"""Continuous replication with the real litestream binary: `startvora serve` runs under
Litestream, rows are written, everything is killed with SIGKILL (a dead SD card), and the data
is restored into a new folder from a file replica and from S3 (SeaweedFS): nothing committed
earlier than the sync interval is lost. A point-in-time restore returns the earlier state."""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from startvora.core.storage import S3Storage
from tests.integration.conftest import KEY, SECRET

pytestmark = pytest.mark.slow
SYNC_S = 1.0  # [replication] sync_interval_ms
MONITOR_S = 0.1  # how soon Litestream notices a commit
MARGIN_S = 0.3  # the upload itself, on a busy machine


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def startvora(*args: str, data: Path, env: dict[str, str] | None = None, timeout: int = 120):
    full = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"),
            "STARTVORA_DATA": str(data), **(env or {})}  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "startvora", *args], env=full, capture_output=True, text=True,
        timeout=timeout,
    )  # fmt: skip


def serve(data: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    """`startvora serve` in its own process group, once it answers."""
    port = free_port()
    full = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"),
            "STARTVORA_DATA": str(data), **env}  # fmt: skip
    if "AWS_CA_BUNDLE" in os.environ:  # as on CI: Litestream must run without it
        full["AWS_CA_BUNDLE"] = os.environ["AWS_CA_BUNDLE"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "startvora", "serve", "--port", str(port), "--workers", "1"],
        env=full, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if "Startvora is running: open" in line:
            threading.Thread(target=proc.stdout.read, daemon=True).start()
            return proc
        if not line and proc.poll() is not None:
            break
    os.killpg(proc.pid, signal.SIGKILL)
    raise AssertionError("startvora serve under litestream did not start")


def prepared(tmp_path: Path, name: str) -> Path:
    data = tmp_path / name
    result = startvora("init", data=data)
    assert result.returncode == 0, result.stderr
    con = sqlite3.connect(data / "startvora.db")
    con.execute("CREATE TABLE replication_probe (id INTEGER PRIMARY KEY, at REAL NOT NULL)")
    con.commit()
    con.close()
    return data


def write_rows(data: Path, seconds: float, start: int = 0) -> list[tuple[int, float]]:
    """Commit a row every 20 ms; (id, time of the commit) of each."""
    con = sqlite3.connect(data / "startvora.db", timeout=10)
    con.execute("PRAGMA busy_timeout=10000")
    written = []
    end = time.time() + seconds
    i = start
    while time.time() < end:
        i += 1
        con.execute("INSERT INTO replication_probe (id, at) VALUES (?, ?)", (i, time.time()))
        con.commit()
        written.append((i, time.time()))
        time.sleep(0.02)
    con.close()
    return written


def restored_ids(data: Path) -> set[int]:
    con = sqlite3.connect(data / "startvora.db")
    try:
        return {row[0] for row in con.execute("SELECT id FROM replication_probe")}
    finally:
        con.close()


def kill_and_restore(tmp_path: Path, env: dict[str, str], replica: str) -> tuple[int, float]:
    """Write for 3 s, SIGKILL everything, restore elsewhere; (rows lost, seconds lost)."""
    data = prepared(tmp_path, "live")
    proc = serve(data, env)
    written = write_rows(data, 3.0)
    killed_at = time.time()
    os.killpg(proc.pid, signal.SIGKILL)  # Litestream, the supervisor, gunicorn, the consumer
    proc.wait(timeout=10)
    proc.stdout.close()
    target = tmp_path / "restored"
    result = startvora("restore", "--replica", replica, data=target, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    have = restored_ids(target)
    must = {i for i, at in written if at < killed_at - (SYNC_S + MONITOR_S + MARGIN_S)}
    assert must <= have, f"lost rows committed long before the kill: {sorted(must - have)[:5]}"
    assert have <= {i for i, _at in written}
    last = max((at for i, at in written if i in have), default=0.0)
    check = sqlite3.connect(target / "startvora.db").execute("PRAGMA integrity_check").fetchone()
    assert check == ("ok",)
    # The restored folder runs: the schema is there and current.
    assert startvora("schema-revision", data=target).stdout.strip()
    return len(written) - len(have), killed_at - last


def test_a_file_replica_survives_kill_9_and_restores_elsewhere(tmp_path):
    replica = str(tmp_path / "replica")
    env = {"STARTVORA_REPLICATION__URL": replica}
    _rows, lost_s = kill_and_restore(tmp_path, env, replica)
    assert lost_s <= SYNC_S + MONITOR_S + MARGIN_S
    status = startvora("backup", "status", data=tmp_path / "restored", env=env)
    assert status.returncode == 0 and "replica txid" in status.stdout, status.stdout
    refused = startvora("restore", "--replica", replica, data=tmp_path / "restored", env=env)
    assert refused.returncode != 0 and "--force" in refused.stderr


def test_an_s3_replica_survives_kill_9_and_restores_elsewhere(tmp_path, s3_endpoint):
    S3Storage(s3_endpoint, "replicas", KEY, SECRET, "us-east-1", secure=False).put(
        "probe", b"1", "text/plain"
    )  # the bucket exists
    env = {
        "STARTVORA_REPLICATION__URL": "s3://replicas/acme",
        "STARTVORA_REPLICATION__S3_ENDPOINT": f"http://{s3_endpoint}",
        "STARTVORA_REPLICATION__S3_ACCESS_KEY": KEY,
        "STARTVORA_REPLICATION__S3_SECRET_KEY": SECRET,
    }
    _rows, lost_s = kill_and_restore(tmp_path, env, "s3://replicas/acme")
    assert lost_s <= SYNC_S + MONITOR_S + MARGIN_S


def test_a_point_in_time_restore_returns_the_earlier_state(tmp_path):
    replica = str(tmp_path / "replica")
    env = {"STARTVORA_REPLICATION__URL": replica}
    data = prepared(tmp_path, "live")
    proc = serve(data, env)
    try:
        before = write_rows(data, 1.0)
        time.sleep(2.5)
        moment = dt.datetime.now(dt.UTC)
        time.sleep(1.5)
        after = write_rows(data, 1.0, start=before[-1][0])
        time.sleep(2 * SYNC_S + 0.5)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        proc.stdout.close()
    then = tmp_path / "then"
    result = startvora(
        "restore", "--replica", replica, "--timestamp", moment.isoformat(), data=then, env=env
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert restored_ids(then) == {i for i, _at in before}
    now = tmp_path / "now"
    assert startvora("restore", "--replica", replica, data=now, env=env).returncode == 0
    assert restored_ids(now) == {i for i, _at in before + after}


def test_a_first_start_with_an_empty_replica_restores_nothing_and_says_so(tmp_path):
    empty = str(tmp_path / "empty-replica")
    quiet = startvora("restore", "--replica", empty, "--if-replica-exists", data=tmp_path / "d")
    assert quiet.returncode == 0 and "Nothing to restore" in quiet.stdout
    loud = startvora("restore", "--replica", empty, data=tmp_path / "d")
    assert loud.returncode != 0 and "holds no Startvora database" in loud.stderr
    assert not (tmp_path / "d" / "startvora.db").exists()
