"""Export of the expenses list as shown (filtered, searched, sorted) to CSV or XLSX."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

from flask import Response, g, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from startvora.core import audit, listview, money
from startvora.core import importer as imp
from startvora.core.permissions import require
from startvora.crm.models import Company, Contact
from startvora.extensions import db
from startvora.finance import services
from startvora.finance.blueprints import bp
from startvora.finance.expense_models import Expense
from startvora.finance.expense_views.common import kind_labels, method_labels, state_labels
from startvora.finance.expense_views.listing import expense_list_spec, list_args


def _names(model: Any, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = db.session.execute(db.select(model).where(model.id.in_(ids))).scalars()
    return {row.id: row.display_name for row in rows}


def export_table(rows: list[Expense]) -> tuple[list[Any], list[list[Any]]]:
    """Header and rows of an expenses export: amounts as decimals, dates as dates."""
    base = g.org.currency
    companies = _names(Company, {r.customer_company_id for r in rows if r.customer_company_id})
    contacts = _names(Contact, {r.customer_contact_id for r in rows if r.customer_contact_id})
    today = services.today_of(g.org)
    states, kinds, methods = state_labels(), kind_labels(), method_labels()
    header = [
        _("Date"), _("Type"), _("Vendor"), _("Bill number"), _("Category"), _("Description"),
        _("Currency"), _("Net"), _("Tax"), _("Tax rate"), _("Total"), _("Exchange rate"),
        _("Net (%(currency)s)", currency=base), _("Tax (%(currency)s)", currency=base),
        _("Status"), _("Due date"), _("Paid on"), _("Payment method"), _("Billable"),
        _("Customer"), _("Receipt"),
    ]  # fmt: skip

    def amount(minor: int, currency: str) -> str:
        return str(money.from_minor(minor, currency))

    table = [
        [
            r.spent_on, str(kinds[r.kind]), r.vendor_name, r.bill_number, r.category,
            r.description, r.currency, amount(r.net_minor, r.currency),
            amount(r.tax_minor, r.currency), r.tax_name, amount(r.total_minor, r.currency),
            str(r.exchange_rate), amount(r.base_net_minor, base), amount(r.base_tax_minor, base),
            str(states[r.state(today)]), r.due_date, r.paid_on,
            str(methods.get(r.payment_method, r.payment_method)), _("Yes") if r.billable else "",
            companies.get(r.customer_company_id or 0) or contacts.get(r.customer_contact_id or 0)
            or "", r.receipt.filename if r.receipt else "",
        ]
        for r in rows
    ]  # fmt: skip
    return header, table


@bp.get("/expenses/export")
@require("finance:view")
def expenses_export() -> Response:
    """The list as filtered, searched and sorted on screen, as CSV or XLSX."""
    args = list_args()
    spec = expense_list_spec(args)
    state = listview.read_state(spec, args)
    sort = next(c.sort for c in spec.columns if c.key == state.sort)
    assert sort is not None
    order = (sort.desc(), spec.id.desc()) if state.desc else (sort.asc(), spec.id.asc())
    records = list(
        db.session.execute(listview.filtered(spec, state).order_by(*order)).unique().scalars()
    )
    header, rows = export_table(records)
    fmt = "xlsx" if request.args.get("format") == "xlsx" else "csv"
    response = imp.export_rows(str(_("Expenses")), header, rows, fmt)
    audit.record(
        "finance.expenses_exported", org=g.org.id, actor=current_user,
        summary=_("%(n)d rows, %(format)s", n=len(records), format=fmt.upper()),
        rows=len(records), format=fmt, filters=state.params(),
    )  # fmt: skip
    db.session.commit()
    return response


@bp.get("/expenses/export-menu")
@require("finance:view")
def expenses_export_menu() -> str:
    """The export links for the filters in the browser's address now (the list changes it)."""
    current = urlsplit(request.headers.get("HX-Current-URL", ""))
    on_list = current.path == url_for("finance.expenses_index")
    args = MultiDict(parse_qsl(current.query)) if on_list else MultiDict()
    params = listview.read_state(expense_list_spec(args), args).params()
    return render_template("finance/expenses/_export_items.html", params=params)
