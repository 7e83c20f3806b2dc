"""A person's notifications in this organization, and what they want to be told about."""

from __future__ import annotations

from typing import Any

from flask import g, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from startvora.core import notify
from startvora.core.htmx import redirect_to, render
from startvora.core.permissions import can, require
from startvora.core.tenancy import get_scoped_or_404
from startvora.extensions import db
from startvora.orgs.blueprints import bp

PAGE = 30


@bp.get("/notifications")
@require("org:view")
def notifications_index() -> Any:
    """The notification centre: newest first, unread marked, older ones by page."""
    before = request.args.get("before", type=int)
    items = notify.inbox(g.org.id, current_user.id, limit=PAGE + 1, before=before)
    more = len(items) > PAGE
    items = items[:PAGE]
    return render(
        "orgs/notifications.html",
        block="items" if before else None,
        items=items,
        more=more,
        next_before=items[-1].id if items else None,
        unread=notify.unread_count(g.org.id, current_user.id),
    )


@bp.post("/notifications/read")
@require("org:view")
def notifications_read() -> Any:
    """Mark every notification read."""
    notify.mark_read(g.org.id, current_user.id)
    db.session.commit()
    return redirect_to(url_for("orgs.notifications_index"), _("All notifications are read."))


@bp.post("/notifications/<int:notification_id>/open")
@require("org:view")
def notifications_open(notification_id: int) -> Any:
    """Mark one notification read and go where it points."""
    item = get_scoped_or_404(notify.Notification, notification_id)
    if item.user_id != current_user.id:
        return redirect(url_for("orgs.notifications_index"))
    notify.mark_read(g.org.id, current_user.id, [item.id])
    db.session.commit()
    # Only a path inside Startvora, never another site ("/\\host" is "//host" to browsers).
    inside = item.path.startswith("/") and not item.path.startswith(("//", "/\\"))
    target = item.path if inside else None
    return redirect_to(target or url_for("orgs.notifications_index"))


@bp.route("/notifications/preferences", methods=["GET", "POST"])
@require("org:view")
def notifications_preferences() -> Any:
    """Per event: in Startvora, by email, or not at all."""
    kinds = sorted(
        (k for k in notify.kinds().values() if can(k.permission)), key=lambda k: str(k.label)
    )
    if request.method == "POST":
        chosen = {
            k.event: {c for c in notify.CHANNELS if request.form.get(f"{k.event}:{c}") == "on"}
            for k in kinds
        }
        notify.set_preferences(g.org.id, current_user.id, chosen)
        db.session.commit()
        return redirect_to(
            url_for("orgs.notifications_preferences"), _("Notification settings saved.")
        )
    rows = [(k, notify.wants(g.org.id, current_user.id, k)) for k in kinds]
    return render("orgs/notification_prefs.html", rows=rows)
