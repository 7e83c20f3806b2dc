"""Rules for organizations and their members."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func

from startvora.auth.models import User
from startvora.core.text import slugify
from startvora.extensions import db
from startvora.orgs.models import Membership, Organization

RESERVED_SLUGS = {"new", "api", "admin", "static", "setup"}


def unique_slug(name: str) -> str:
    """A URL slug for a new organization, made unique with a number if needed."""
    base = slugify(name) or "org"
    if base in RESERVED_SLUGS:
        base = f"{base}-org"
    taken = set(
        db.session.execute(
            db.select(Organization.slug).where(
                (Organization.slug == base) | Organization.slug.like(f"{base}-%")
            )
        ).scalars()
    )
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def create_organization(
    name: str, owner: User, locale: str, timezone: str, currency: str
) -> Organization:
    """Create an organization with its first owner."""
    org = Organization(
        name=name, slug=unique_slug(name), locale=locale, timezone=timezone, currency=currency
    )
    db.session.add(org)
    db.session.flush()
    add_member(org, owner, "owner")
    return org


def add_member(org: Organization, user: User, role: str) -> Membership:
    """Give a person a role in an organization."""
    membership = Membership(org_id=org.id, user_id=user.id, role=role)
    db.session.add(membership)
    db.session.flush()
    return membership


def memberships_of(user: User) -> list[Membership]:
    """The organizations a person belongs to, by name."""
    return list(
        db.session.execute(
            db.select(Membership)
            .join(Organization)
            .where(Membership.user_id == user.id)
            .order_by(func.lower(Organization.name))
        ).scalars()
    )


def role_counts(org: Organization) -> dict[str, int]:
    """How many members hold each role."""
    rows = db.session.execute(
        db.select(Membership.role, func.count())
        .where(Membership.org_id == org.id)
        .group_by(Membership.role)
    )
    return {role: count for role, count in rows}


class MemberRuleError(ValueError):
    """A change to the members would break a rule; `message` says which, for people."""

    message: Any = ""

    def __init__(self) -> None:
        super().__init__(str(self.message))


class OwnerOnlyError(MemberRuleError):
    message = _l("Only an owner can remove or change an owner.")


class LastOwnerError(MemberRuleError):
    message = _l("An organization needs at least one owner; make someone else owner first.")


def remove_members(org: Organization, actor: Membership, membership_ids: list[int]) -> int:
    """Remove people from an organization. Only owners remove owners; one owner always stays."""
    memberships = list(
        db.session.execute(
            db.select(Membership).where(
                Membership.org_id == org.id, Membership.id.in_(membership_ids)
            )
        ).scalars()
    )
    if any(m.role == "owner" for m in memberships) and actor.role != "owner":
        raise OwnerOnlyError()
    for membership in memberships:
        db.session.delete(membership)
    db.session.flush()
    # Counted after the delete, inside the write transaction: two owners removing each other
    # at the same moment cannot both pass.
    if role_counts(org).get("owner", 0) < 1:
        raise LastOwnerError()
    return len(memberships)
