"""Snapshot backups: one archive with consistent online copies of both databases, the uploaded
files, the secret key, the config file, and a manifest of checksums; verified before a restore.

An archive is `startvora-<UTC time>-<reason>.tar.gz` in the backup folder (`[backup] dir`, else
the data folder's backups/). Databases are copied with SQLite's online backup API, so a
snapshot can be taken while Startvora runs. A restore writes into a data folder only after the
whole archive checked out, and never over a database without being told to (`force`), in which
case the database it replaces is kept beside the backups first.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import json
import logging
import os
import re
import shutil
import sqlite3
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from startvora.config import Settings, default_config_file
from startvora.version import __version__

log = logging.getLogger(__name__)

DATABASES = ("startvora.db", "queue.db")
FOLDERS = ("files", "models")  # uploaded files, trained models; the search index is rebuilt
MANIFEST = "manifest.json"
NAME = re.compile(r"^startvora-(\d{8}T\d{6}Z)-([a-z-]+)\.tar\.gz$")
CHUNK = 1024 * 1024


class SnapshotError(Exception):
    """A snapshot cannot be made, checked or restored; the message says why in one line."""


@dataclasses.dataclass(frozen=True)
class Snapshot:
    path: Path
    created: dt.datetime
    reason: str  # manual, nightly, pre-upgrade, pre-restore
    size: int


def backup_dir(settings: Settings) -> Path:
    path = Path(settings.backup.dir).expanduser() if settings.backup.dir else None
    return (path or settings.data_path / "backups").resolve()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def copy_database(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite database (online backup API), as one file."""
    src = sqlite3.connect(source, timeout=30)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst, pages=4096)
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file in the archive
        finally:
            dst.close()
    finally:
        src.close()


def _schema_revision(db: Path) -> str | None:
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            row = con.execute("SELECT version_num FROM alembic_version").fetchone()
        finally:
            con.close()
    except sqlite3.DatabaseError:
        return None
    return row[0] if row else None


def _members(settings: Settings, work: Path) -> Iterator[tuple[str, Path]]:
    """(name in the archive, file to add) for everything a snapshot holds."""
    data = settings.data_path
    for name in DATABASES:
        if (data / name).exists():
            copy = work / name
            copy_database(data / name, copy)
            yield name, copy
    for folder in FOLDERS:
        root = data / folder
        if root.is_dir():
            for path in sorted(p for p in root.rglob("*") if p.is_file()):
                yield path.relative_to(data).as_posix(), path
    if (data / "secret_key").is_file():
        yield "secret_key", data / "secret_key"
    config = default_config_file()
    if config is not None and config.is_file():
        yield "config/startvora.toml", config


def create(settings: Settings, reason: str = "manual", now: dt.datetime | None = None) -> Path:
    """Write a snapshot archive; its path. Uses a temporary name until it is complete."""
    if not re.fullmatch(r"[a-z-]+", reason):
        raise ValueError(f"bad snapshot reason {reason!r}")
    if settings.database.url:
        raise SnapshotError("snapshots cover the built-in SQLite database; database.url is set")
    data = settings.data_path
    if not (data / "startvora.db").exists():
        raise SnapshotError(f"there is no database in {data} to back up")
    now = now or dt.datetime.now(dt.UTC)
    folder = backup_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"startvora-{now:%Y%m%dT%H%M%SZ}-{reason}.tar.gz"
    if target.exists():
        raise SnapshotError(f"{target.name} exists already; try again in a second")
    entries: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(dir=folder, prefix=".work-") as work:
        partial = Path(work) / "archive.tar.gz"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        # Level 3: most of gzip's gain at a third of its default time (a 400 MB database).
        with (
            os.fdopen(fd, "wb") as raw,
            tarfile.open(fileobj=raw, mode="w:gz", compresslevel=3) as tar,
        ):
            for name, path in _members(settings, Path(work)):
                entries.append({"path": name, "size": path.stat().st_size,
                                "sha256": _sha256(path)})  # fmt: skip
                tar.add(path, arcname=name, recursive=False)
            manifest = {
                "format": 1,
                "app": "startvora",
                "version": __version__,
                "created": now.isoformat(),
                "reason": reason,
                "schema": _schema_revision(data / "startvora.db"),
                "storage": settings.storage.backend,
                "entries": entries,
            }
            body = json.dumps(manifest, indent=2).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime, info.mode = len(body), int(now.timestamp()), 0o600
            tar.addfile(info, io.BytesIO(body))
        os.replace(partial, target)
    log.info("snapshot %s written (%d entries)", target.name, len(entries))
    return target


def _safe_name(name: str) -> bool:
    parts = Path(name).parts
    return bool(parts) and not Path(name).is_absolute() and ".." not in parts


def verify(archive: Path) -> dict[str, Any]:
    """Check an archive against its manifest (every file there, sizes and checksums right,
    nothing else, nothing outside the data folder); the manifest."""
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            members = {m.name: m for m in tar.getmembers()}
            if MANIFEST not in members:
                raise SnapshotError(f"{archive.name} has no manifest: not a Startvora snapshot")
            manifest = json.loads(tar.extractfile(members[MANIFEST]).read())  # type: ignore[union-attr]
            listed = {e["path"]: e for e in manifest.get("entries", [])}
            if "startvora.db" not in listed:
                raise SnapshotError(f"{archive.name} holds no database")
            unexpected = set(members) - set(listed) - {MANIFEST}
            if unexpected:
                raise SnapshotError(f"{archive.name} holds files its manifest does not list")
            for name, entry in listed.items():
                member = members.get(name)
                if member is None or not member.isfile() or not _safe_name(name):
                    raise SnapshotError(f"{archive.name}: {name} is missing or not a plain file")
                digest = hashlib.sha256()
                stream = tar.extractfile(member)
                assert stream is not None
                size = 0
                while chunk := stream.read(CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                if size != entry["size"] or digest.hexdigest() != entry["sha256"]:
                    raise SnapshotError(f"{archive.name}: {name} is damaged (checksum differs)")
    except (tarfile.TarError, OSError, EOFError, json.JSONDecodeError, KeyError) as exc:
        raise SnapshotError(f"{archive.name} cannot be read: {exc}") from None
    return manifest


def restore(settings: Settings, archive: Path, force: bool = False) -> dict[str, Any]:
    """Put a verified snapshot into the data folder; its manifest. A database that is there
    already is replaced only with `force`, and is first kept in backups/replaced-<time>/."""
    archive = Path(archive).resolve()
    if not archive.is_file():
        raise SnapshotError(f"{archive} does not exist")
    manifest = verify(archive)
    data = settings.data_path
    data.mkdir(parents=True, exist_ok=True)
    live = data / "startvora.db"
    if live.exists() and not force:
        raise SnapshotError(
            f"{data} holds a database already; stop Startvora and add --force to replace it"
        )
    with tempfile.TemporaryDirectory(dir=data, prefix=".restore-") as work:
        staging = Path(work)
        with tarfile.open(archive, mode="r:gz") as tar:
            for entry in manifest["entries"]:
                tar.extract(entry["path"], staging, filter="data")
        if live.exists():
            keep = backup_dir(settings) / f"replaced-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}"
            keep.mkdir(parents=True, exist_ok=True)
            for name in DATABASES:
                for suffix in ("", "-wal", "-shm"):
                    old = data / f"{name}{suffix}"
                    if old.exists():
                        shutil.move(old, keep / old.name)
        for entry in manifest["entries"]:
            name = entry["path"]
            if name.startswith("config/"):
                continue  # the config is for reading; the running one is the admin's to change
            target = data / name
            target.parent.mkdir(parents=True, exist_ok=True)
            for suffix in ("-wal", "-shm"):
                Path(f"{target}{suffix}").unlink(missing_ok=True)
            os.replace(staging / name, target)
    for name in DATABASES:
        db = data / name
        if db.exists():
            con = sqlite3.connect(db)
            try:
                con.execute("PRAGMA journal_mode=WAL")
            finally:
                con.close()
    log.info("restored %s into %s", archive.name, data)
    return manifest


def snapshots(settings: Settings) -> list[Snapshot]:
    """The archives in the backup folder, newest first."""
    folder = backup_dir(settings)
    found = []
    if folder.is_dir():
        for path in folder.iterdir():
            match = NAME.match(path.name)
            if match and path.is_file():
                created = dt.datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(
                    tzinfo=dt.UTC
                )
                found.append(Snapshot(path, created, match.group(2), path.stat().st_size))
    return sorted(found, key=lambda s: s.created, reverse=True)


def prune(settings: Settings, keep: int | None = None, reason: str = "nightly") -> list[Path]:
    """Delete all but the newest `keep` snapshots of one kind; the paths deleted."""
    keep = settings.backup.keep if keep is None else keep
    old = [s for s in snapshots(settings) if s.reason == reason][keep:]
    for snap in old:
        snap.path.unlink(missing_ok=True)
    return [s.path for s in old]
