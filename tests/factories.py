"""Plain factory functions: they add and flush, the test decides when to commit."""

from __future__ import annotations

import datetime as dt
import itertools
from functools import cache
from typing import Any

from werkzeug.security import generate_password_hash

from startvora.auth.models import User
from startvora.extensions import db
from startvora.orgs.models import Membership, Organization

PASSWORD = "correct horse battery"
_seq = itertools.count(1)


@cache
def _hash(password: str) -> str:
    # Hashing is slow on purpose; tests reuse one hash per password.
    return generate_password_hash(password, method="scrypt")


def make_user(**overrides: Any) -> User:
    n = next(_seq)
    password = overrides.pop("password", PASSWORD)
    values = {"email": f"person{n}@example.com", "name": f"Person {n}", **overrides}
    user = User(password_hash=_hash(password), **values)
    db.session.add(user)
    db.session.flush()
    return user


def make_org(**overrides: Any) -> Organization:
    n = next(_seq)
    values = {"name": f"Org {n}", "slug": f"org-{n}", "locale": "en", "timezone": "UTC"}
    values.update(overrides)
    org = Organization(currency=values.pop("currency", "USD"), **values)
    db.session.add(org)
    db.session.flush()
    return org


def make_member(org: Organization, role: str = "member", **user_fields: Any) -> User:
    user = make_user(**user_fields)
    db.session.add(Membership(org_id=org.id, user_id=user.id, role=role))
    db.session.flush()
    return user


def make_file(org: Organization, **overrides: Any) -> Any:
    """A stored file of the organization (bytes in the storage, row flushed)."""
    from startvora.core import files
    from startvora.core.tenancy import org_context

    values: dict[str, Any] = {
        "filename": "notes.txt",
        "data": b"Hello, world\n",
        "content_type": "text/plain",
    }
    values.update(overrides)
    with org_context(org.id):
        return files.store_bytes(org.id, **values)


def make_notification(org: Organization, user: User, **overrides: Any) -> Any:
    from startvora.core import notify

    values = {"org_id": org.id, "user_id": user.id, "event": "test.event", "title": "Hello"}
    values.update(overrides)
    item = notify.Notification(**values)
    db.session.add(item)
    db.session.flush()
    return item


def make_channel(org: Organization, **overrides: Any) -> Any:
    from startvora.core import notify

    values = {
        "org_id": org.id,
        "name": "Team chat",
        "url": "json://127.0.0.1:9/hook",
        "display_url": "json://127.0.0.1:9/hook",
        "service": "JSON",
        "events": [],
    }
    values.update(overrides)
    channel = notify.Channel(**values)
    db.session.add(channel)
    db.session.flush()
    return channel


# -- CRM -----------------------------------------------------------------------------------------


def make_company(org: Organization, **overrides: Any) -> Any:
    from startvora.crm.models import Company
    from startvora.crm.services import search_keys

    values = {"org_id": org.id, "name": f"Company {next(_seq)}"}
    values.update(overrides)
    company = Company(**values)
    company.search_name, company.email_key = search_keys(company.name, company.email or "")
    db.session.add(company)
    db.session.flush()
    return company


def make_contact(org: Organization, **overrides: Any) -> Any:
    from startvora.core.db import fold
    from startvora.crm.models import Contact

    n = next(_seq)
    values = {
        "org_id": org.id,
        "first_name": "Pat",
        "last_name": f"Person{n}",
        "email": f"pat{n}@customer.test",
    }
    values.update(overrides)
    contact = Contact(**values)
    contact.search_name = fold(f"{contact.first_name} {contact.last_name} {contact.email}")
    contact.email_key = (contact.email or "").lower()
    db.session.add(contact)
    db.session.flush()
    return contact


def make_pipeline(org: Organization, **overrides: Any) -> Any:
    """A pipeline with four open stages and won/lost stages."""
    from startvora.crm.models import Pipeline, Stage

    pipeline = Pipeline(org_id=org.id, name=overrides.pop("name", "Sales"), **overrides)
    db.session.add(pipeline)
    db.session.flush()
    for i, (name, probability, kind) in enumerate(
        [
            ("New", 10, "open"),
            ("Qualified", 30, "open"),
            ("Proposal", 60, "open"),
            ("Negotiation", 80, "open"),
            ("Won", 100, "won"),
            ("Lost", 0, "lost"),
        ]
    ):
        db.session.add(
            Stage(
                org_id=org.id,
                pipeline_id=pipeline.id,
                name=name,
                position=i,
                probability=probability,
                kind=kind,
            )
        )
    db.session.flush()
    db.session.refresh(pipeline)
    return pipeline


def make_deal(org: Organization, pipeline: Any = None, **overrides: Any) -> Any:
    from startvora.crm.models import Deal

    pipeline = pipeline or make_pipeline(org)
    values = {
        "org_id": org.id,
        "title": f"Deal {next(_seq)}",
        "pipeline_id": pipeline.id,
        "stage_id": pipeline.stages[0].id,
        "value_minor": 100000,
        "currency": org.currency,
    }
    values.update(overrides)
    deal = Deal(**values)
    deal.search_name = deal.title.casefold()
    db.session.add(deal)
    db.session.flush()
    return deal


def make_lead(org: Organization, **overrides: Any) -> Any:
    from startvora.crm.models import Lead

    n = next(_seq)
    values = {
        "org_id": org.id,
        "first_name": "Lee",
        "last_name": f"Lead{n}",
        "email": f"lee{n}@prospect.test",
        "company_name": f"Prospect {n} Ltd",
    }
    values.update(overrides)
    lead = Lead(**values)
    lead.search_name = f"{lead.first_name} {lead.last_name} {lead.email}".casefold()
    db.session.add(lead)
    db.session.flush()
    return lead


def make_activity(org: Organization, **overrides: Any) -> Any:
    from startvora.core.db import utcnow
    from startvora.crm.models import Activity

    values = {"org_id": org.id, "kind": "note", "subject": "A note", "happened_at": utcnow()}
    values.update(overrides)
    activity = Activity(**values)
    db.session.add(activity)
    db.session.flush()
    return activity


# -- finance --------------------------------------------------------------------------------------


def make_tax_rate(org: Organization, name: str = "VAT", rate: str = "19", **overrides: Any) -> Any:
    from decimal import Decimal

    from startvora.finance.models import TaxRate

    tax = TaxRate(org_id=org.id, name=name, rate=Decimal(rate), **overrides)
    db.session.add(tax)
    db.session.flush()
    return tax


def make_product(org: Organization, **overrides: Any) -> Any:
    from startvora.core.db import fold
    from startvora.finance.models import Product

    values: dict[str, Any] = {"org_id": org.id, "name": f"Product {next(_seq)}", "prices": {}}
    values.update(overrides)
    product = Product(**values)
    product.search_name = fold(f"{product.name} {product.sku or ''}")
    db.session.add(product)
    db.session.flush()
    return product


def make_invoice(
    org: Organization,
    customer: Any = None,
    lines: list[dict[str, Any]] | None = None,
    issue: bool = False,
    currency: str | None = None,
    **fields: Any,
) -> Any:
    """A draft (or issued) invoice through the services, as a user would make it.

    lines: dicts of LineIn fields with the unit price typed in major units ("12.50").
    """
    from startvora.finance import services
    from startvora.finance.schemas import InvoiceIn

    customer = customer or make_company(org)
    kind = "contact_id" if type(customer).__name__ == "Contact" else "company_id"
    data = InvoiceIn.model_validate(
        {
            kind: customer.id,
            "currency": currency or org.currency,
            "lines": lines or [{"description": "Consulting", "quantity": "2", "unit_price": "100"}],
            **fields,
        },
        context={"currency": currency or org.currency, "locale": "en"},
    )
    invoice = services.save_draft(org.id, None, data)
    if issue:
        services.issue(org.id, None, invoice)
    return invoice


def make_expense(
    org: Organization, approve: bool = False, currency: str | None = None, **fields: Any
) -> Any:
    """An expense (or, with kind="bill", a vendor bill) through the services; amounts typed in
    major units ("42.50"). approve=True also approves it."""
    from startvora.finance import expenses
    from startvora.finance.schemas import ExpenseIn

    data = ExpenseIn.model_validate(
        {
            "spent_on": dt.date(2026, 3, 10).isoformat(),
            "category": "Travel",
            "vendor_name": "Rail Co",
            "amount": "42.50",
            "currency": currency or org.currency,
            **fields,
        },
        context={"currency": currency or org.currency, "locale": "en"},
    )
    expense = expenses.save_expense(org.id, None, data)
    if approve:
        expenses.approve(org.id, None, expense)
    return expense
