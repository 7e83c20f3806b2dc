"""The nightly snapshot, made by the consumer, and its retention."""

from __future__ import annotations

import datetime as dt
import logging

from flask import current_app
from flask_babel import lazy_gettext as _l

from startvora.core.tasks import periodic
from startvora.ops import snapshots

log = logging.getLogger(__name__)
NIGHTLY_EVERY = dt.timedelta(hours=23)  # at most one a night
OVERDUE = dt.timedelta(hours=25)  # the machine was off at the hour: make it as soon as it is on


def snapshot_due(settings: object, now: dt.datetime) -> bool:
    """Whether a nightly snapshot is to be made now (at its hour, or late after downtime)."""
    nightly = [s for s in snapshots.snapshots(settings) if s.reason == "nightly"]  # type: ignore[arg-type]
    if not nightly:
        return True
    age = now - nightly[0].created
    if age < NIGHTLY_EVERY:
        return False
    return now.hour == settings.backup.nightly_hour or age > OVERDUE  # type: ignore[attr-defined]


@periodic(label=_l("Nightly snapshot"), minute="20", hour="*")
def nightly_snapshot() -> None:
    """Every hour: make the nightly snapshot when it is due, then keep the newest N."""
    settings = current_app.extensions["startvora.settings"]
    if settings.database.url or not (settings.data_path / "startvora.db").exists():
        return
    now = dt.datetime.now(dt.UTC)
    if not snapshot_due(settings, now):
        return
    path = snapshots.create(settings, "nightly", now=now)
    removed = snapshots.prune(settings)
    log.info("nightly snapshot %s; %d old ones removed", path.name, len(removed))
