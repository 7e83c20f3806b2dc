"""Recurring expenses: the schedules (rent, subscriptions), setting one up or changing it,
and stopping it. Each expense a schedule enters is approved as it is made."""

from __future__ import annotations

from typing import Any

from flask import g, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from startvora.core.forms import FORM_ERROR, FormErrors
from startvora.core.htmx import is_htmx, redirect_to, render
from startvora.core.permissions import require
from startvora.core.tenancy import get_scoped_or_404
from startvora.extensions import db
from startvora.finance import expenses, recurring
from startvora.finance.blueprints import bp
from startvora.finance.expense_models import RecurringExpense
from startvora.finance.expense_views import common
from startvora.finance.schemas import RecurringExpenseIn


@bp.get("/expenses/recurring")
@require("finance:view")
def expenses_recurring_index() -> Any:
    """The schedules: vendor, amount, how often, the next date, how many were entered."""
    schedules = list(
        db.session.execute(
            db.select(RecurringExpense).order_by(
                RecurringExpense.active.desc(),
                RecurringExpense.next_date,
                RecurringExpense.id,
            )
        ).scalars()
    )
    return render(
        "finance/expenses/recurring.html",
        schedules=schedules,
        frequencies=recurring.frequency_labels(),
        kinds=common.kind_labels(),
    )


def _page(
    schedule: RecurringExpense | None,
    values: dict[str, Any],
    errors: FormErrors,
    status: int = 200,
    block: str = "recurring_form",
    preview: Any = None,
) -> Any:
    currency = values.get("currency") or g.org.currency
    if preview is None:
        preview = common.preview(values, common.number_context(currency))
    return render(
        "finance/expenses/recurring_form.html",
        block=block,
        status=status,
        obj=schedule,
        values=values,
        errors=errors,
        preview=preview,
        currency=currency,
        org_currency=g.org.currency,
        currencies=common.currencies(currency),
        rates=common.tax_rates(values.get("tax_rate_id")),
        categories=common.categories(),
        kinds=common.kind_labels(),
        frequencies=list(recurring.frequency_labels().items()),
    )


def _submit(schedule: RecurringExpense | None) -> Any:
    values = common.read_form(recurring=True)
    if schedule is not None:  # the dates already made stay as they were
        values["spent_on"] = schedule.start_date.isoformat()
    if request.form.get("action") == "refresh":
        block = "recurring_fields" if is_htmx() else "recurring_form"
        return _page(schedule, values, FormErrors(), block=block)
    data, errors, preview = common.check(values, RecurringExpenseIn)
    if data is not None:
        try:
            saved = expenses.save_recurring(g.org.id, current_user.id, data, schedule)
        except expenses.FinanceError as exc:
            db.session.rollback()
            errors[exc.field if exc.field in values else FORM_ERROR] = str(exc.message)
        else:
            db.session.commit()
            if saved.next_date is None:
                message = _("Saved. The schedule has no date left, so it is finished.")
            else:
                from startvora.core.i18n import date_filter

                message = _("Saved. The next expense is entered on %(date)s.",
                            date=date_filter(saved.next_date))  # fmt: skip
            return redirect_to(url_for("finance.expenses_recurring_index"), message)
    if FORM_ERROR not in errors:
        errors[FORM_ERROR] = _("Nothing is saved yet: correct the marked fields.")
    return _page(schedule, values, errors, 422, preview=preview)


@bp.route("/expenses/recurring/new", methods=["GET", "POST"])
@require("finance:edit")
def expenses_recurring_new() -> Any:
    """Set up an expense entered again every week, month, quarter or year."""
    if request.method == "POST":
        return _submit(None)
    values = common.blank_values() | {"frequency": "monthly", "end_date": "", "max_count": "",
                                      "due_days": ""}  # fmt: skip
    if request.args.get("kind") == "bill":
        values |= {"kind": "bill", "due_days": "14"}
    return _page(None, values, FormErrors())


@bp.route("/expenses/recurring/<int:schedule_id>/edit", methods=["GET", "POST"])
@require("finance:edit")
def expenses_recurring_edit(schedule_id: int) -> Any:
    """Change a running schedule: what it enters from the next date on."""
    schedule = get_scoped_or_404(RecurringExpense, schedule_id)
    if not schedule.active:
        return redirect_to(
            url_for("finance.expenses_recurring_index"),
            _("This schedule is stopped. Set up a new one instead."),
            "error",
        )
    if request.method == "POST":
        return _submit(schedule)
    return _page(schedule, common.values_of(schedule), FormErrors())


@bp.post("/expenses/recurring/<int:schedule_id>/stop")
@require("finance:edit")
def expenses_recurring_stop(schedule_id: int) -> Any:
    """Stop a schedule; the expenses it entered stay."""
    schedule = get_scoped_or_404(RecurringExpense, schedule_id)
    expenses.stop_recurring(g.org.id, current_user.id, schedule)
    db.session.commit()
    return redirect_to(
        url_for("finance.expenses_recurring_index"),
        _("The schedule is stopped. Nothing more is entered."),
    )
