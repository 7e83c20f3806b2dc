"""Overdue invoices and payment reminders, by a daily job.

Each organization sets its reminder steps in days from the due date (-3, 7, 14: three days
before, one and two weeks after). A step is sent once per invoice (a unique row says so, in the
same commit as the email); after downtime a step whose day passed less than CATCH_UP days ago
still goes out, older ones are skipped rather than sent late in a burst. An unpaid invoice past
its due date is announced as `invoice.overdue` once.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import g
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_

from startvora.core import audit, events, mail
from startvora.core.db import utcnow
from startvora.core.tasks import periodic
from startvora.core.tenancy import org_context, system_context
from startvora.extensions import db
from startvora.finance.models import FinanceSettings, Invoice, InvoiceReminder
from startvora.orgs.models import Organization

CATCH_UP = 3  # days a missed reminder may still be sent late
BATCH = 500


def _today(org: Organization) -> dt.date:
    return dt.datetime.now(ZoneInfo(org.timezone)).date()


def mark_overdue(org: Organization) -> int:
    """Announce each newly overdue invoice once; how many were."""
    today = _today(org)
    invoices = db.session.execute(
        db.select(Invoice)
        .where(
            Invoice.kind == "invoice",
            Invoice.is_open.is_(True),
            Invoice.due_date < today,
            Invoice.overdue_at.is_(None),
        )
        .limit(BATCH)
    ).scalars()
    count = 0
    for invoice in invoices:
        invoice.overdue_at = utcnow()  # in the same commit as the event: announced once
        events.emit("invoice.overdue", org_id=org.id, id=invoice.id, number=invoice.number)
        count += 1
    return count


def send_reminders(org: Organization, settings: FinanceSettings) -> int:
    """Email the reminders whose day has come; how many were sent."""
    from startvora.finance import sending

    today = _today(org)
    sent = 0
    for days in sorted(set(settings.reminder_days or [])):
        # The step's day is due_date + days: today, or up to CATCH_UP days ago.
        latest = today - dt.timedelta(days=days)
        earliest = latest - dt.timedelta(days=CATCH_UP)
        invoices = db.session.execute(
            db.select(Invoice)
            .outerjoin(
                InvoiceReminder,
                and_(InvoiceReminder.invoice_id == Invoice.id, InvoiceReminder.days == days),
            )
            .where(
                Invoice.kind == "invoice",
                Invoice.is_open.is_(True),
                Invoice.customer_email != "",
                Invoice.due_date <= latest,
                Invoice.due_date > earliest,
                InvoiceReminder.id.is_(None),
            )
            .limit(BATCH)
        ).scalars()
        for invoice in list(invoices):
            try:
                sending.send_reminder(org.id, invoice, days)
            except mail.MailNotConfigured:
                return sent  # nothing can go out; the next run tries again
            db.session.add(
                InvoiceReminder(
                    org_id=org.id,
                    invoice_id=invoice.id,
                    days=days,
                    to_address=invoice.customer_email,
                )
            )
            audit.record(
                "finance.reminder_sent", org=org.id, target=invoice, summary=invoice.customer_email
            )
            db.session.commit()
            sent += 1
    return sent


@periodic(label=_l("Overdue invoices and payment reminders"), minute="20", hour="*")
def invoice_reminders() -> None:
    """Every hour (each organization's morning comes at its own time): overdue, reminders."""
    with system_context("find organizations with invoices"):
        org_ids = list(db.session.execute(db.select(Organization.id)).scalars())
    for org_id in org_ids:
        with org_context(org_id):
            org = db.session.get(Organization, org_id)
            if org is None:
                continue
            g.org = org  # amounts and dates in emails are written the organization's way
            if mark_overdue(org):
                db.session.commit()
            settings = db.session.execute(
                db.select(FinanceSettings).where(FinanceSettings.org_id == org_id)
            ).scalar_one_or_none()
            if settings is not None and settings.reminder_days:
                send_reminders(org, settings)
            db.session.rollback()
