"""Backups in the organization's settings: snapshot and replication health, and the latest
snapshot to download for the people allowed to (it holds the whole instance's data)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Response, abort, current_app, g, send_file
from flask_login import current_user

from startvora.core import audit
from startvora.core.htmx import render
from startvora.core.permissions import require
from startvora.core.tenancy import org_blueprint
from startvora.extensions import db
from startvora.ops import replication, snapshots
from startvora.ops.tasks import OVERDUE

bp = org_blueprint("ops", __name__, url_prefix="/settings/backups")

LAG_WARNING_S = 60


def may_download(settings: Any, user: Any) -> bool:
    """Named in [backup] admins; or, when none are named, the owner of the only organization."""
    from startvora.core.tenancy import system_context
    from startvora.orgs.models import Membership, Organization

    named = {e.strip().lower() for e in settings.backup.admins.split(",") if e.strip()}
    if named:
        return (user.email or "").lower() in named
    with system_context("is this the instance's only organization"):
        orgs = db.session.execute(db.select(db.func.count(Organization.id))).scalar_one()
    if orgs != 1:
        return False
    membership = db.session.execute(
        db.select(Membership).where(Membership.org_id == g.org.id, Membership.user_id == user.id)
    ).scalar_one_or_none()
    return membership is not None and membership.role == "owner"


def health(settings: Any) -> dict[str, Any]:
    """What the page shows: snapshots, replication, and the problems worth a warning."""
    now = dt.datetime.now(dt.UTC)
    found = snapshots.snapshots(settings)
    nightly = [s for s in found if s.reason == "nightly"]
    problems = []
    if not nightly or now - nightly[0].created > OVERDUE:
        problems.append("no_recent_nightly")
    rows, error = [], None
    if settings.replication.url:
        try:
            rows = replication.status(settings)
        except (replication.ReplicationError, OSError) as exc:
            error = str(exc)
            problems.append("replication_error")
        if any(r.lag_seconds is None or r.lag_seconds > LAG_WARNING_S for r in rows):
            problems.append("replication_behind")
    else:
        problems.append("replication_off")
    return {"snapshots": found[:10], "latest": found[0] if found else None, "rows": rows,
            "error": error, "problems": problems, "now": now}  # fmt: skip


@bp.get("")
@require("org:admin")
def backups() -> Any:
    """Backup health: the latest snapshots, replication and its lag, and the download."""
    settings = current_app.extensions["startvora.settings"]
    return render(
        "orgs/backups.html",
        settings=settings,
        allowed=may_download(settings, current_user),
        **health(settings),
    )


@bp.get("/latest")
@require("org:admin")
def backups_download() -> Response:
    """The newest snapshot archive, for the people allowed to take the whole instance away."""
    settings = current_app.extensions["startvora.settings"]
    if not may_download(settings, current_user):
        abort(403)
    found = snapshots.snapshots(settings)
    if not found:
        abort(404)
    audit.record("backup.downloaded", org=g.org.id, actor=current_user, summary=found[0].path.name)
    db.session.commit()
    response = send_file(
        found[0].path, mimetype="application/gzip", as_attachment=True,
        download_name=found[0].path.name, max_age=0,
    )  # fmt: skip
    response.headers["Cache-Control"] = "private, no-store"
    return response
