"""Backups on `demo --size large`: seconds of committed writes lost at kill -9 with replication
on, the time to restore from the replica, and snapshot create and restore times.

    .venv/bin/python scripts/bench/backup.py [--data DIR] [--kills 3]

Loads the large demo into a throw-away data folder (or uses a copy of DIR's database when it
holds one: the benchmark writes to it), starts `startvora serve` under Litestream with a file
replica, commits a row every 20 ms from another process, kills the whole process group with
SIGKILL, restores into a new folder and measures how much of what was committed is missing.
Goal: at most the sync interval (1 s) lost.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts" / "bench"))

from crm import ensure_demo  # noqa: E402  (the same throw-away large demo)


def startvora(*args: str, data: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "startvora", *args],
        env={**os.environ, "STARTVORA_DATA": str(data), **env},
        capture_output=True,
        text=True,
        timeout=3600,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(data: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "startvora", "serve", "--port", str(free_port())],
        env={**os.environ, "STARTVORA_DATA": str(data), **env},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if "Startvora is running" in line:
            threading.Thread(target=proc.stdout.read, daemon=True).start()
            return proc
        if not line and proc.poll() is not None:
            break
    os.killpg(proc.pid, signal.SIGKILL)
    raise SystemExit("startvora serve did not start under litestream")


def caught_up(data: Path, env: dict[str, str], timeout: float = 600) -> float:
    """Seconds until `backup status` says both databases are fully replicated."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        out = startvora("backup", "status", data=data, env=env).stdout
        if out.count("lag 0.0 s") == 2:
            return time.monotonic() - started
        time.sleep(1)
    raise SystemExit("the replica did not catch up:\n" + out)


def write_rows(db: Path, seconds: float) -> list[tuple[int, float]]:
    con = sqlite3.connect(db, timeout=30)
    con.execute("PRAGMA busy_timeout=30000")
    start = con.execute("SELECT coalesce(max(id), 0) FROM bench_probe").fetchone()[0]
    written, end, i = [], time.time() + seconds, start
    while time.time() < end:
        i += 1
        con.execute("INSERT INTO bench_probe (id, at) VALUES (?, ?)", (i, time.time()))
        con.commit()
        written.append((i, time.time()))
        time.sleep(0.02)
    con.close()
    return written


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path)
    parser.add_argument("--kills", type=int, default=3)
    args = parser.parse_args()
    source = args.data or Path(tempfile.mkdtemp(prefix="startvora-backup-bench-"))
    ensure_demo(source)
    work = Path(tempfile.mkdtemp(prefix="startvora-backup-run-"))
    data = work / "live"
    shutil.copytree(source, data, ignore=shutil.ignore_patterns("backups", "run", ".*"))
    size_mb = (data / "startvora.db").stat().st_size / 1e6
    con = sqlite3.connect(data / "startvora.db")
    con.execute("CREATE TABLE IF NOT EXISTS bench_probe (id INTEGER PRIMARY KEY, at REAL)")
    con.commit()
    con.close()
    print(f"database: {size_mb:.0f} MB ({data})")

    env_off: dict[str, str] = {}
    started = time.perf_counter()
    made = startvora("backup", "create", data=data, env=env_off)
    create_s = time.perf_counter() - started
    archive = Path(made.stdout.split("Snapshot written: ", 1)[1].split(" (", 1)[0])
    started = time.perf_counter()
    back = startvora("backup", "restore", str(archive), data=work / "from-snapshot", env=env_off)
    snap_restore_s = time.perf_counter() - started
    assert back.returncode == 0, back.stderr

    replica = work / "replica"
    env = {"STARTVORA_REPLICATION__URL": str(replica)}
    losses, restores, first_sync = [], [], None
    for run in range(args.kills):
        proc = serve(data, env)
        synced = caught_up(data, env)
        first_sync = synced if first_sync is None else first_sync
        written = write_rows(data / "startvora.db", 5.0)
        killed = time.time()
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        target = work / f"restored-{run}"
        started = time.perf_counter()
        result = startvora("restore", "--replica", str(replica), data=target, env=env)
        restores.append(time.perf_counter() - started)
        assert result.returncode == 0, result.stderr
        con = sqlite3.connect(target / "startvora.db")
        have = {row[0] for row in con.execute("SELECT id FROM bench_probe")}
        con.close()
        last = max(at for i, at in written if i in have)
        lost = [at for i, at in written if i not in have]
        losses.append(killed - last)
        print(f"kill {run + 1}: {len(lost)} of {len(written)} rows missing, "
              f"{killed - last:.2f} s of writes lost")  # fmt: skip
        shutil.rmtree(target)  # the next run goes on from the killed folder, as after a reboot

    print(f"\n{'measure':<44}{'value':>12}")
    print(f"{'snapshot create (' + f'{size_mb:.0f}' + ' MB database)':<44}{create_s:>10.1f} s")
    print(f"{'snapshot size':<44}{archive.stat().st_size / 1e6:>9.0f} MB")
    print(f"{'snapshot verify + restore':<44}{snap_restore_s:>10.1f} s")
    print(f"{'first full replication':<44}{first_sync:>10.1f} s")
    print(f"{'writes lost at kill -9 (max of ' + str(args.kills) + ')':<44}{max(losses):>10.2f} s")
    print(f"{'writes lost at kill -9 (median)':<44}{statistics.median(losses):>10.2f} s")
    print(f"{'restore from the replica (median)':<44}{statistics.median(restores):>10.1f} s")
    print(f"goal: at most 1 s lost (sync interval); run on {dt.date.today()}")
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
