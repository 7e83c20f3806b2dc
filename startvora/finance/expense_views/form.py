"""The expense form: an expense or a vendor bill, its vendor, amount and tax, payment, billing
on to a customer, and the receipt, uploaded with the form and kept once the expense is saved.

Changing the kind, currency, tax or billing posts the fields back (not the receipt) and the
server shows them again with what depends on them (htmx swaps them; without JavaScript the
"Update" button does the same).
"""

from __future__ import annotations

from typing import Any

from flask import g, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.datastructures import FileStorage

from startvora.core.files import UploadError
from startvora.core.forms import FORM_ERROR, FormErrors
from startvora.core.htmx import is_htmx, redirect_to, render
from startvora.core.permissions import require
from startvora.core.tenancy import get_scoped_or_404
from startvora.extensions import db
from startvora.finance import expenses
from startvora.finance.blueprints import bp
from startvora.finance.expense_models import Expense
from startvora.finance.expense_views import common
from startvora.finance.invoice_views.common import customers_like

RECEIPT_ACCEPT = "image/png,image/jpeg,image/gif,image/webp,application/pdf"


def upload_of(name: str = "receipt") -> FileStorage | None:
    """The file posted in a file field, or None when none was chosen."""
    upload = request.files.get(name)
    return upload if upload is not None and upload.filename else None


def _page(
    expense: Expense | None,
    values: dict[str, Any],
    errors: FormErrors,
    status: int = 200,
    block: str = "expense_form",
    preview: Any = None,
    upload: FileStorage | None = None,
) -> Any:
    currency = values.get("currency") or g.org.currency
    if preview is None:
        preview = common.preview(values, common.number_context(currency))
    return render(
        "finance/expenses/form.html",
        block=block,
        status=status,
        obj=expense,
        values=values,
        errors=errors,
        preview=preview,
        currency=currency,
        org_currency=g.org.currency,
        currencies=common.currencies(currency),
        rates=common.tax_rates(values.get("tax_rate_id")),
        categories=common.categories(),
        kinds=common.kind_labels(),
        methods=list(common.method_labels().items()),
        accept=RECEIPT_ACCEPT,
        sent_file=upload.filename if upload is not None else "",
    )


def _submit(expense: Expense | None) -> Any:
    values = common.read_form()
    if request.form.get("action") == "refresh":
        # Only the fields are shown again; the receipt input stays as it is.
        block = "expense_fields" if is_htmx() else "expense_form"
        return _page(expense, values, FormErrors(), block=block)
    upload = upload_of()
    was_rejected = expense is not None and expense.status == "rejected"
    data, errors, preview = common.check(values)
    if data is not None:
        try:
            saved = expenses.save_expense(g.org.id, current_user.id, data, expense)
            if upload is not None:
                expenses.attach_receipt(g.org.id, current_user.id, saved, upload)
        except expenses.FinanceError as exc:
            db.session.rollback()
            errors[exc.field if exc.field in values else FORM_ERROR] = str(exc.message)
        except UploadError as exc:
            db.session.rollback()
            errors["receipt"] = str(exc.message)
        else:
            db.session.commit()
            message = _("Expense saved.") if expense is not None else _("Expense entered.")
            if was_rejected:
                message = _("Saved. It waits for approval again.")
            return redirect_to(url_for("finance.expenses_show", expense_id=saved.id), message)
    if FORM_ERROR not in errors:
        errors[FORM_ERROR] = _("Nothing is saved yet: correct the marked fields.")
    return _page(expense, values, errors, 422, preview=preview, upload=upload)


@bp.route("/expenses/new", methods=["GET", "POST"])
@require("finance:edit")
def expenses_new() -> Any:
    """Enter an expense with its receipt, or a vendor's bill (?kind=bill)."""
    if request.method == "POST":
        return _submit(None)
    values = common.blank_values()
    if request.args.get("kind") == "bill":
        values |= {"kind": "bill", "payment_method": "bank_transfer"}
    return _page(None, values, FormErrors())


@bp.route("/expenses/<int:expense_id>/edit", methods=["GET", "POST"])
@require("finance:edit")
def expenses_edit(expense_id: int) -> Any:
    """Change an expense waiting for approval or rejected (it then waits for approval again)."""
    expense = get_scoped_or_404(Expense, expense_id)
    if expense.status == "approved":
        return redirect_to(
            url_for("finance.expenses_show", expense_id=expense.id),
            _("This expense is approved. Reopen it before changing it."),
            "error",
        )
    if request.method == "POST":
        return _submit(expense)
    return _page(expense, common.values_of(expense), FormErrors())


@bp.get("/expenses/lookup")
@require("finance:view")
def expenses_lookup() -> Any:
    """Suggestions for the vendor or the customer field (a datalist's options)."""
    field = request.args.get("field", "")
    term = request.args.get("customer" if field == "customer" else "vendor", "")
    return render("finance/expenses/_options.html", options=customers_like(term))
