"""Snapshot archives: consistent copies of a live instance, checked against their manifest,
restored only where asked, pruned to the number kept."""

from __future__ import annotations

import datetime as dt
import io
import json
import sqlite3
import tarfile

import pytest

from startvora.config import load_settings
from startvora.ops import snapshots
from startvora.ops.snapshots import SnapshotError


@pytest.fixture
def instance(tmp_path):
    """A data folder with a database in WAL mode that is being written to, files and a key."""
    data = tmp_path / "data"
    (data / "files" / "org-1").mkdir(parents=True)
    (data / "files" / "org-1" / "a.pdf").write_bytes(b"%PDF-1.4 receipt")
    (data / "secret_key").write_text("k" * 64)
    con = sqlite3.connect(data / "startvora.db")
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE alembic_version (version_num TEXT)")
    con.execute("INSERT INTO alembic_version VALUES ('abc123')")
    con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    con.executemany("INSERT INTO t (v) VALUES (?)", [(f"row {i}",) for i in range(500)])
    con.commit()
    sqlite3.connect(data / "queue.db").execute("CREATE TABLE q (x)").connection.commit()
    settings = load_settings(overrides={"data_dir": str(data)}, environ={})
    yield settings, con
    con.close()


def test_a_snapshot_of_a_live_database_restores_elsewhere(instance, tmp_path):
    settings, con = instance
    con.execute("INSERT INTO t (v) VALUES ('uncheckpointed')")  # still in the WAL
    con.commit()
    archive = snapshots.create(settings, "manual")
    manifest = snapshots.verify(archive)
    assert manifest["schema"] == "abc123" and manifest["reason"] == "manual"
    names = {e["path"] for e in manifest["entries"]}
    assert names == {"startvora.db", "queue.db", "files/org-1/a.pdf", "secret_key"}
    assert oct(archive.stat().st_mode & 0o777) == "0o600"
    elsewhere = load_settings(overrides={"data_dir": str(tmp_path / "new")}, environ={})
    snapshots.restore(elsewhere, archive)
    copy = sqlite3.connect(tmp_path / "new" / "startvora.db")
    assert copy.execute("SELECT count(*) FROM t").fetchone() == (501,)
    assert copy.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert (tmp_path / "new" / "files" / "org-1" / "a.pdf").read_bytes() == b"%PDF-1.4 receipt"


def test_a_live_database_is_replaced_only_with_force_and_kept_aside(instance):
    settings, con = instance
    archive = snapshots.create(settings, "manual")
    con.execute("DELETE FROM t")
    con.commit()
    with pytest.raises(SnapshotError, match="--force"):
        snapshots.restore(settings, archive)
    assert con.execute("SELECT count(*) FROM t").fetchone() == (0,)  # nothing touched
    con.close()
    snapshots.restore(settings, archive, force=True)
    back = sqlite3.connect(settings.data_path / "startvora.db")
    assert back.execute("SELECT count(*) FROM t").fetchone() == (500,)
    kept = list((settings.data_path / "backups").glob("replaced-*/startvora.db"))
    assert len(kept) == 1  # the replaced database, in case it was the wrong archive


def _rewrite(archive, change):
    with tarfile.open(archive) as tar:
        members = [(m, tar.extractfile(m).read() if m.isfile() else None) for m in tar]
    with tarfile.open(archive, "w:gz") as tar:
        for member, body in change(members):
            tar.addfile(member, io.BytesIO(body) if body is not None else None)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda ms: [(m, b"X" * len(b) if m.name == "secret_key" else b) for m, b in ms],
            "damaged",
        ),
        (lambda ms: [(m, b) for m, b in ms if m.name != "queue.db"], "missing"),
        (lambda ms: [(m, b) for m, b in ms if m.name != "manifest.json"], "no manifest"),
    ],
)
def test_a_damaged_archive_is_refused_before_anything_is_written(instance, tmp_path, change,
                                                                  message):  # fmt: skip
    settings, _con = instance
    archive = snapshots.create(settings, "manual")
    _rewrite(archive, change)
    target = load_settings(overrides={"data_dir": str(tmp_path / "new")}, environ={})
    with pytest.raises(SnapshotError, match=message):
        snapshots.restore(target, archive)
    assert not (tmp_path / "new" / "startvora.db").exists()


def test_an_archive_cannot_write_outside_the_data_folder(instance, tmp_path):
    settings, _con = instance
    archive = snapshots.create(settings, "manual")

    def escape(members):
        for member, body in members:
            if member.name == "manifest.json":
                manifest = json.loads(body)
                manifest["entries"][0]["path"] = "../escaped.db"
                body = json.dumps(manifest).encode()
                member.size = len(body)
            if member.name == "startvora.db":
                member.name = "../escaped.db"
            yield member, body

    _rewrite(archive, escape)
    target = load_settings(overrides={"data_dir": str(tmp_path / "new")}, environ={})
    with pytest.raises(SnapshotError):
        snapshots.restore(target, archive)
    assert not (tmp_path / "escaped.db").exists()


def test_nightly_snapshots_are_pruned_to_the_number_kept(instance):
    settings, _con = instance
    start = dt.datetime(2026, 11, 1, 3, tzinfo=dt.UTC)
    for day in range(5):
        snapshots.create(settings, "nightly", now=start + dt.timedelta(days=day))
    manual = snapshots.create(settings, "manual", now=start)
    deleted = snapshots.prune(settings, keep=2)
    assert len(deleted) == 3
    left = snapshots.snapshots(settings)
    assert [s.created.day for s in left if s.reason == "nightly"] == [5, 4]
    assert manual.exists()  # only the kind pruned goes
