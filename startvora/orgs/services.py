"""Rules for organizations and their members."""

from __future__ import annotations

import hashlib
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func

from startvora.auth.models import User
from startvora.core import events, files
from startvora.core.db import after_commit
from startvora.core.storage import storage
from startvora.core.text import slugify
from startvora.extensions import db
from startvora.orgs.models import Membership, Organization

RESERVED_SLUGS = {"new", "api", "admin", "static", "setup"}


def unique_slug(name: str) -> str:
    """A URL slug for a new organization, made unique with a number if needed."""
    base = slugify(name) or "org"
    if base in RESERVED_SLUGS or len(base) < 2:
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


def membership_by_slug(slug: str, user_id: int) -> Membership | None:
    """A person's membership in the organization with this slug, if any."""
    return db.session.execute(
        db.select(Membership)
        .join(Organization)
        .where(Organization.slug == slug, Membership.user_id == user_id)
    ).scalar_one_or_none()


def membership_of(org_id: int, user_id: int) -> Membership | None:
    """A person's membership in an organization, if any."""
    return db.session.execute(
        db.select(Membership).where(Membership.org_id == org_id, Membership.user_id == user_id)
    ).scalar_one_or_none()


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


def remove_members(org: Organization, actor: Membership, membership_ids: list[int]) -> list[str]:
    """Remove people from an organization; their emails. Only owners remove owners, and one
    owner always stays; ids of other organizations are ignored."""
    memberships = list(
        db.session.execute(
            db.select(Membership).where(
                Membership.org_id == org.id, Membership.id.in_(membership_ids)
            )
        ).scalars()
    )
    if any(m.role == "owner" for m in memberships) and actor.role != "owner":
        raise OwnerOnlyError()
    emails = [m.user.email for m in memberships]
    for membership in memberships:
        db.session.delete(membership)
    db.session.flush()
    # Counted after the delete, inside the write transaction: two owners removing each other
    # at the same moment cannot both pass.
    if role_counts(org).get("owner", 0) < 1:
        raise LastOwnerError()
    for membership in memberships:
        events.emit("member.removed", org_id=org.id, user_id=membership.user_id)
    return emails


def change_role(org: Organization, actor: Membership, membership: Membership, role: str) -> bool:
    """Give a member another role; False when nothing changed. Owners are guarded as above."""
    if membership.org_id != org.id or role == membership.role:
        return False
    if "owner" in (role, membership.role) and actor.role != "owner":
        raise OwnerOnlyError()
    old = membership.role
    membership.role = role
    db.session.flush()
    if role_counts(org).get("owner", 0) < 1:
        raise LastOwnerError()
    events.emit(
        "member.role_changed", org_id=org.id, membership_id=membership.id, old=old, new=role
    )
    return True


class SlugTakenError(ValueError):
    """Another organization uses that address."""


class CurrencyLockedError(ValueError):
    """The currency cannot change: records are kept in it (the message says which)."""


SETTINGS_FIELDS = (
    "name",
    "slug",
    "legal_name",
    "address",
    "tax_id",
    "currency",
    "locale",
    "timezone",
    "fiscal_year_start",
    "date_format",
    "number_locale",
    "require_2fa",
)


def update_settings(org: Organization, values: dict[str, Any]) -> list[str]:
    """Apply validated settings; the names of the fields that changed."""
    slug = values["slug"]
    taken = (
        slug in RESERVED_SLUGS
        or db.session.execute(
            db.select(Organization.id).where(Organization.slug == slug, Organization.id != org.id)
        ).first()
    )
    if slug != org.slug and taken:
        raise SlugTakenError(slug)
    if values["currency"] != org.currency:
        from startvora.core.registry import currency_locked

        reason = currency_locked(org.id)
        if reason:
            raise CurrencyLockedError(reason)
    changed = []
    for name in SETTINGS_FIELDS:
        value = values[name] if name != "number_locale" else (values[name] or None)
        if getattr(org, name) != value:
            setattr(org, name, value)
            changed.append(name)
    db.session.flush()
    return changed


LOGO_MAX_BYTES = 1024 * 1024
LOGO_TYPES = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp"}


class LogoError(ValueError):
    """The upload is not a PNG, JPEG or WebP image of at most 1 MB; `message` says which."""

    def __init__(self, message: Any) -> None:
        super().__init__(str(message))
        self.message = message


def logo_kind(data: bytes) -> str | None:
    """The image type from the file's content (never from its name or claimed type)."""
    sniffed = files.sniff(data)
    if sniffed is None or LOGO_TYPES.get(sniffed[1]) != sniffed[0]:
        return None
    return sniffed[1]


def save_logo(org: Organization, data: bytes) -> str:
    """Store a new logo under the data folder; returns its key (the old file is removed)."""
    if len(data) > LOGO_MAX_BYTES:
        raise LogoError(_l("The logo is larger than 1 MB."))
    kind = logo_kind(data)
    if kind is None:
        raise LogoError(_l("The logo must be a PNG, JPEG or WebP image."))
    key = f"org-{org.id}/logo-{hashlib.sha256(data).hexdigest()[:16]}.{kind}"
    storage().put(key, data, LOGO_TYPES[kind])  # a new key: nothing in use is overwritten
    old = org.logo_key
    org.logo_key = key
    if old and old != key:
        after_commit(delete_file, old)  # the old file goes once the change is saved
    return key


def delete_file(key: str) -> None:
    """Remove a stored file (called after the commit that stopped using it)."""
    storage().delete(key)
