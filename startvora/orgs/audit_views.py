"""The organization's audit log, for administrators."""

from __future__ import annotations

from typing import Any

from flask import g
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_, select

from startvora.auth.models import User
from startvora.core import listview
from startvora.core.audit import AuditEvent
from startvora.core.htmx import render
from startvora.core.permissions import require
from startvora.extensions import db
from startvora.orgs.blueprints import bp
from startvora.orgs.models import Membership

CATEGORIES = [
    ("auth", _l("Sign-in and security")),
    ("members", _l("Members and roles")),
    ("invitations", _l("Invitations")),
    ("org", _l("Organization settings")),
]


def _spec() -> listview.ListSpec:
    # A member's personal security events (sign-ins) count from the day they joined.
    joined = (
        select(Membership.id)
        .where(
            Membership.org_id == g.org.id,
            Membership.user_id == AuditEvent.actor_id,
            Membership.created_at <= AuditEvent.created_at,
        )
        .exists()
    )
    people = db.session.execute(
        db.select(User.id, User.name)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.org_id == g.org.id)
        .order_by(User.name)
    ).all()

    def query() -> Any:
        return db.select(AuditEvent).where(
            or_(AuditEvent.org_id == g.org.id, and_(AuditEvent.org_id.is_(None), joined))
        )

    def by_category(stmt: Any, value: str) -> Any:
        return stmt.where(AuditEvent.action.startswith(value + "."))

    def by_person(stmt: Any, value: str) -> Any:
        return stmt.where(AuditEvent.actor_id == int(value))

    return listview.ListSpec(
        name="audit",
        query=query,
        id=AuditEvent.id,
        columns=[
            listview.Column("when", _l("When"), sort=AuditEvent.created_at),
            listview.Column("action", _l("What"), sort=AuditEvent.action),
            listview.Column("who", _l("Who")),
            listview.Column("ip", _l("From"), hide_on_phone=True),
        ],
        search=[AuditEvent.summary, AuditEvent.action, AuditEvent.ip],
        filters=[
            listview.Filter("category", _l("Kind"), CATEGORIES, by_category),
            listview.Filter("who", _l("Person"), [(str(i), n) for i, n in people], by_person),
        ],
        default_sort="when",
        default_desc=True,
        per_page=50,
    )


@bp.get("/audit")
@require("org:admin")
def audit_index() -> Any:
    """Who did what and when: sign-ins, roles, invitations, tokens, settings, exports."""
    page = listview.run(_spec())
    return render("orgs/audit.html", block="listing", page=page)
