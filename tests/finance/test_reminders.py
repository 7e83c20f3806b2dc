"""Overdue invoices are announced once; payment reminders go out on the organization's
schedule, each step once, late ones caught up for a few days and old ones skipped."""

from __future__ import annotations

import datetime as dt
import time

from startvora.core import notify
from startvora.core.tenancy import org_context
from startvora.extensions import db as _db
from startvora.finance import reminders, services
from startvora.finance.models import Invoice, InvoiceReminder
from tests import factories


def _issued(org, customer, due: dt.date) -> int:
    invoice = factories.make_invoice(
        org, customer=customer, issue_date=(due - dt.timedelta(days=14)).isoformat(),
        due_date=due.isoformat(),
    )  # fmt: skip
    services.issue(org.id, None, invoice)
    return invoice.id


def test_reminders_follow_the_schedule_once_each(mail_app):
    box = mail_app.config["TEST_MAILBOX"]
    with mail_app.app_context():
        from startvora.orgs.models import Organization

        org = _db.session.execute(_db.select(Organization)).scalar_one()
        today = services.today_of(org)
        with org_context(org.id):
            customer = factories.make_company(org, name="Globex", email="ap@globex.test")
            services.settings_to_change(org.id).reminder_days = [-3, 7]
            soon = _issued(org, customer, today + dt.timedelta(days=3))  # step -3 is today
            late = _issued(org, customer, today - dt.timedelta(days=9))  # step 7 was 2 days ago
            old = _issued(org, customer, today - dt.timedelta(days=40))  # long past: skipped
            paid = _issued(org, customer, today - dt.timedelta(days=7))
            invoice = _db.session.get(Invoice, paid)
            invoice.paid_minor = invoice.total_minor
            invoice.refresh_list_keys()
            _db.session.commit()
        reminders.invoice_reminders.call_local()
        reminders.invoice_reminders.call_local()  # a second run sends nothing again
        deadline = time.monotonic() + 5
        while len(box) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)
        subjects = sorted(m["Subject"] for m in box if m["To"] == "ap@globex.test")
        staff = [m["Subject"] for m in box if m["To"] != "ap@globex.test"]
        assert sum("is overdue" in s for s in staff) == 2  # the owner hears of both, by email
        with org_context(org.id):
            numbers = {i: _db.session.get(Invoice, i).number for i in (soon, late, old)}
            steps = sorted(
                (r.invoice_id, r.days)
                for r in _db.session.execute(_db.select(InvoiceReminder)).scalars()
            )
            overdue = {i for i in (soon, late, old, paid) if _db.session.get(Invoice, i).overdue_at}
        assert subjects == sorted(
            [f"Overdue: invoice {numbers[late]}", f"Reminder: invoice {numbers[soon]} is due on "
             f"{(today + dt.timedelta(days=3)).isoformat()}"]
        )  # fmt: skip
        assert steps == [(soon, -3), (late, 7)]
        assert overdue == {late, old}  # announced once each; the paid one is not overdue
        with org_context(org.id):
            titles = [
                n.title for n in _db.session.execute(_db.select(notify.Notification)).scalars()
            ]
        assert sum("is overdue" in t for t in titles) == 2
