"""API endpoints for the token's organization and its members."""

from __future__ import annotations

from typing import Any

from flask import g

from startvora.auth.models import User
from startvora.core.api import endpoint, int_arg
from startvora.extensions import db
from startvora.orgs.models import Membership
from startvora.orgs.schemas import MemberPage, OrgOut

MAX_LIMIT = 100


@endpoint(
    "/org",
    summary="The token's organization",
    response=OrgOut,
    permission="org:view",
    tag="Organization",
)
def org() -> Any:
    """The organization the token is bound to."""
    return g.org


@endpoint(
    "/members",
    summary="Members of the organization, by id",
    response=MemberPage,
    permission="org:view",
    tag="Organization",
    query=(
        ("limit", "integer", "1 to 100, default 50"),
        ("after", "integer", "next_cursor of the previous page"),
    ),
)
def members() -> Any:
    """One page of members, oldest membership first."""
    limit = int_arg("limit", 50, 1, MAX_LIMIT)
    after = int_arg("after", 0, 0, 2**63 - 1)
    rows = db.session.execute(
        db.select(Membership, User)
        .join(User, Membership.user_id == User.id)
        .where(Membership.org_id == g.org.id, Membership.id > after)
        .order_by(Membership.id)
        .limit(limit + 1)
    ).all()
    items = [
        {
            "id": m.id,
            "user_id": u.id,
            "name": u.name,
            "email": u.email,
            "role": m.role,
            "joined_at": m.created_at,
        }
        for m, u in rows[:limit]
    ]
    return {"items": items, "next_cursor": items[-1]["id"] if len(rows) > limit else None}
