"""What the report pages share: the reports offered, reading their filters, building them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from flask import Response, g, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from startvora.core.htmx import render
from startvora.extensions import db
from startvora.finance import reports, services
from startvora.finance.reports import Filters

PAGE_LIMIT = 50  # customers, products or categories on a page; the exports list them all


@dataclass(frozen=True)
class Report:
    """A report offered on the index: its page, its kind of filters, its template."""

    name: str  # the endpoint is finance.reports_<name>
    title: Any
    summary: Any
    icon: str
    kind: str  # "pnl" (range and columns), "range" or "aging" (a day)
    template: str

    @property
    def slug(self) -> str:
        """In URLs, the same as in the API: "profit-and-loss"."""
        return self.name.replace("_", "-")

    @property
    def endpoint(self) -> str:
        return f"finance.reports_{self.name}"


REPORTS: dict[str, Report] = {
    r.name: r
    for r in (
        Report("profit_and_loss", _l("Profit and loss"),
               _l("Sales, costs and net profit by month, quarter or year."),
               "chart-column", "pnl", "finance/reports/profit_and_loss.html"),
        Report("receivables_aging", _l("Receivables aging"),
               _l("What customers owe, by how long it is overdue."),
               "clock", "aging", "finance/reports/aging.html"),
        Report("tax_summary", _l("Tax summary"),
               _l("Tax collected on sales and paid on expenses, per rate."),
               "percent", "range", "finance/reports/tax.html"),
        Report("revenue_by_customer", _l("Revenue by customer"),
               _l("Net sales per customer, credit notes taken off."),
               "users", "range", "finance/reports/shares.html"),
        Report("revenue_by_product", _l("Revenue by product"),
               _l("Net sales per product and service."),
               "package", "range", "finance/reports/shares.html"),
        Report("expenses_by_category", _l("Expenses by category"),
               _l("Approved expenses, net of tax, per category."),
               "wallet", "range", "finance/reports/shares.html"),
        Report("cash_received", _l("Cash received"),
               _l("Money received by month and payment method, refunds taken off."),
               "banknote", "range", "finance/reports/cash.html"),
    )
}  # fmt: skip
BY_SLUG = {r.slug: r for r in REPORTS.values()}


def today() -> dt.date:
    """The organization's today (its time zone)."""
    return services.today_of(g.org)


def read(report: Report) -> tuple[Filters, dict[str, str]]:
    """The report's filters from the query string, and a message per wrong parameter."""
    return reports.read_filters(request.args, today(), g.org.fiscal_year_start or 1, report.kind)


def build(report: Report, filters: Filters, limit: int | None) -> Any:
    """The report's figures (totals computed first for a database that has none yet); `limit`
    customers, products or categories one by one, the others on one line (None: all)."""
    org_id = g.org.id
    if reports.ensure_built(org_id):
        db.session.commit()
    if report.name == "profit_and_loss":
        return reports.profit_and_loss(org_id, filters.start, filters.end, filters.by)
    if report.name == "receivables_aging":
        return reports.receivables_aging(org_id, filters.as_of or today(), limit)
    if report.name == "tax_summary":
        return reports.tax_summary(org_id, filters.start, filters.end)
    if report.name == "cash_received":
        return reports.cash_received(org_id, filters.start, filters.end)
    shares = {
        "revenue_by_customer": reports.revenue_by_customer,
        "revenue_by_product": reports.revenue_by_product,
        "expenses_by_category": reports.expenses_by_category,
    }
    return shares[report.name](org_id, filters.start, filters.end, limit)


def caption(report: Report, filters: Filters) -> str:
    """What the figures cover: "Jan 1 – Mar 31, 2026" or "As of Mar 31, 2026"."""
    if report.kind == "aging":
        from startvora.core.i18n import date_filter

        return _("As of %(date)s", date=date_filter(filters.as_of or today()))
    return reports.range_label(filters.start, filters.end)


def preset_links(report: Report, filters: Filters) -> list[tuple[str, str, bool]]:
    """(label, URL, current) of each preset range, keeping the columns chosen."""
    labels = {
        "this_month": _("This month"),
        "last_month": _("Last month"),
        "this_quarter": _("This quarter"),
        "this_year": _("This year"),
        "last_year": _("Last year"),
    }
    links = []
    for key in reports.PRESETS:
        start, end = reports.preset_range(key, today(), g.org.fiscal_year_start or 1)
        params = {"range": key, **({"by": filters.by} if report.kind == "pnl" else {})}
        current = (start, end) == (filters.start, filters.end)
        links.append((labels[key], url_for(report.endpoint, **params), current))
    return links


def by_links(report: Report, filters: Filters) -> list[tuple[str, str, bool]]:
    """(label, URL, current) of months, quarters and years as the columns, keeping the range."""
    labels = {"month": _("Months"), "quarter": _("Quarters"), "year": _("Years")}
    params = {k: v for k, v in filters.params(report.kind).items() if k != "by"}
    return [
        (labels[by], url_for(report.endpoint, **params, by=by), by == filters.by)
        for by in reports.GRANULARITIES
    ]


def export_links(report: Report, filters: Filters) -> list[tuple[str, str, str]]:
    """(label, icon, URL) of the report's exports with the filters shown."""
    params = filters.params(report.kind)
    return [
        (label, icon, url_for("finance.reports_export", report=report.slug, format=fmt, **params))
        for fmt, label, icon in (
            ("csv", _("CSV file"), "download"),
            ("xlsx", _("Excel workbook (.xlsx)"), "download"),
            ("pdf", _("PDF"), "printer"),
        )
    ]


def show(name: str) -> Response:
    """A report's page, or only its report region for htmx; 422 with messages for bad filters."""
    report = REPORTS[name]
    filters, errors = read(report)
    data = None if errors else build(report, filters, PAGE_LIMIT)
    if errors:  # typed values stay as typed, so that they can be corrected
        values = {k: request.args.get(k, "") for k in ("start", "end", "as_of")}
    else:
        values = {
            "start": filters.start.isoformat(),
            "end": filters.end.isoformat(),
            "as_of": (filters.as_of or today()).isoformat(),
        }
    return render(
        report.template,
        block="report",
        status=422 if errors else 200,
        report=report,
        filters=filters,
        errors=errors,
        data=data,
        values=values,
        today=today(),
        caption=_("Correct the period below.") if errors else caption(report, filters),
        presets=preset_links(report, filters) if report.kind != "aging" else [],
        columns=by_links(report, filters) if report.kind == "pnl" else [],
        exports=[] if errors else export_links(report, filters),
        limit=PAGE_LIMIT,
    )
