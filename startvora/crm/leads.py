"""Leads: captured, qualified, converted in one step into contact, company and deal, or
disqualified with a reason."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from startvora.core import audit, events, money
from startvora.core.db import fold, utcnow
from startvora.crm import deals
from startvora.crm.models import Activity, Company, Contact, Deal, Lead, Stage
from startvora.crm.schemas import LeadIn
from startvora.crm.services import CrmError, check_owner, keys
from startvora.extensions import db

FIELDS = (
    "title",
    "first_name",
    "last_name",
    "email",
    "phone",
    "company_name",
    "source",
    "notes",
    "tags",
    "owner_id",
)


def save_lead(
    org_id: int,
    actor_id: int | None,
    data: LeadIn,
    base_currency: str,
    lead: Lead | None = None,
    custom: dict[str, Any] | None = None,
) -> Lead:
    """Create or update a lead; a converted lead is not edited any more."""
    check_owner(org_id, data.owner_id)
    if lead is not None and lead.status == "converted":
        raise CrmError(_("This lead was converted; change its contact or deal instead."))
    created = lead is None
    if lead is None:
        lead = Lead(org_id=org_id)
        db.session.add(lead)
    for name in FIELDS:
        setattr(lead, name, getattr(data, name))
    if custom is not None:
        lead.custom = custom
    lead.currency = data.currency or lead.currency or base_currency
    lead.value_minor = money.to_minor(data.value or "0", lead.currency)
    lead.search_name = fold(f"{lead.display_name} {lead.email} {lead.company_name}")[:300]
    db.session.flush()
    action = "crm.lead_created" if created else "crm.lead_changed"
    audit.record(action, org=org_id, actor=actor_id, target=lead, summary=lead.display_name)
    if created:
        events.emit("crm.lead_created", org_id=org_id, id=lead.id)
    return lead


def set_status(
    org_id: int, actor_id: int | None, lead: Lead, status: str, reason: str = ""
) -> None:
    """Qualify a lead, disqualify it (a reason is required), or reopen it."""
    if lead.status == "converted":
        raise CrmError(_("This lead was converted already."))
    if status == "disqualified" and not reason.strip():
        raise CrmError(_("Say why the lead is disqualified."), "reason")
    lead.status = status
    lead.disqualify_reason = reason.strip()[:300] if status == "disqualified" else ""
    db.session.flush()
    audit.record(
        f"crm.lead_{status}",
        org=org_id,
        actor=actor_id,
        target=lead,
        summary=lead.disqualify_reason,
    )


def _find_company(name: str) -> Company | None:
    from startvora.crm.services import companies_named

    found = companies_named(name, limit=1)
    return found[0] if found else None


def _find_contact(email: str) -> Contact | None:
    if not email:
        return None
    return (
        db.session.execute(
            db.select(Contact).where(Contact.email_key == email.lower()).order_by(Contact.id)
        )
        .scalars()
        .first()
    )


def _first_open_stage(org_id: int) -> Stage:
    pipeline = deals.ensure_default_pipeline(org_id)
    return next(s for s in pipeline.stages if s.kind == "open")


def convert(
    org_id: int, actor_id: int | None, lead: Lead, make_deal: bool = True, deal_title: str = ""
) -> tuple[Contact | None, Company | None, Deal | None]:
    """Turn a lead into a contact, a company and a deal in one step.

    An existing contact (same email) or company (same name) is reused, never duplicated; the
    lead's activities move to the new records.
    """
    if lead.status == "converted":
        raise CrmError(_("This lead was converted already."))
    if lead.status == "disqualified":
        raise CrmError(_("Reopen the lead before converting it."))
    company = _find_company(lead.company_name)
    if company is None and lead.company_name.strip():
        company = Company(
            org_id=org_id,
            name=lead.company_name.strip(),
            email="",
            owner_id=lead.owner_id,
            source=lead.source,
        )
        keys(company)  # search and duplicate keys, as the company form sets them
        db.session.add(company)
        db.session.flush()
        audit.record(
            "crm.company_created", org=org_id, actor=actor_id, target=company, summary=company.name
        )
    contact = _find_contact(lead.email)
    if contact is None and (lead.first_name or lead.last_name or lead.email):
        contact = Contact(
            org_id=org_id,
            first_name=lead.first_name,
            last_name=lead.last_name,
            email=lead.email,
            phone=lead.phone,
            company_id=company.id if company else None,
            owner_id=lead.owner_id,
            source=lead.source,
            tags=list(lead.tags or []),
            notes=lead.notes,
            custom=dict(lead.custom or {}),
        )
        keys(contact)
        db.session.add(contact)
        db.session.flush()
        audit.record(
            "crm.contact_created",
            org=org_id,
            actor=actor_id,
            target=contact,
            summary=contact.display_name,
        )
    elif contact is not None and company is not None and contact.company_id is None:
        contact.company_id = company.id
    deal = None
    if make_deal:
        stage = _first_open_stage(org_id)
        deal = Deal(
            org_id=org_id,
            title=(deal_title.strip() or lead.display_name)[:200],
            pipeline_id=stage.pipeline_id,
            stage_id=stage.id,
            value_minor=lead.value_minor,
            currency=lead.currency,
            owner_id=lead.owner_id,
            contact_id=contact.id if contact else None,
            company_id=company.id if company else None,
            rank=deals.top_rank(stage),  # new deals come first in their stage
            tags=list(lead.tags or []),
        )
        deal.search_name = fold(deal.title)
        db.session.add(deal)
        db.session.flush()
        audit.record(
            "crm.deal_created", org=org_id, actor=actor_id, target=deal, summary=deal.title
        )
    db.session.execute(
        db.update(Activity)
        .where(Activity.lead_id == lead.id)
        .values(
            contact_id=contact.id if contact else None,
            company_id=company.id if company else None,
            deal_id=deal.id if deal else None,
        )
        .execution_options(synchronize_session=False)
    )
    lead.status, lead.converted_at = "converted", utcnow()
    lead.contact_id = contact.id if contact else None
    lead.company_id = company.id if company else None
    lead.deal_id = deal.id if deal else None
    db.session.flush()
    audit.record(
        "crm.lead_converted", org=org_id, actor=actor_id, target=lead, summary=lead.display_name
    )
    events.emit(
        "crm.lead_converted",
        org_id=org_id,
        id=lead.id,
        contact_id=lead.contact_id,
        company_id=lead.company_id,
        deal_id=lead.deal_id,
    )
    return contact, company, deal


def describe(lead: Lead) -> dict[str, Any]:
    """What converting would do, for the confirmation."""
    return {
        "company": _find_company(lead.company_name),
        "contact": _find_contact(lead.email),
    }
