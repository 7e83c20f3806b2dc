"""Expenses billed on to customers from a draft invoice's page."""

from __future__ import annotations

from typing import Any

from flask import g, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from startvora.core.htmx import redirect_to
from startvora.core.permissions import require
from startvora.core.tenancy import get_scoped_or_404
from startvora.extensions import db
from startvora.finance import expenses, services
from startvora.finance.blueprints import bp
from startvora.finance.models import Invoice


@bp.post("/invoices/<int:invoice_id>/add-expenses")
@require("finance:edit")
def invoices_add_expenses(invoice_id: int) -> Any:
    """Add a line for each of the customer's approved billable expenses not invoiced yet."""
    invoice = get_scoped_or_404(Invoice, invoice_id)
    back = url_for("finance.invoices_show", invoice_id=invoice.id)
    waiting = expenses.unbilled(invoice.company_id, invoice.contact_id)
    if not waiting:
        return redirect_to(back, _("Every billable expense of this customer is invoiced."))
    try:
        expenses.add_to_invoice(g.org.id, current_user.id, invoice, waiting)
    except services.FinanceError as exc:
        db.session.rollback()
        return redirect_to(back, str(exc.message), "error")
    db.session.commit()
    message = ngettext("%(num)d expense added.", "%(num)d expenses added.", len(waiting))
    return redirect_to(back, message)
