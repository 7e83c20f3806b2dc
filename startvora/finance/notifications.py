"""What invoices notify about: issued, paid, overdue (to whoever made the invoice and the
people who run the organization's finance)."""

from __future__ import annotations

from flask import Flask
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from startvora.core import money, notify
from startvora.core.events import Event
from startvora.core.permissions import role_allows
from startvora.extensions import db
from startvora.finance.models import Invoice


def _recipients(event: Event) -> list[int]:
    from startvora.orgs.models import Membership

    invoice = db.session.get(Invoice, event.payload["id"])
    rows = db.session.execute(
        db.select(Membership.user_id, Membership.role).where(Membership.org_id == event.org_id)
    )
    admins = [user_id for user_id, role in rows if role_allows(role, "finance:admin")]
    maker = [invoice.created_by_id] if invoice is not None and invoice.created_by_id else []
    return list(dict.fromkeys(maker + admins))


TITLES = {
    "invoice.issued": lambda **v: _("Invoice %(number)s issued to %(customer)s (%(amount)s)", **v),
    "invoice.paid": lambda **v: _("Invoice %(number)s of %(customer)s is paid (%(amount)s)", **v),
    "invoice.overdue": lambda **v: _(
        "Invoice %(number)s of %(customer)s is overdue (%(amount)s)", **v
    ),
}


def _describe(event: Event) -> notify.Message | None:
    from startvora.orgs.models import Organization

    invoice = db.session.get(Invoice, event.payload["id"])
    org = db.session.get(Organization, event.org_id)
    if invoice is None or org is None:
        return None
    amount = money.format_money(invoice.total_minor, invoice.currency, str(get_locale() or "en"))
    customer = invoice.customer_name.split("\n")[0]
    path = notify.path_for("finance.invoices_show", org_slug=org.slug, invoice_id=invoice.id)
    title = TITLES[event.name](number=invoice.number, customer=customer, amount=amount)
    return notify.Message(title, path=path)


def register(app: Flask) -> None:
    for event, label in (
        ("invoice.issued", _l("An invoice is issued")),
        ("invoice.paid", _l("An invoice is paid")),
        ("invoice.overdue", _l("An invoice is overdue")),
    ):
        notify.declare(
            app,
            notify.Kind(
                event,
                label,
                _recipients,
                _describe,
                permission="finance:view",
                defaults=frozenset({"app"})
                if event == "invoice.issued"
                else frozenset({"app", "email"}),
            ),
        )
