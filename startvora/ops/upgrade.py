"""Safe upgrades: a snapshot before the database schema moves on; if a migration fails, the
snapshot is put back and the error is said in one line, so an upgrade never leaves a half-
migrated database behind."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from startvora.ops import snapshots

log = logging.getLogger(__name__)
KEEP_PRE_UPGRADE = 3


class UpgradeError(Exception):
    """The upgrade failed and the data was put back; the message says what happened."""


def safe_upgrade(
    app: Any, directory: str | None = None
) -> tuple[str | None, str | None, Path | None]:
    """Apply the migrations (from `directory`, else the application's); (schema before, schema
    after, the snapshot taken first or None for a new database or one that is up to date)."""
    from flask_migrate import upgrade

    from startvora.core import schema
    from startvora.extensions import db
    from startvora.supervisor import schema_state

    settings = app.extensions["startvora.settings"]
    directory = directory or app.extensions["migrate"].directory
    before = schema_state(settings).current
    heads = schema.heads() if directory == app.extensions["migrate"].directory else None
    behind = before is not None and (heads is None or before not in heads)
    snapshot = None
    if behind and not settings.database.url:
        snapshot = snapshots.create(settings, "pre-upgrade")
        log.info("snapshot %s taken before upgrading from %s", snapshot.name, before)
    try:
        with app.app_context():
            upgrade(directory=directory)
    except Exception as exc:  # any failure: put the data back, then say what went wrong
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        if snapshot is None:
            raise UpgradeError(f"the database upgrade failed: {exc}") from exc
        snapshots.restore(settings, snapshot, force=True)
        raise UpgradeError(
            f"the database upgrade failed ({type(exc).__name__}: {exc}); the data was put back"
            f" as it was from {snapshot.name}, and this version cannot run on it"
        ) from exc
    after = schema_state(settings).current
    snapshots.prune(settings, KEEP_PRE_UPGRADE, reason="pre-upgrade")
    return before, after, snapshot
