"""What the CRM imports: contacts and companies, as targets of the shared import mechanism.

Rows are checked with the same schemas the forms use and saved through the same services, so an
imported contact obeys every rule a typed one does. Duplicates are found by email (companies:
by email, else by name). Updating a duplicate changes the fields the file fills in; its empty
cells keep what is saved.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable
from typing import Any

from babel import Locale
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from pydantic import BaseModel
from sqlalchemy import func

from startvora.core import customfields as cf
from startvora.core import events, live, money
from startvora.core.audit import AuditEvent
from startvora.core.db import fold, insert_rows, next_id, utcnow
from startvora.core.forms import FORM_ERROR, parse
from startvora.core.importer import Checked, Field, RowError, Target, register
from startvora.crm import leads, services
from startvora.crm.models import Company, Contact, Lead, person_name
from startvora.crm.schemas import CompanyIn, ContactIn, LeadIn, split_tags
from startvora.extensions import db
from startvora.orgs.models import Organization

PARTY = [
    Field("email", _l("Email"), aliases=("E-mail", "Email address", "E-mail address", "Mail")),
    Field("phone", _l("Phone"), aliases=("Telephone", "Phone number", "Tel", "Work phone")),
    Field("website", _l("Website"), aliases=("Web", "URL", "Homepage", "Web site")),
    Field("street", _l("Street"), aliases=("Address", "Street address", "Address line 1")),
    Field("city", _l("City"), aliases=("Town",)),
    Field("postal_code", _l("Postal code"), aliases=("ZIP", "ZIP code", "Postcode", "PLZ")),
    Field("country", _l("Country"), aliases=("Country code",)),
    Field("tags", _l("Tags"), aliases=("Tag", "Labels")),
    Field("source", _l("Source"), aliases=("Lead source",)),
    Field("notes", _l("Notes"), aliases=("Note", "Comments", "Description")),
    Field("owner", _l("Owner"), aliases=("Owner email", "Assigned to")),
]
CONTACT_FIELDS = [
    Field("first_name", _l("First name"), aliases=("First", "Given name", "Forename")),
    Field("last_name", _l("Last name"), aliases=("Last", "Surname", "Family name")),
    Field("full_name", _l("Full name"), aliases=("Name", "Contact", "Contact name")),
    Field("job_title", _l("Job title"), aliases=("Title", "Position", "Role")),
    Field(
        "company",
        _l("Company"),
        aliases=("Company name", "Organization", "Organisation", "Account", "Employer"),
    ),
    Field("mobile", _l("Mobile"), aliases=("Mobile phone", "Cell", "Cell phone")),
    *PARTY,
]
COMPANY_FIELDS = [
    Field("name", _l("Name"), required=True, aliases=("Company", "Company name", "Account")),
    Field("industry", _l("Industry"), aliases=("Sector",)),
    *PARTY,
]


def _split_full_name(data: dict[str, Any]) -> None:
    """A "Full name" column, when no first or last name is given: the last word is the surname."""
    full = " ".join(data.pop("full_name", "").split())
    if full and not (data.get("first_name") or data.get("last_name")):
        first, _sep, last = full.rpartition(" ")
        data["first_name"], data["last_name"] = (first, last) if first else (last, "")


@dataclasses.dataclass
class Valid:
    """A checked row: the schema object, its company's name, and the fields the file filled."""

    data: BaseModel
    filled: set[str]
    company_name: str = ""


class PartyTarget(Target):
    permission = "crm:edit"
    kind = ""  # the custom fields' entity: "contact", "company"
    schema: type[BaseModel] = BaseModel
    base_fields: list[Field] = []
    saved_fields: tuple[str, ...] = ()

    def __init__(self, org_id: int, actor_id: int | None) -> None:
        super().__init__(org_id, actor_id)
        self.custom_fields = cf.fields_for(org_id, self.kind)
        self._owners: dict[str, int] | None = None
        self._countries: dict[str, str] | None = None
        self._companies: dict[str, int] = {}

    def fields(self) -> list[Field]:
        custom = [
            Field(f"{cf.PREFIX}{f.key}", f.label, required=f.required, aliases=(f.key,))
            for f in self.custom_fields
        ]
        return [*self.base_fields, *custom]

    # -- lookups, loaded once per import ---------------------------------------------------------

    def owner_id(self, text: str) -> int:
        if self._owners is None:
            from startvora.auth.models import User
            from startvora.orgs.models import Membership

            rows = db.session.execute(
                db.select(User.id, User.email, User.name)
                .join(Membership, Membership.user_id == User.id)
                .where(Membership.org_id == self.org_id)
            )
            self._owners = {}
            for user_id, email, name in rows:
                self._owners.setdefault(fold(name), user_id)
                self._owners[email.casefold()] = user_id
        found = self._owners.get(text.casefold()) or self._owners.get(fold(text))
        if found is None:
            raise ValueError(_("No member of this organization is called %(who)s.", who=text))
        return found

    def country(self, text: str) -> str:
        if len(text) <= 2:
            return text
        if self._countries is None:
            self._countries = {}
            for locale in {Locale("en"), get_locale() or Locale("en")}:
                for code, name in locale.territories.items():
                    if len(code) == 2:
                        self._countries.setdefault(fold(name), code)
        return self._countries.get(fold(text), text)

    # -- the target ------------------------------------------------------------------------------

    def prepare(self, row: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
        """Schema input from a row, with the owner and country looked up."""
        data = {k: v for k, v in row.items() if not k.startswith(cf.PREFIX)}
        errors: dict[str, str] = {}
        owner = data.pop("owner", "").strip()
        if owner:
            try:
                data["owner_id"] = self.owner_id(owner)
            except ValueError as exc:
                errors["owner"] = str(exc)
        if data.get("country"):
            data["country"] = self.country(data["country"].strip())
        return data, errors

    def validate(self, row: dict[str, str]) -> tuple[Any, dict[str, Any] | None, dict[str, str]]:
        data, errors = self.prepare(row)
        obj, schema_errors = parse(self.schema, data)
        for field, message in schema_errors.items():
            errors.setdefault("" if field in (FORM_ERROR, "owner_id") else field, message)
        raw_custom = {k: v for k, v in row.items() if k.startswith(cf.PREFIX)}
        custom, custom_errors = cf.parse_values(self.custom_fields, raw_custom, partial=True)
        errors.update(custom_errors)
        if errors or obj is None:
            return None, None, errors
        filled = {k for k, v in row.items() if v.strip()}
        if "owner" in filled:
            filled.add("owner_id")
        if "full_name" in filled:
            filled |= {"first_name", "last_name"}
        # An empty cell leaves a saved custom value alone when updating.
        custom = {k: v for k, v in custom.items() if f"{cf.PREFIX}{k}" in filled}
        return Valid(obj, filled, row.get("company", "").strip()), custom, {}

    def duplicate_key(self, valid: Valid) -> Hashable | None:
        email = valid.data.email  # type: ignore[attr-defined]
        return email.lower() if email else None

    def finish(self) -> None:
        live.publish(self.org_id, self.entity)

    def merged(self, valid: Valid, custom: dict[str, Any] | None, existing: Any) -> tuple[Any, Any]:
        """For an update: the saved record's values, changed where the file filled a cell."""
        if existing is None:
            return valid.data, custom
        kept = {n: getattr(existing, n) for n in self.saved_fields if n not in valid.filled}
        data = valid.data.model_copy(update=kept)
        if "tags" in valid.filled:
            data = data.model_copy(update={"tags": split_tags([*existing.tags, *data.tags])})
        return data, {**(existing.custom or {}), **(custom or {})}


IMPORTED = {"imported": True}  # the audit entry's data for each imported contact


@register
class ContactTarget(PartyTarget):
    entity = "contacts"
    label = _l("Contacts")
    kind = "contact"
    schema = ContactIn
    base_fields = CONTACT_FIELDS
    saved_fields = services.CONTACT_FIELDS

    def check_mapping(self, mapped: set[str]) -> list[str]:
        problems = super().check_mapping(mapped)
        if not mapped & {"first_name", "last_name", "full_name", "email"}:
            problems.append(_("Map a column to a name or to Email: every contact needs one."))
        return problems

    def prepare(self, row: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
        data, errors = super().prepare(row)
        data.pop("company", None)
        _split_full_name(data)
        return data, errors

    def find_existing(self, valid: Valid) -> Contact | None:
        email = valid.data.email  # type: ignore[attr-defined]
        if not email:
            return None
        return db.session.execute(
            db.select(Contact)
            .where(Contact.email_key == email.lower())
            .order_by(Contact.id)
            .limit(1)
        ).scalar_one_or_none()

    def find_existing_many(self, valids: list[Valid]) -> list[Contact | None]:
        keys = {k for k in map(self.duplicate_key, valids) if k}
        found: dict[Any, Contact] = {}
        if keys:  # ids first: duplicates are few, and only those are loaded whole
            query = db.select(Contact.id).where(Contact.email_key.in_(keys))
            ids = list(db.session.execute(query).scalars())
            if ids:
                query = db.select(Contact).where(Contact.id.in_(ids)).order_by(Contact.id)
                for contact in db.session.execute(query).unique().scalars():
                    found.setdefault(contact.email_key, contact)
        return [found.get(self.duplicate_key(v)) for v in valids]

    saves_many = True

    def save_many(self, rows: list[Checked]) -> None:
        """Add the contacts of many rows in a few statements: the rules of save_contact, kept
        for a batch (owners are members and companies this organization's, by the lookups).
        The contacts get their ids here, so each audit entry names its own contact."""
        companies = self.company_ids({r.valid.company_name for r in rows})
        now = utcnow()
        first_id = next_id(Contact.__table__)
        fields = services.CONTACT_FIELDS
        contacts, audit_rows = [], []
        for contact_id, row in enumerate(rows, start=first_id):
            data = row.valid.data
            values = {name: getattr(data, name) for name in fields}
            first, last, email = values["first_name"], values["last_name"], values["email"]
            search_name, email_key = services.search_keys(f"{first} {last}", email)
            values.update(
                id=contact_id,
                org_id=self.org_id,
                company_id=companies.get(row.valid.company_name),
                custom=row.custom or {},
                search_name=search_name,
                email_key=email_key,
                created_at=now,
                updated_at=now,
                deleted_at=None,
            )
            contacts.append(values)
            audit_rows.append(
                {
                    "org_id": self.org_id,
                    "actor_id": self.actor_id,
                    "action": "crm.contact_created",
                    "target_type": "Contact",
                    "target_id": contact_id,
                    "summary": person_name(first, last, email)[:500],
                    "data": IMPORTED,
                    "created_at": now,
                }
            )
        insert_rows(Contact.__table__, contacts)
        insert_rows(AuditEvent.__table__, audit_rows)
        ids = list(range(first_id, first_id + len(rows)))
        events.emit("crm.contacts_imported", org_id=self.org_id, ids=ids)

    def company_ids(self, names: set[str]) -> dict[str, int | None]:
        """The company each name stands for; one is added for a name no company has yet.

        Companies found are remembered for the rest of the import (they are saved for good);
        ones added here are not, since the savepoint they were added in may still roll back.
        """
        cache = self._companies
        wanted = {fold(n): n for n in names if n and fold(n) not in cache}
        if wanted:
            rows = db.session.execute(
                db.select(Company.id, Company.search_name).where(Company.search_name.in_(wanted))
            )
            for company_id, key in rows:
                cache[key] = company_id if key not in cache else -1  # -1: several
        found: dict[str, int | None] = {"": None}
        for name in names:
            if not name:
                continue
            company_id = cache.get(fold(name))
            if company_id == -1:
                raise RowError(
                    _("Several companies are called %(name)s; rename one first.", name=name)
                )
            found[name] = company_id if company_id is not None else self._add_company(name)
        return found

    def _add_company(self, name: str) -> int:
        try:
            company = services.save_company(
                self.org_id, self.actor_id, CompanyIn(name=name, source=_("Import")), None
            )
        except (ValueError, services.CrmError) as exc:
            message = _("The company %(name)s cannot be added: %(why)s", name=name, why=exc)
            raise RowError(message) from None
        return company.id

    def save(self, valid: Valid, custom: dict[str, Any] | None, existing: Any | None) -> None:
        if valid.company_name:
            company_id = self.company_ids({valid.company_name})[valid.company_name]
            valid.data = valid.data.model_copy(update={"company_id": company_id})
            valid.filled.add("company_id")
        data, custom = self.merged(valid, custom, existing)
        try:
            services.save_contact(self.org_id, self.actor_id, data, custom, existing)
        except services.CrmError as exc:
            raise RowError(exc.message) from None


@register
class CompanyTarget(PartyTarget):
    entity = "companies"
    label = _l("Companies")
    kind = "company"
    schema = CompanyIn
    base_fields = COMPANY_FIELDS
    saved_fields = services.COMPANY_FIELDS

    def find_existing(self, valid: Valid) -> Company | None:
        email = valid.data.email  # type: ignore[attr-defined]
        same = (
            Company.email_key == email.lower()
            if email
            else Company.search_name
            == fold(
                valid.data.name  # type: ignore[attr-defined]
            )
        )
        return db.session.execute(
            db.select(Company).where(same).order_by(Company.id).limit(1)
        ).scalar_one_or_none()

    def save(self, valid: Valid, custom: dict[str, Any] | None, existing: Any | None) -> None:
        data, custom = self.merged(valid, custom, existing)
        try:
            services.save_company(self.org_id, self.actor_id, data, custom, existing)
        except services.CrmError as exc:
            raise RowError(exc.message) from None


LEAD_FIELDS = [
    Field("title", _l("Title"), aliases=("Subject", "Interest", "Lead")),
    Field("first_name", _l("First name"), aliases=("First", "Given name", "Forename")),
    Field("last_name", _l("Last name"), aliases=("Last", "Surname", "Family name")),
    Field("full_name", _l("Full name"), aliases=("Name", "Contact", "Contact name")),
    Field("email", _l("Email"), aliases=("E-mail", "Email address", "E-mail address", "Mail")),
    Field("phone", _l("Phone"), aliases=("Telephone", "Phone number", "Tel")),
    Field(
        "company_name",
        _l("Company"),
        aliases=("Company name", "Organization", "Organisation", "Account"),
    ),
    Field("value", _l("Expected value"), aliases=("Value", "Amount", "Budget")),
    Field("currency", _l("Currency")),
    Field("source", _l("Source"), aliases=("Lead source", "Channel")),
    Field("tags", _l("Tags"), aliases=("Tag", "Labels")),
    Field("notes", _l("Notes"), aliases=("Note", "Comments", "Description")),
    Field("owner", _l("Owner"), aliases=("Owner email", "Assigned to")),
]


@register
class LeadTarget(PartyTarget):
    """Leads from a spreadsheet (a fair's visitor list, a bought list); duplicates by email."""

    entity = "leads"
    label = _l("Leads")
    kind = "lead"
    schema = LeadIn
    base_fields = LEAD_FIELDS
    saved_fields = ("title", "first_name", "last_name", "email", "phone", "company_name",
                    "source", "notes", "tags", "owner_id", "currency")  # fmt: skip

    def check_mapping(self, mapped: set[str]) -> list[str]:
        problems = super().check_mapping(mapped)
        if not mapped & {"title", "first_name", "last_name", "full_name", "email", "company_name"}:
            problems.append(_("Map a column to a name, a company or Email: every lead needs one."))
        return problems

    def prepare(self, row: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
        data, errors = super().prepare(row)
        data.pop("country", None)
        _split_full_name(data)
        return data, errors

    def find_existing(self, valid: Valid) -> Lead | None:
        email = valid.data.email  # type: ignore[attr-defined]
        if not email:
            return None
        return db.session.execute(
            db.select(Lead)
            .where(func.lower(Lead.email) == email.lower(), Lead.status != "converted")
            .order_by(Lead.id)
            .limit(1)
        ).scalar_one_or_none()

    def save(self, valid: Valid, custom: dict[str, Any] | None, existing: Any | None) -> None:
        data, custom = self.merged(valid, custom, existing)
        if existing is not None and "value" not in valid.filled:
            kept = str(money.from_minor(existing.value_minor, existing.currency))
            data = data.model_copy(update={"value": kept})
        org = db.session.get(Organization, self.org_id)
        try:
            leads.save_lead(self.org_id, self.actor_id, data, org.currency, existing, custom)
        except (services.CrmError, ValueError) as exc:
            raise RowError(getattr(exc, "message", None) or str(exc)) from None

    def finish(self) -> None:
        live.publish(self.org_id, "leads")
