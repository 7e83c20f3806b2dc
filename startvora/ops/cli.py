"""`startvora backup ...`, `startvora restore` and `startvora upgrade`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import click


def _settings() -> Any:
    from startvora.config import load_settings

    return load_settings()


def _fail(exc: Exception) -> click.ClickException:
    from startvora.cli import UserFacingError

    return UserFacingError(str(exc))


@click.group()
def backup() -> None:
    """Snapshots (one archive: databases, files, config) and the state of replication."""


@backup.command("create")
def backup_create() -> None:
    """Write a snapshot archive now, while Startvora may keep running."""
    from startvora.ops import snapshots

    try:
        path = snapshots.create(_settings(), "manual")
    except snapshots.SnapshotError as exc:
        raise _fail(exc) from None
    click.echo(f"Snapshot written: {path} ({path.stat().st_size / 1e6:.1f} MB)")


@backup.command("restore")
@click.argument("archive", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Replace a database that is there (stop Startvora).")
def backup_restore(archive: Path, force: bool) -> None:
    """Check a snapshot archive, then put it into the data folder."""
    from startvora.ops import snapshots

    settings = _settings()
    try:
        manifest = snapshots.restore(settings, archive, force=force)
    except snapshots.SnapshotError as exc:
        raise _fail(exc) from None
    click.echo(
        f"Restored {archive.name} ({len(manifest['entries'])} files, schema "
        f"{manifest.get('schema')}) into {settings.data_path}. Start Startvora to use it."
    )


@backup.command("list")
def backup_list() -> None:
    """The snapshot archives in the backup folder, newest first."""
    from startvora.ops import snapshots

    found = snapshots.snapshots(_settings())
    if not found:
        click.echo("No snapshots yet: make one with `startvora backup create`.")
    for snap in found:
        click.echo(f"{snap.created:%Y-%m-%d %H:%M:%S}Z  {snap.reason:<12} "
                   f"{snap.size / 1e6:8.1f} MB  {snap.path}")  # fmt: skip


@backup.command("status")
def backup_status() -> None:
    """Replicas, how far behind they are, and their newest snapshot; the latest archive."""
    from startvora.ops import replication, snapshots

    settings = _settings()
    found = snapshots.snapshots(settings)
    if found:
        click.echo(f"Latest snapshot: {found[0].path.name} ({found[0].reason})")
    else:
        click.echo("Latest snapshot: none yet")
    if not settings.replication.url:
        click.echo("Replication: off (set [replication] url)")
        return
    click.echo(f"Replication to {settings.replication.url}")
    try:
        rows = replication.status(settings)
    except replication.ReplicationError as exc:
        raise _fail(exc) from None
    for row in rows:
        lag = "unknown" if row.lag_seconds is None else f"{row.lag_seconds:.1f} s"
        when = f"{row.replicated_at:%Y-%m-%d %H:%M:%S}Z" if row.replicated_at else "never"
        snap = f"{row.snapshot_at:%Y-%m-%d %H:%M:%S}Z" if row.snapshot_at else "none"
        click.echo(
            f"  {row.database}: {row.state}; replica {row.replica}; lag {lag}; "
            f"local txid {row.local_txid}, replica txid {row.replica_txid} ({when}); "
            f"latest generation (snapshot) {snap}"
        )


@click.command()
@click.option("--timestamp", help="Restore as it was at this time (ISO 8601, UTC if no zone).")
@click.option("--replica", help="Restore from this replica URL instead of replication.url.")
@click.option("--force", is_flag=True, help="Replace a database that is there (stop Startvora).")
@click.option(
    "--if-replica-exists", "if_exists", is_flag=True,
    help="Succeed without restoring when the replica holds nothing (a first start).",
)  # fmt: skip
def restore(timestamp: str | None, replica: str | None, force: bool, if_exists: bool) -> None:
    """Bring the databases back from the replica into the data folder."""
    from startvora.ops import replication

    settings = _settings()
    when = None
    if timestamp:
        try:
            when = dt.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
        except ValueError:
            raise _fail(ValueError(f"--timestamp: not a date and time: {timestamp!r}")) from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
    if not (replica or settings.replication.url):
        raise _fail(ValueError("no replica: set [replication] url or give --replica URL"))
    try:
        written = replication.restore(settings, when, replica, force)
    except replication.ReplicationError as exc:
        if if_exists and isinstance(exc, replication.NothingToRestore):
            click.echo(f"Nothing to restore: {exc}")
            return
        raise _fail(exc) from None
    click.echo(
        f"Restored {', '.join(written)} into {settings.data_path}"
        + (f" as of {when.isoformat()}" if when else "")
        + ". Full-text indexes live in the database and came back with it."
        " Start Startvora to use it."
    )


@click.command()
def upgrade() -> None:
    """Snapshot the data, then apply this version's database migrations (put back on failure)."""
    from startvora import create_app
    from startvora.ops.upgrade import UpgradeError, safe_upgrade

    app = create_app()
    try:
        before, after, snapshot = safe_upgrade(app)
    except UpgradeError as exc:
        raise _fail(exc) from None
    if snapshot:
        click.echo(f"Snapshot before the upgrade: {snapshot}")
    if before == after:
        click.echo(f"The database is up to date (schema {after}).")
    else:
        click.echo(f"Database upgraded from {before or 'nothing'} to {after}.")
