"""CRM rules: contacts and companies, their custom fields, owners, history, trash and merges.

Services take the organization id and the acting user explicitly, flush and never commit.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from startvora.core import audit, events
from startvora.core import customfields as cf
from startvora.core import trash as trashcan
from startvora.core.db import fold
from startvora.crm.models import Activity, Company, Contact, Deal, Lead
from startvora.crm.schemas import CompanyIn, ContactIn
from startvora.extensions import db

PARTY_FIELDS = (
    "email",
    "phone",
    "website",
    "street",
    "city",
    "postal_code",
    "country",
    "tags",
    "source",
    "notes",
    "owner_id",
)
COMPANY_FIELDS = ("name", "industry", *PARTY_FIELDS)
CONTACT_FIELDS = ("first_name", "last_name", "job_title", "mobile", "company_id", *PARTY_FIELDS)


class CrmError(ValueError):
    """A rule refused the change; `field` names the input it is about (or "" for the form)."""

    def __init__(self, message: Any, field: str = "") -> None:
        super().__init__(str(message))
        self.message, self.field = message, field


def _member_ids(org_id: int) -> set[int]:
    from startvora.orgs.models import Membership

    return set(
        db.session.execute(db.select(Membership.user_id).where(Membership.org_id == org_id))
        .scalars()
        .all()
    )


def members_of(org_id: int) -> list[tuple[int, str]]:
    """(user id, name) of the organization's members by name, for owner choices."""
    from startvora.auth.models import User
    from startvora.orgs.models import Membership

    rows = db.session.execute(
        db.select(User.id, User.name)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.org_id == org_id)
        .order_by(db.func.lower(User.name), User.id)
    )
    return [(user_id, name) for user_id, name in rows]


def check_owner(org_id: int, owner_id: int | None) -> None:
    if owner_id is not None and owner_id not in _member_ids(org_id):
        raise CrmError(_("Choose an owner from the members of this organization."), "owner_id")


def search_keys(name: str, email: str) -> tuple[str, str]:
    """A record's search key (folded name, then email: the name is also the sort key, and both
    are found by search) and duplicate key (the lower-cased email)."""
    return fold(f"{name} {email}")[:300], email.lower()


def companies_named(name: str, limit: int = 2) -> list[Company]:
    """Companies called `name` (case and accents aside), oldest first. Their search key is the
    folded name, then the email, so a company is found by the range of keys starting with its
    name (from the index), then its own name is compared."""
    key = fold(" ".join(name.split()))
    if not key:
        return []
    candidates = db.session.execute(
        db.select(Company)
        .where((Company.search_name == key)
               | ((Company.search_name >= key + " ") & (Company.search_name < key + "!")))
        .order_by(Company.id)
        .limit(200)
    ).scalars()  # fmt: skip
    return [c for c in candidates if fold(" ".join(c.name.split())) == key][:limit]


def keys(obj: Company | Contact) -> None:
    """Keep a record's search and duplicate keys."""
    name = obj.name if isinstance(obj, Company) else f"{obj.first_name} {obj.last_name}"
    obj.search_name, obj.email_key = search_keys(name, obj.email)


def _apply(obj: Any, data: Any, fields: tuple[str, ...]) -> list[str]:
    changed = []
    for name in fields:
        value = getattr(data, name)
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed.append(name)
    return changed


def _custom(obj: Any, custom: dict[str, Any] | None, partial: bool) -> list[str]:
    if custom is None:
        return []
    merged = {**(obj.custom or {}), **custom} if partial else dict(custom)
    if merged != (obj.custom or {}):
        obj.custom = merged
        return [f"custom.{k}" for k in sorted(set(merged) ^ set(obj.custom or {}) | set(custom))]
    return []


def save_company(
    org_id: int,
    actor_id: int | None,
    data: CompanyIn,
    custom: dict[str, Any] | None,
    company: Company | None = None,
) -> Company:
    """Create or update a company; the change is written to its history."""
    check_owner(org_id, data.owner_id)
    created = company is None
    if company is None:
        company = Company(org_id=org_id, name=data.name)
        db.session.add(company)
    changed = _apply(company, data, COMPANY_FIELDS) + _custom(company, custom, partial=False)
    keys(company)
    db.session.flush()
    _history(org_id, actor_id, company, created, changed)
    return company


def save_contact(
    org_id: int,
    actor_id: int | None,
    data: ContactIn,
    custom: dict[str, Any] | None,
    contact: Contact | None = None,
) -> Contact:
    """Create or update a contact; its company must be one of this organization's."""
    check_owner(org_id, data.owner_id)
    if data.company_id is not None and db.session.get(Company, data.company_id) is None:
        raise CrmError(_("Choose a company of this organization."), "company_id")
    created = contact is None
    if contact is None:
        contact = Contact(org_id=org_id)
        db.session.add(contact)
    changed = _apply(contact, data, CONTACT_FIELDS) + _custom(contact, custom, partial=False)
    keys(contact)
    db.session.flush()
    _history(org_id, actor_id, contact, created, changed)
    return contact


def _history(
    org_id: int, actor_id: int | None, obj: Any, created: bool, changed: list[str]
) -> None:
    kind = type(obj).__name__.lower()
    if created:
        audit.record(
            f"crm.{kind}_created", org=org_id, actor=actor_id, target=obj, summary=obj.display_name
        )
        events.emit(f"crm.{kind}_created", org_id=org_id, id=obj.id)
    elif changed:
        audit.record(
            f"crm.{kind}_changed",
            org=org_id,
            actor=actor_id,
            target=obj,
            summary=", ".join(changed),
            fields=changed,
        )
        events.emit(f"crm.{kind}_changed", org_id=org_id, id=obj.id)


def trash(org_id: int, actor_id: int | None, obj: Any) -> None:
    """Move a record to the trash; it can be restored from the Trash page."""
    trashcan.trash(obj, actor_id)
    kind = type(obj).__name__.lower()
    audit.record(
        f"crm.{kind}_deleted", org=org_id, actor=actor_id, target=obj, summary=obj.display_name
    )
    events.emit(f"crm.{kind}_deleted", org_id=org_id, id=obj.id)


def add_tags(objs: list[Any], tags: list[str]) -> int:
    """Add tags to many records at once; how many changed."""
    changed = 0
    for obj in objs:
        merged = list(dict.fromkeys([*(obj.tags or []), *tags]))
        if merged != (obj.tags or []):
            obj.tags = merged
            changed += 1
    db.session.flush()
    return changed


def assign(org_id: int, objs: list[Any], owner_id: int | None) -> int:
    """Give many records one owner; how many changed."""
    check_owner(org_id, owner_id)
    changed = 0
    for obj in objs:
        if obj.owner_id != owner_id:
            obj.owner_id = owner_id
            changed += 1
    db.session.flush()
    return changed


def people_of(company: Company) -> list[Contact]:
    return list(
        db.session.execute(
            db.select(Contact)
            .where(Contact.company_id == company.id)
            .order_by(Contact.search_name, Contact.id)
        ).scalars()
    )


# -- duplicates and merging ----------------------------------------------------------------------


def duplicates_of(contact: Contact) -> list[Contact]:
    """Other contacts with the same email, or the same name at the same company."""
    found: dict[int, Contact] = {}
    if contact.email_key:
        for other in db.session.execute(
            db.select(Contact)
            .where(Contact.email_key == contact.email_key, Contact.id != contact.id)
            .limit(20)
        ).scalars():
            found[other.id] = other
    name = fold(f"{contact.first_name} {contact.last_name}").strip()
    if name and contact.company_id:
        # Two indexed lookups, not one OR, which would read every contact.
        for other in db.session.execute(
            db.select(Contact)
            .where(Contact.company_id == contact.company_id, Contact.id != contact.id)
            .limit(500)
        ).scalars():
            if other.search_name.startswith(name + " ") or other.search_name == name:
                found[other.id] = other
    return list(found.values())[:20]


def merge(org_id: int, actor_id: int | None, keep: Any, other: Any) -> Any:
    """Fold `other` into `keep` (two contacts or two companies): every activity, deal, lead,
    person and custom value moves over, empty fields are filled, tags are joined; `other` goes
    to the trash with a note of where it went."""
    if type(keep) is not type(other) or keep.id == other.id:
        raise CrmError(_("Choose two different records of the same kind to merge."))
    is_contact = isinstance(keep, Contact)
    link = "contact_id" if is_contact else "company_id"
    for model in (Activity, Deal, Lead):
        db.session.execute(
            db.update(model)
            .where(getattr(model, link) == other.id, model.org_id == org_id)
            .values({link: keep.id})
            .execution_options(synchronize_session=False, include_deleted=True)
        )
    if not is_contact:
        db.session.execute(
            db.update(Contact)
            .where(Contact.company_id == other.id, Contact.org_id == org_id)
            .values(company_id=keep.id)
            .execution_options(synchronize_session=False, include_deleted=True)
        )
    fields = CONTACT_FIELDS if is_contact else COMPANY_FIELDS
    for name in fields:
        if name == "tags":
            keep.tags = list(dict.fromkeys([*(keep.tags or []), *(other.tags or [])]))
        elif name == "notes" and other.notes and other.notes not in keep.notes:
            keep.notes = (keep.notes + "\n\n" + other.notes).strip()
        elif not getattr(keep, name) and getattr(other, name):
            setattr(keep, name, getattr(other, name))
    keep.custom = {**(other.custom or {}), **(keep.custom or {})}
    keys(keep)
    trashcan.trash(other, actor_id)
    db.session.flush()
    db.session.expire_all()
    kind = type(keep).__name__.lower()
    audit.record(
        f"crm.{kind}_merged",
        org=org_id,
        actor=actor_id,
        target=keep,
        summary=_("%(other)s merged into this record", other=other.display_name),
        merged_id=other.id,
    )
    events.emit(f"crm.{kind}_merged", org_id=org_id, id=keep.id, merged_id=other.id)
    return keep


def custom_fields(org_id: int, entity: str) -> list[cf.CustomField]:
    return cf.fields_for(org_id, entity)
