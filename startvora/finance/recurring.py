"""Recurring invoices: a model made from an invoice, issued again weekly, monthly, quarterly or
yearly by a job, until an end date or a number of invoices.

Each invoice is made, issued and the schedule moved on in one transaction: a job stopped in the
middle leaves either both or neither, so a run after downtime catches up every missed date once
and never twice. Dates keep the first one's day of the month (31 January, then 28 February,
then 31 March).
"""

from __future__ import annotations

import calendar
import contextlib
import datetime as dt
import logging
from decimal import Decimal
from typing import Any

from flask import g
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from startvora.core import audit, mail
from startvora.core.tasks import periodic
from startvora.core.tenancy import org_context, system_context
from startvora.extensions import db
from startvora.finance import services
from startvora.finance.models import FREQUENCIES, Invoice, InvoiceLine, RecurringInvoice
from startvora.orgs.models import Organization

log = logging.getLogger(__name__)

MONTHS = {"monthly": 1, "quarterly": 3, "yearly": 12}
MAX_CATCH_UP = 60  # invoices one schedule may issue in one run (then the next run goes on)


def frequency_labels() -> dict[str, Any]:
    return {"weekly": _l("Every week"), "monthly": _l("Every month"),
            "quarterly": _l("Every quarter"), "yearly": _l("Every year")}  # fmt: skip


def nth_date(start: dt.date, frequency: str, n: int) -> dt.date:
    """The n-th date of a schedule (0 is the first), keeping the first date's day."""
    if frequency == "weekly":
        return start + dt.timedelta(weeks=n)
    months = start.month - 1 + MONTHS[frequency] * n
    year, month = start.year + months // 12, months % 12 + 1
    return dt.date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def first_on_or_after(start: dt.date, frequency: str, day: dt.date) -> tuple[int, dt.date]:
    """The index and date of the schedule's first date on or after `day`."""
    n = 0
    if frequency == "weekly":
        n = max(0, (day - start).days // 7)
    elif day > start:
        n = max(0, ((day.year - start.year) * 12 + day.month - start.month) // MONTHS[frequency])
    while nth_date(start, frequency, n) < day:
        n += 1
    return n, nth_date(start, frequency, n)


def make_recurring(
    org_id: int,
    actor_id: int | None,
    invoice: Invoice,
    frequency: str,
    start: dt.date,
    end: dt.date | None,
    count: int | None,
    auto_send: bool,
) -> RecurringInvoice:
    """A schedule that issues copies of an invoice's customer and lines from `start` on."""
    if invoice.kind != "invoice" or invoice.status == "void":
        raise services.FinanceError(_("Only an invoice can be repeated."))
    if frequency not in FREQUENCIES:
        raise services.FinanceError(_("Choose how often."), "frequency")
    org = db.session.get(Organization, org_id)
    if start < services.today_of(org):
        raise services.FinanceError(_("Start today or later."), "start_date")
    if end is not None and end < start:
        raise services.FinanceError(_("The end date cannot be before the first date."), "end_date")
    if count is not None and not 1 <= count <= 1000:
        raise services.FinanceError(_("Enter a number of invoices from 1 to 1000."), "max_count")
    schedule = RecurringInvoice(
        org_id=org_id,
        source_invoice_id=invoice.id,
        company_id=invoice.company_id,
        contact_id=invoice.contact_id,
        customer_name=invoice.customer_name.split("\n")[0],
        currency=invoice.currency,
        exchange_rate=invoice.exchange_rate,
        prices_include_tax=invoice.prices_include_tax,
        notes=invoice.notes,
        footer=invoice.footer,
        lines=[
            {
                "product_id": line.product_id,
                "description": line.description,
                "quantity": str(line.quantity),
                "unit": line.unit,
                "unit_price_minor": line.unit_price_minor,
                "discount": str(line.discount),
                "tax_ids": list(line.tax_ids),
            }
            for line in invoice.lines
        ],
        frequency=frequency,
        start_date=start,
        next_date=start,
        end_date=end,
        max_count=count,
        auto_send=auto_send,
        created_by_id=actor_id,
    )
    db.session.add(schedule)
    db.session.flush()
    audit.record(
        "finance.recurring_created", org=org_id, actor=actor_id, target=schedule,
        summary=f"{schedule.customer_name}, {frequency}",
    )  # fmt: skip
    return schedule


def issue_next(org: Organization, schedule: RecurringInvoice) -> Invoice:
    """Make and issue the invoice of the schedule's next date, and move the schedule on."""
    day = schedule.next_date
    assert day is not None
    rates = {t.id: t for t in services.tax_rates(org.id, include_archived=True)}
    exemption = services.exemption_of(schedule.company_id, schedule.contact_id)
    if exemption is not None:
        rates = {}  # an exempt customer: no line carries tax
    invoice = Invoice(
        org_id=org.id,
        kind="invoice",
        company_id=schedule.company_id,
        contact_id=schedule.contact_id,
        currency=schedule.currency,
        exchange_rate=schedule.exchange_rate or Decimal(1),  # the rate the schedule was set at
        prices_include_tax=schedule.prices_include_tax,
        round_per_document=services.settings_of(org.id).round_per_document,
        notes=schedule.notes,
        footer=schedule.footer,
        issue_date=day,
        tax_exemption=exemption.reason if exemption else "",
        created_by_id=schedule.created_by_id,
        lines=[
            InvoiceLine(
                org_id=org.id, position=i, product_id=line.get("product_id"),
                description=line["description"], quantity=Decimal(line["quantity"]),
                unit=line.get("unit", ""), unit_price_minor=int(line["unit_price_minor"]),
                discount=Decimal(line.get("discount", "0")),
                tax_ids=[t for t in line.get("tax_ids", []) if t in rates],
            )
            for i, line in enumerate(schedule.lines)
        ],
    )  # fmt: skip
    db.session.add(invoice)
    services.apply_totals(invoice, rates)
    invoice.base_total_minor = services.base_amount(
        invoice.total_minor, invoice.currency, invoice.exchange_rate, org.currency
    )
    db.session.flush()
    services.issue(org.id, None, invoice)
    schedule.issued_count += 1
    schedule.last_invoice_id = invoice.id
    index, _date = first_on_or_after(schedule.start_date, schedule.frequency, day)
    following = nth_date(schedule.start_date, schedule.frequency, index + 1)
    done = (schedule.max_count is not None and schedule.issued_count >= schedule.max_count) or (
        schedule.end_date is not None and following > schedule.end_date
    )
    schedule.next_date = None if done else following
    schedule.active = schedule.active and not done
    return invoice


def catch_up(org: Organization, model: Any, make: Any) -> int:
    """Call `make(schedule)` for every active schedule of `model` (it has active and next_date)
    whose date has come, missed dates too, once each; commit after each. How many were made."""
    today = services.today_of(org)
    due = list(
        db.session.execute(
            db.select(model.id).where(model.active.is_(True), model.next_date <= today)
        ).scalars()
    )
    made = 0
    for schedule_id in due:
        for _step in range(MAX_CATCH_UP):
            schedule = db.session.get(model, schedule_id)
            if schedule is None or not schedule.active or schedule.next_date is None:
                break
            if schedule.next_date > today:
                break
            make(schedule)
            db.session.commit()  # what was made and the schedule's next date, together
            made += 1
    return made


def in_each_org(model: Any, run: Any) -> None:
    """Call `run(org)` in every organization with an active schedule of `model`."""
    with system_context(f"find organizations with {model.__tablename__} due"):
        org_ids = list(
            db.session.execute(
                db.select(model.org_id)
                .where(model.active.is_(True), model.next_date.is_not(None))
                .distinct()
            ).scalars()
        )
    for org_id in org_ids:
        with org_context(org_id):
            org = db.session.get(Organization, org_id)
            if org is None:
                continue
            g.org = org
            try:
                run(org)
            except Exception:  # one organization's broken schedule must not stop the others
                log.exception("%s of organization %s failed", model.__tablename__, org_id)
            db.session.rollback()


def run_schedules(org: Organization) -> int:
    """Issue every invoice whose date has come (missed ones too); how many were issued."""
    from startvora.finance import sending

    def make(schedule: RecurringInvoice) -> None:
        invoice = issue_next(org, schedule)
        if schedule.auto_send and invoice.customer_email:
            subject, message = sending.default_message(org, invoice, _money(org))
            # Issued all the same when email cannot go out: it shows as not sent.
            with contextlib.suppress(mail.MailNotConfigured, services.FinanceError):
                sending.send_invoice(
                    org.id, None, invoice, invoice.customer_email, subject, message
                )

    return catch_up(org, RecurringInvoice, make)


def _money(org: Organization) -> Any:
    from startvora.core import money

    return lambda minor, currency: money.format_money(
        minor, currency, org.number_locale or org.locale
    )


@periodic(label=_l("Recurring invoices"), minute="5", hour="*")
def recurring_invoices() -> None:
    """Every hour (each organization's day starts at its own time): issue what is due."""
    in_each_org(RecurringInvoice, run_schedules)
