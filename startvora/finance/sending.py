"""An invoice leaves the house: by email with its PDF (through the outbox), and as a signed
public page where the customer reads it and downloads the PDF without an account."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer

from startvora.core import audit, mail
from startvora.core.db import utcnow
from startvora.extensions import db
from startvora.finance import services
from startvora.finance.models import Invoice
from startvora.orgs.models import Organization

SALT = "finance:invoice:public"


def _signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt=SALT)


def public_token(invoice: Invoice) -> str:
    """A link that cannot be guessed nor changed to another invoice (signed org and id)."""
    return _signer().dumps([invoice.org_id, invoice.id])


def read_token(token: str) -> tuple[int, int] | None:
    """(org id, invoice id) of a public link, or None when it was not made here."""
    try:
        org_id, invoice_id = _signer().loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    if not isinstance(org_id, int) or not isinstance(invoice_id, int):
        return None
    return org_id, invoice_id


def public_url(invoice: Invoice) -> str:
    """The customer's link, in full (the public URL setting; a task has no request)."""
    from startvora.core.notify import path_for

    return mail.external_url(path_for("finance_public.invoice", token=public_token(invoice)))


def pdf_name(invoice: Invoice) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9._-]+", "-", invoice.number or f"draft-{invoice.id}") + ".pdf"


MAX_ATTACHED_BYTES = 10 * 1024 * 1024  # beyond this, files are offered on the signed page only


def _attached_files(invoice: Invoice) -> list[mail.Attachment]:
    """The document's attached files for the email, as many as fit under the size limit."""
    from startvora.core.files import attached_to
    from startvora.core.storage import StorageError, storage

    out, total = [], 0
    for f in attached_to("invoice", invoice.id):
        if total + f.size > MAX_ATTACHED_BYTES:
            continue
        try:
            data = storage().get(f.key)
        except (KeyError, StorageError) as exc:
            raise services.FinanceError(
                _("The attached file %(name)s cannot be read now. Try again in a moment.",
                  name=f.filename)
            ) from exc  # fmt: skip
        out.append(mail.Attachment(f.filename, data, f.content_type))
        total += f.size
    return out


def send_invoice(
    org_id: int, actor_id: int | None, invoice: Invoice, to: str, subject: str, message: str
) -> mail.OutboxMessage:
    """Queue the invoice by email with its PDF; the invoice records when it was sent."""
    if invoice.status != "issued":
        raise services.FinanceError(
            _("Make the quote final before sending it.")
            if invoice.is_quote
            else _("Issue the invoice before sending it.")
        )
    from startvora.finance import pdf

    org = db.session.get(Organization, org_id)
    settings = services.settings_of(org_id)
    body = pdf.invoice_pdf(invoice, org, settings)
    try:
        queued = mail.send_email(
            to,
            subject,
            "invoice",
            org_id=org_id,
            context={
                "message": message,
                "quote": invoice.is_quote,
                "org_name": org.legal_name or org.name,
                "number": invoice.number,
                "total": invoice.total_minor,
                "balance": invoice.balance_minor,
                "currency": invoice.currency,
                "due_date": invoice.due_date,
                "link": public_url(invoice),
            },
            attachments=[
                mail.Attachment(pdf_name(invoice), body, "application/pdf"),
                *_attached_files(invoice),
            ],
        )
    except mail.MailNotConfigured:
        raise services.FinanceError(
            _("Email is not set up yet: an administrator sets it in Settings > Email.")
        ) from None
    invoice.sent_at = utcnow()
    audit.record("finance.invoice_sent", org=org_id, actor=actor_id, target=invoice, summary=to)
    return queued


def mark_viewed(invoice: Invoice) -> bool:
    """Record the first time the customer opened the public page; True that first time."""
    if invoice.viewed_at is not None or invoice.status == "draft":
        return False
    invoice.viewed_at = utcnow()
    audit.record("finance.invoice_viewed", org=invoice.org_id, target=invoice)
    return True


def default_message(org: Organization, invoice: Invoice, locale_money: Any) -> tuple[str, str]:
    """Subject and message proposed on the send form."""
    org_name = org.legal_name or org.name
    date = invoice.due_date.isoformat() if invoice.due_date else ""
    if invoice.is_quote:
        subject = _("Quote %(number)s from %(org)s", number=invoice.number, org=org_name)
        message = _(
            "Hello,\n\nplease find attached our quote %(number)s of %(amount)s, valid until "
            "%(date)s. You can accept it online with the link below.\n\nKind regards.",
            number=invoice.number,
            amount=locale_money(invoice.total_minor, invoice.currency),
            date=date,
        )
        return subject, message
    subject = _("Invoice %(number)s from %(org)s", number=invoice.number, org=org_name)
    message = _(
        "Hello,\n\nplease find attached invoice %(number)s of %(amount)s, due on %(date)s.\n\n"
        "Thank you for your business.",
        number=invoice.number,
        amount=locale_money(invoice.balance_minor, invoice.currency),
        date=date,
    )
    return subject, message


def send_reminder(org_id: int, invoice: Invoice, days: int) -> mail.OutboxMessage:
    """A payment reminder for one schedule step (before or after the due date)."""
    org = db.session.get(Organization, org_id)
    if days < 0:
        subject = _("Reminder: invoice %(number)s is due on %(date)s", number=invoice.number,
                    date=invoice.due_date.isoformat() if invoice.due_date else "")  # fmt: skip
    else:
        subject = _("Overdue: invoice %(number)s", number=invoice.number)
    return mail.send_email(
        invoice.customer_email,
        subject,
        "invoice_reminder",
        org_id=org_id,
        context={
            "org_name": org.legal_name or org.name,
            "number": invoice.number,
            "balance": invoice.balance_minor,
            "currency": invoice.currency,
            "due_date": invoice.due_date,
            "overdue": days >= 0,
            "link": public_url(invoice),
        },
    )
