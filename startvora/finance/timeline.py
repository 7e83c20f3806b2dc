"""A customer's invoices, credit notes and payments on their CRM timeline."""

from __future__ import annotations

from flask import g, url_for
from flask_babel import gettext as _

from startvora.core import money
from startvora.crm.activities import Entry, TimelineItem
from startvora.extensions import db
from startvora.finance.models import Invoice, Payment


def customer_documents(kind: str, record_id: int, limit: int) -> list[TimelineItem]:
    """Issued invoices and credit notes of a company or contact, and the payments on them."""
    if kind not in ("company", "contact"):
        return []
    column = Invoice.company_id if kind == "company" else Invoice.contact_id
    invoices = list(
        db.session.execute(
            db.select(Invoice)
            .where(column == record_id, Invoice.status != "draft")
            .order_by(Invoice.issued_at.desc())
            .limit(limit)
        ).scalars()
    )
    locale = (g.org.number_locale or g.org.locale) if g.get("org") else "en"

    def amount(minor: int, currency: str) -> str:
        return money.format_money(minor, currency, locale)

    items = []
    for inv in invoices:
        path = url_for("finance.invoices_show", invoice_id=inv.id) if g.get("org") else ""
        if inv.is_credit_note:
            title = _("Credit note %(number)s", number=inv.number)
            icon = "rotate-cw"
        else:
            title = _("Invoice %(number)s", number=inv.number)
            icon = "receipt"
        detail = amount(inv.total_minor, inv.currency)
        if inv.status == "void":
            detail = _("%(amount)s, void", amount=detail)
        items.append(
            TimelineItem(inv.issued_at or inv.created_at, entry=Entry(icon, title, path, detail))
        )
    if invoices:
        payments = db.session.execute(
            db.select(Payment)
            .where(Payment.invoice_id.in_([i.id for i in invoices]))
            .order_by(Payment.created_at.desc())
            .limit(limit)
        ).scalars()
        numbers = {i.id: i for i in invoices}
        for p in payments:
            inv = numbers[p.invoice_id]
            paid = amount(p.amount_minor, p.currency)
            if inv.is_credit_note:
                title = _("Refund of %(amount)s on %(number)s", amount=paid, number=inv.number)
            else:
                title = _("Payment of %(amount)s on %(number)s", amount=paid, number=inv.number)
            items.append(TimelineItem(p.created_at, entry=Entry("banknote", title)))
    return items
