"""One expense: its page, approving, rejecting, reopening, paying a bill, billing it to the
customer, replacing the receipt and deleting it.

An action sent by htmx answers with the page as it is now and a toast (HX-Trigger); sent
without JavaScript it redirects back to the page, the message flashed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Response, g, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from startvora.core.audit import AuditEvent
from startvora.core.files import UploadError
from startvora.core.htmx import is_htmx, redirect_to, render, toast
from startvora.core.permissions import require
from startvora.core.tenancy import get_scoped_or_404
from startvora.extensions import db
from startvora.finance import expenses, services
from startvora.finance.blueprints import bp
from startvora.finance.expense_models import Expense, RecurringExpense
from startvora.finance.expense_views import common
from startvora.finance.expense_views.form import RECEIPT_ACCEPT, upload_of

HISTORY_LIMIT = 50


def history_labels() -> dict[str, str]:
    return {
        "finance.expense_created": _("Entered"),
        "finance.expense_changed": _("Changed"),
        "finance.receipt_attached": _("Receipt attached"),
        "finance.expense_approved": _("Approved"),
        "finance.expense_rejected": _("Rejected"),
        "finance.expense_reopened": _("Reopened"),
        "finance.bill_paid": _("Marked paid"),
    }


def history(expense: Expense) -> list[AuditEvent]:
    """What happened to the expense, newest first (from the audit log)."""
    return list(
        db.session.execute(
            db.select(AuditEvent)
            .where(
                AuditEvent.org_id == g.org.id,
                AuditEvent.target_type == Expense.__name__,
                AuditEvent.target_id == expense.id,
            )
            .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
            .limit(HISTORY_LIMIT)
        ).scalars()
    )


def _show(expense: Expense, status: int = 200, receipt_error: str = "") -> Response:
    today = services.today_of(g.org)
    schedule = (
        db.session.get(RecurringExpense, expense.recurring_id) if expense.recurring_id else None
    )
    return render(
        "finance/expenses/show.html",
        block="expense_page",
        status=status,
        expense=expense,
        state=expense.state(today),
        labels=common.state_labels(),
        kinds=common.kind_labels(),
        methods=common.method_labels(),
        vendor=common.party(expense.vendor_company_id, expense.vendor_contact_id),
        customer=common.party(expense.customer_company_id, expense.customer_contact_id),
        billed=expenses.billed_on(expense.id),
        schedule=schedule,
        events=history(expense),
        event_labels=history_labels(),
        today=today,
        accept=RECEIPT_ACCEPT,
        receipt_error=receipt_error,
    )


@bp.get("/expenses/<int:expense_id>")
@require("finance:view")
def expenses_show(expense_id: int) -> Any:
    """An expense: vendor, amounts, receipt, approval, payment, billing, history, actions."""
    return _show(get_scoped_or_404(Expense, expense_id))


def _done(expense: Expense, message: str, level: str = "success") -> Any:
    """The page again with a toast (htmx), or a redirect to it with the message flashed."""
    if is_htmx():
        return toast(_show(expense), message, level)
    return redirect_to(url_for("finance.expenses_show", expense_id=expense.id), message, level)


def _refused(expense: Expense, exc: expenses.FinanceError) -> Any:
    db.session.rollback()
    return _done(expense, str(exc.message), "error")


@bp.post("/expenses/<int:expense_id>/approve")
@require("finance:approve")
def expenses_approve(expense_id: int) -> Any:
    """Accept an expense: it counts in the reports from now on."""
    expense = get_scoped_or_404(Expense, expense_id)
    try:
        expenses.approve(g.org.id, current_user.id, expense)
    except expenses.FinanceError as exc:
        return _refused(expense, exc)
    db.session.commit()
    return _done(expense, _("Approved."))


@bp.post("/expenses/<int:expense_id>/reject")
@require("finance:approve")
def expenses_reject(expense_id: int) -> Any:
    """Send an expense back, saying why."""
    expense = get_scoped_or_404(Expense, expense_id)
    try:
        expenses.reject(g.org.id, current_user.id, expense, request.form.get("reason", ""))
    except expenses.FinanceError as exc:
        return _refused(expense, exc)
    db.session.commit()
    return _done(expense, _("Rejected. Whoever entered it can correct it."))


@bp.post("/expenses/<int:expense_id>/reopen")
@require("finance:approve")
def expenses_reopen(expense_id: int) -> Any:
    """Take an approved expense out of the reports so that it can be corrected."""
    expense = get_scoped_or_404(Expense, expense_id)
    try:
        expenses.reopen(g.org.id, current_user.id, expense)
    except expenses.FinanceError as exc:
        return _refused(expense, exc)
    db.session.commit()
    return _done(expense, _("Reopened: it waits for approval again."))


@bp.post("/expenses/<int:expense_id>/pay")
@require("finance:edit")
def expenses_pay(expense_id: int) -> Any:
    """Record that an approved vendor bill was paid, when and how."""
    expense = get_scoped_or_404(Expense, expense_id)
    try:
        paid_on = dt.date.fromisoformat(request.form.get("paid_on", "").strip())
    except ValueError:
        paid_on = None
    try:
        expenses.mark_paid(
            g.org.id, current_user.id, expense, paid_on, request.form.get("payment_method", "")
        )
    except expenses.FinanceError as exc:
        return _refused(expense, exc)
    db.session.commit()
    return _done(expense, _("The bill is marked paid."))


@bp.post("/expenses/<int:expense_id>/bill")
@require("finance:edit")
def expenses_bill(expense_id: int) -> Any:
    """Put the expense on the customer's draft invoice (a new draft when there is none)."""
    expense = get_scoped_or_404(Expense, expense_id)
    try:
        invoice = expenses.bill_expense(g.org.id, current_user.id, expense)
    except expenses.FinanceError as exc:
        return _refused(expense, exc)
    db.session.commit()
    return redirect_to(
        url_for("finance.invoices_show", invoice_id=invoice.id),
        _("The expense is on this draft invoice. Check it and issue it."),
    )


@bp.post("/expenses/<int:expense_id>/receipt")
@require("finance:edit")
def expenses_receipt(expense_id: int) -> Any:
    """Add or replace the photo or PDF of the receipt."""
    expense = get_scoped_or_404(Expense, expense_id)
    upload = upload_of()
    if upload is None:
        return _show(expense, 422, _("Choose the photo or PDF of the receipt."))
    replacing = expense.receipt is not None
    try:
        expenses.attach_receipt(g.org.id, current_user.id, expense, upload)
    except UploadError as exc:
        db.session.rollback()
        return _show(expense, 422, str(exc.message))
    db.session.commit()
    return _done(expense, _("Receipt replaced.") if replacing else _("Receipt attached."))


@bp.post("/expenses/<int:expense_id>/delete")
@require("finance:delete")
def expenses_delete(expense_id: int) -> Any:
    """Delete an expense that is not approved, with its receipt."""
    expense = get_scoped_or_404(Expense, expense_id)
    try:
        expenses.delete_expense(g.org.id, current_user.id, expense)
    except expenses.FinanceError as exc:
        return _refused(expense, exc)
    db.session.commit()
    return redirect_to(url_for("finance.expenses_index"), _("Expense deleted."))
