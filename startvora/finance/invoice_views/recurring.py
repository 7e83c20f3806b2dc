"""Recurring invoices: make a schedule from an invoice, list the schedules, stop or resume."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import g, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from startvora.core.forms import FORM_ERROR, FormErrors
from startvora.core.htmx import redirect_to, render
from startvora.core.permissions import require
from startvora.core.tenancy import get_scoped_or_404
from startvora.extensions import db
from startvora.finance import recurring, services
from startvora.finance.blueprints import bp
from startvora.finance.models import Invoice, RecurringInvoice


def _date(raw: str) -> dt.date | None:
    raw = raw.strip()
    return dt.date.fromisoformat(raw) if raw else None


@bp.route("/invoices/<int:invoice_id>/repeat", methods=["GET", "POST"])
@require("finance:edit")
def invoices_repeat(invoice_id: int) -> Any:
    """Issue this invoice again on a schedule."""
    invoice = get_scoped_or_404(Invoice, invoice_id)
    today = services.today_of(g.org)
    if request.method == "GET":
        first = recurring.nth_date(invoice.issue_date or today, "monthly", 1)
        values = {"frequency": "monthly", "start_date": max(first, today).isoformat()}
        return _page(invoice, values, FormErrors())
    names = ("frequency", "start_date", "end_date", "max_count", "auto_send")
    values = {name: request.form.get(name, "") for name in names}
    errors = FormErrors()
    try:
        start = _date(values["start_date"])
    except ValueError:
        start = None
    if start is None:
        errors["start_date"] = _("Enter the date of the first invoice.")
    try:
        end = _date(values["end_date"])
    except ValueError:
        errors["end_date"] = _("Enter a date like 2027-12-31, or leave it empty.")
        end = None
    count = None
    if values["max_count"].strip():
        if not values["max_count"].strip().isdigit():
            errors["max_count"] = _("Enter a number of invoices from 1 to 1000.")
        else:
            count = int(values["max_count"])
    if not errors and start is not None:
        try:
            recurring.make_recurring(
                g.org.id, current_user.id, invoice, values["frequency"], start, end, count,
                bool(values["auto_send"]),
            )  # fmt: skip
        except services.FinanceError as exc:
            db.session.rollback()
            errors[exc.field or FORM_ERROR] = str(exc.message)
        else:
            db.session.commit()
            return redirect_to(url_for("finance.recurring_index"), _("The schedule is set."))
    return _page(invoice, values, errors, 422)


def _page(invoice: Invoice, values: dict[str, Any], errors: FormErrors, status: int = 200) -> Any:
    return render(
        "finance/invoices/repeat.html",
        block="repeat_form",
        status=status,
        invoice=invoice,
        values=values,
        errors=errors,
        frequencies=list(recurring.frequency_labels().items()),
    )


@bp.get("/recurring")
@require("finance:view")
def recurring_index() -> Any:
    """The schedules: customer, how often, next date, invoices issued so far."""
    schedules = list(
        db.session.execute(
            db.select(RecurringInvoice).order_by(
                RecurringInvoice.active.desc(), RecurringInvoice.next_date, RecurringInvoice.id
            )
        ).scalars()
    )
    return render(
        "finance/invoices/recurring.html",
        schedules=schedules,
        frequencies=recurring.frequency_labels(),
    )


@bp.post("/recurring/<int:schedule_id>/toggle")
@require("finance:edit")
def recurring_toggle(schedule_id: int) -> Any:
    """Stop a schedule, or start it again (from its next date, or today when that passed)."""
    schedule = get_scoped_or_404(RecurringInvoice, schedule_id)
    if schedule.next_date is None:
        return redirect_to(
            url_for("finance.recurring_index"), _("This schedule is finished."), "error"
        )
    schedule.active = not schedule.active
    if schedule.active:  # dates missed while stopped are skipped, not issued late
        today = services.today_of(g.org)
        if schedule.next_date < today:
            _n, schedule.next_date = recurring.first_on_or_after(
                schedule.start_date, schedule.frequency, today
            )
    db.session.commit()
    message = _("The schedule runs again.") if schedule.active else _("The schedule is stopped.")
    return redirect_to(url_for("finance.recurring_index"), message)
