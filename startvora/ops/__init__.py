"""Operations: snapshots, continuous replication with Litestream, safe upgrades, and the
backups page."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from startvora.ops import tasks, views  # noqa: F401 (the nightly job)

    app.register_blueprint(views.bp)
