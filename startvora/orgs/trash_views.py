"""The one Trash page: records of every module deleted by people, to restore or remove."""

from __future__ import annotations

from typing import Any

from flask import abort, g, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from startvora.core import audit, trash
from startvora.core.htmx import redirect_to, render
from startvora.core.permissions import can, require
from startvora.extensions import db
from startvora.orgs.blueprints import bp


def _kind() -> trash.TrashKind:
    kind = trash.kinds().get(request.form.get("kind", ""))
    if kind is None or not can(kind.permission):
        abort(404)
    return kind


@bp.get("/trash")
@require("org:view")
def trash_index() -> Any:
    """What was deleted, newest first, by kind of record."""
    groups = [
        (kind, trash.deleted_rows(kind, g.org.id))
        for kind in trash.kinds().values()
        if can(kind.permission)
    ]
    return render("orgs/trash.html", groups=[(k, rows) for k, rows in groups if rows])


@bp.post("/trash/<int:record_id>/restore")
@require("org:view")
def trash_restore(record_id: int) -> Any:
    """Put a record back where it was."""
    kind = _kind()
    obj = trash.get_deleted(kind.model, record_id)
    if obj is None or obj.org_id != g.org.id:
        abort(404)
    trash.restore(obj)
    audit.record(
        "trash.restored", org=g.org, actor=current_user, target=obj, summary=kind.title(obj)
    )
    db.session.commit()
    return redirect_to(url_for("orgs.trash_index"), _("%(name)s is back.", name=kind.title(obj)))


@bp.post("/trash/<int:record_id>/purge")
@require("org:admin")
def trash_purge(record_id: int) -> Any:
    """Remove a record for good (administrators only)."""
    kind = _kind()
    obj = trash.get_deleted(kind.model, record_id)
    if obj is None or obj.org_id != g.org.id:
        abort(404)
    title = kind.title(obj)
    if kind.purge:
        kind.purge(obj)
    db.session.delete(obj)
    audit.record("trash.purged", org=g.org, actor=current_user, summary=f"{kind.key} {title}")
    db.session.commit()
    return redirect_to(url_for("orgs.trash_index"), _("%(name)s is removed for good.", name=title))
