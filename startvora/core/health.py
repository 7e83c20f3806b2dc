"""/healthz: database, queue, free disk and version, as JSON; 503 when any check fails."""

from __future__ import annotations

import shutil
import time
from typing import Any

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from startvora.core import schema, tasks
from startvora.extensions import db
from startvora.version import __version__

bp = Blueprint("health", __name__)

# A consumer that has not beaten for this long is reported as down.
HEARTBEAT_STALE_S = 300


def _check_database() -> dict[str, Any]:
    try:
        current = db.session.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception as exc:  # the point is to report any failure
        db.session.rollback()
        return {"ok": False, "error": exc.__class__.__name__}
    if current not in schema.heads():
        return {"ok": False, "schema": current, "error": "schema is not current"}
    return {"ok": True, "schema": current}


def _check_queue() -> dict[str, Any]:
    if tasks.huey.immediate:
        return {"ok": True, "immediate": True}
    try:
        pending = tasks.queue_length()
        last_seen = tasks.consumer_last_seen()
    except Exception as exc:
        return {"ok": False, "error": exc.__class__.__name__}
    age = None if last_seen is None else round(time.time() - last_seen, 1)
    result: dict[str, Any] = {"ok": True, "pending": pending, "consumer_seen_s_ago": age}
    if age is None:
        result.update(ok=False, error="consumer not running")
    elif age > HEARTBEAT_STALE_S:
        result.update(ok=False, error="consumer stopped")
    return result


def _check_disk() -> dict[str, Any]:
    settings = current_app.extensions["startvora.settings"]
    free_mb = shutil.disk_usage(settings.data_path).free // (1024 * 1024)
    minimum = settings.health.min_free_disk_mb
    result: dict[str, Any] = {"ok": free_mb >= minimum, "free_mb": free_mb}
    if free_mb < minimum:
        result["error"] = f"less than {minimum} MB free"
    return result


@bp.get("/healthz")
def healthz() -> Any:
    """Report whether this instance can serve; 503 if the database, queue or disk fails."""
    checks = {"database": _check_database(), "queue": _check_queue(), "disk": _check_disk()}
    healthy = all(c["ok"] for c in checks.values())
    body = {"status": "ok" if healthy else "failing", "version": __version__, "checks": checks}
    response = jsonify(body)
    response.status_code = 200 if healthy else 503
    response.headers["Cache-Control"] = "no-store"
    return response
