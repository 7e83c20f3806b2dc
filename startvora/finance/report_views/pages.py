"""The reports' index and one page per report, each with its filters (a fragment for htmx)."""

from __future__ import annotations

from typing import Any

from flask import Response, g
from flask_babel import gettext as _

from startvora.core.htmx import render
from startvora.core.permissions import require
from startvora.extensions import db
from startvora.finance import reports
from startvora.finance.blueprints import bp
from startvora.finance.report_views.common import REPORTS, show, today


@bp.get("/reports")
@require("finance:view")
def reports_index() -> Response:
    """Every report, each with a figure of this year (or of today) to start from."""
    org_id = g.org.id
    if reports.ensure_built(org_id):
        db.session.commit()
    day = today()
    start, end = reports.preset_range("this_year", day, g.org.fiscal_year_start or 1)
    pnl = reports.profit_and_loss(org_id, start, end, "year")
    aging = reports.receivables_aging(org_id, day, limit=0)
    customer = reports.revenue_by_customer(org_id, start, end, limit=1)
    product = reports.revenue_by_product(org_id, start, end, limit=1)
    figures: dict[str, list[tuple[Any, int]]] = {
        "profit_and_loss": [
            (_("Sales"), pnl.line("sales").total),
            (_("Net profit"), pnl.line("net_profit").total),
        ],
        "receivables_aging": [
            (_("Owed to you today"), aging.total),
            (_("Overdue"), aging.total - aging.totals[0]),
        ],
        "tax_summary": [(_("Net tax"), reports.tax_summary(org_id, start, end).total.net)],
        "revenue_by_customer": [(r.label, r.amount) for r in customer.rows],
        "revenue_by_product": [(r.label, r.amount) for r in product.rows],
        "expenses_by_category": [
            (_("Expenses"), reports.expenses_by_category(org_id, start, end, limit=0).total)
        ],
        "cash_received": [(_("Received"), reports.cash_received(org_id, start, end).total)],
    }
    return render(
        "finance/reports/index.html",
        reports=REPORTS.values(),
        figures=figures,
        year=reports.range_label(start, end),
    )


@bp.get("/reports/profit-and-loss")
@require("finance:view")
def reports_profit_and_loss() -> Response:
    """Sales, costs and net profit for each month, quarter or year of a range."""
    return show("profit_and_loss")


@bp.get("/reports/receivables-aging")
@require("finance:view")
def reports_receivables_aging() -> Response:
    """What each customer owes on a day, by how many days it is past due."""
    return show("receivables_aging")


@bp.get("/reports/tax-summary")
@require("finance:view")
def reports_tax_summary() -> Response:
    """Tax collected and paid per rate over a range, and the net."""
    return show("tax_summary")


@bp.get("/reports/revenue-by-customer")
@require("finance:view")
def reports_revenue_by_customer() -> Response:
    """Net sales per customer over a range, largest first, with each one's share."""
    return show("revenue_by_customer")


@bp.get("/reports/revenue-by-product")
@require("finance:view")
def reports_revenue_by_product() -> Response:
    """Net sales per product over a range, largest first, with each one's share."""
    return show("revenue_by_product")


@bp.get("/reports/expenses-by-category")
@require("finance:view")
def reports_expenses_by_category() -> Response:
    """Approved expenses per category over a range, largest first, with each one's share."""
    return show("expenses_by_category")


@bp.get("/reports/cash-received")
@require("finance:view")
def reports_cash_received() -> Response:
    """Money received over a range, by payment method and by month."""
    return show("cash_received")
