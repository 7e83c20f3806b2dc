"""What the invoice pages share: customer and product look-ups, the org's number context."""

from __future__ import annotations

import re
from typing import Any

from flask import g
from flask_babel import gettext as _

from startvora.core import money
from startvora.core.db import fold
from startvora.crm.models import Company, Contact, person_name
from startvora.extensions import db
from startvora.finance.models import Product

LOOKUP_LIMIT = 15
_EMAIL_TAIL = re.compile(r"<([^<>\s]+@[^<>\s]+)>\s*$")


def number_context(currency: str | None = None) -> dict[str, str]:
    """The validation context of amounts typed on this organization's pages."""
    org = g.org
    return {"currency": currency or org.currency, "locale": org.number_locale or org.locale}


def typed_amount(minor: int, currency: str) -> str:
    """An amount prefilled in a form, the organization's way ("1250,50" in German)."""
    return money.typed_amount(minor, currency, number_context()["locale"])


def typed_number(value: Any) -> str:
    """A quantity, a percentage or a rate prefilled in a form, the organization's way."""
    return money.typed_number(value, number_context()["locale"])


def customer_label(company: Company | None, contact: Contact | None) -> str:
    """How a customer is written in the form: a company's name, or "Name <email>"."""
    if company is not None:
        return company.name
    if contact is not None:
        name = person_name(contact.first_name, contact.last_name, "")
        return f"{name} <{contact.email}>" if contact.email and name else contact.display_name
    return ""


def find_customer(text: str) -> tuple[Company | None, Contact | None, str]:
    """The company or contact the customer field names, or a message saying why not."""
    text = " ".join(text.split())
    if not text:
        return None, None, _("Choose the customer.")
    match = _EMAIL_TAIL.search(text)
    if match:
        contacts = list(
            db.session.execute(
                db.select(Contact).where(Contact.email_key == match.group(1).lower()).limit(2)
            ).scalars()
        )
        if len(contacts) == 1:
            return None, contacts[0], ""
    from startvora.crm.services import companies_named

    companies = companies_named(text)
    if len(companies) == 1:
        return companies[0], None, ""
    if len(companies) > 1:
        return None, None, _("Several companies are called %(name)s; rename one first.", name=text)
    return (
        None,
        None,
        _("No company or contact is called %(name)s. Pick one from the list.", name=text),
    )


def customers_like(term: str) -> list[str]:
    """Customer labels starting with what was typed (companies first)."""
    key = fold(term).replace("%", "").replace("_", "")[:100]
    if not key:
        return []
    companies = db.session.execute(
        db.select(Company)
        .where(Company.search_name.like(key + "%"))
        .order_by(Company.search_name)
        .limit(LOOKUP_LIMIT)
    ).scalars()
    contacts = db.session.execute(
        db.select(Contact)
        .where(Contact.search_name.like(key + "%"))
        .order_by(Contact.search_name)
        .limit(LOOKUP_LIMIT)
    ).scalars()
    return [customer_label(c, None) for c in companies] + [
        customer_label(None, c) for c in contacts
    ]


def product_label(product: Product) -> str:
    return f"{product.name} · {product.sku}" if product.sku else product.name


def find_product(text: str) -> tuple[Product | None, str]:
    """The product a line's product field names ("Name · SKU", the SKU or the name)."""
    text = " ".join(text.split())
    if not text:
        return None, ""
    name, _sep, sku = text.rpartition(" · ")
    query = db.select(Product).where(Product.archived.is_(False))
    if sku and name:
        found = query.where(Product.sku == sku, Product.name == name)
    else:
        found = query.where((Product.sku == text) | (Product.search_name == fold(text)))
    products = list(db.session.execute(found.limit(2)).scalars())
    if len(products) == 1:
        return products[0], ""
    if products:
        return None, _("Several products match %(name)s; use its SKU.", name=text)
    return None, _("No product is called %(name)s.", name=text)


def products_like(term: str) -> list[str]:
    key = fold(term).replace("%", "").replace("_", "")[:100]
    if not key:
        return []
    rows = db.session.execute(
        db.select(Product)
        .where(Product.archived.is_(False), Product.search_name.like(key + "%"))
        .order_by(Product.search_name)
        .limit(LOOKUP_LIMIT)
    ).scalars()
    return [product_label(p) for p in rows]


def state_labels() -> dict[str, Any]:
    return {
        "draft": _("Draft"),
        "issued": _("Unpaid"),
        "partly_paid": _("Partly paid"),
        "overdue": _("Overdue"),
        "paid": _("Paid"),
        "credited": _("Credited"),
        "void": _("Void"),
        "refund_due": _("Refund due"),
        "settled": _("Settled"),
        "sent": _("Sent"),
        "accepted": _("Accepted"),
        "declined": _("Declined"),
        "expired": _("Expired"),
        "invoiced": _("Invoiced"),
    }


def customer_state_labels() -> dict[str, Any]:
    """The states as the customer reads them on a signed page (their side of the document)."""
    return {
        **state_labels(),
        "issued": _("Unpaid"),
        "sent": _("Open"),
        "invoiced": _("Accepted"),
    }
