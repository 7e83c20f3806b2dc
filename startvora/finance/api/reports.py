"""Finance reports in the API, with the same parameters and figures as the report pages.

Amounts are in the organization's currency, both ways: `total` ("1250.50") and `total_minor`
(125050). Ranges are whole months, as on the pages: `range` (this_month, last_month,
this_quarter, this_year, last_year) or `start` and `end` (YYYY-MM-DD); the default is this year.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from flask import g, request
from pydantic import BaseModel

from startvora.core import money
from startvora.core.api import ApiError, endpoint
from startvora.extensions import db
from startvora.finance import reports, services

RANGE_QUERY = (
    ("range", "string", "this_month, last_month, this_quarter, this_year (default), last_year"),
    ("start", "string", "first day, YYYY-MM-DD (taken as its month's first day)"),
    ("end", "string", "last day, YYYY-MM-DD (taken as its month's last day); 10 years at most"),
)
TAG = "Finance reports"


# -- answers -----------------------------------------------------------------------------------


class PeriodOut(BaseModel):
    start: dt.date
    end: dt.date
    label: str
    partial: bool


class LineOut(BaseModel):
    key: str  # sales, cogs, gross_profit, expense, total_expenses, net_profit
    label: str
    amounts: list[str]
    amounts_minor: list[int]
    total: str
    total_minor: int


class ProfitAndLossOut(BaseModel):
    start: dt.date
    end: dt.date
    by: str
    currency: str
    periods: list[PeriodOut]
    lines: list[LineOut]


class AgingRowOut(BaseModel):
    customer: str  # "company:ID", "contact:ID"
    name: str
    buckets: dict[str, str]  # current, 1_30, 31_60, 61_90, over_90 (days past due)
    buckets_minor: dict[str, int]
    total: str
    total_minor: int
    open_invoices: int


class AgingOut(BaseModel):
    as_of: dt.date
    currency: str
    customers: list[AgingRowOut]
    totals: dict[str, str]
    totals_minor: dict[str, int]
    total: str
    total_minor: int
    open_invoices: int


class TaxRowOut(BaseModel):
    name: str
    rate: Decimal | None  # percent; none on the total
    sales_basis: str
    sales_basis_minor: int
    collected: str
    collected_minor: int
    purchases_basis: str
    purchases_basis_minor: int
    paid: str
    paid_minor: int
    net: str
    net_minor: int


class TaxSummaryOut(BaseModel):
    start: dt.date
    end: dt.date
    currency: str
    rates: list[TaxRowOut]
    total: TaxRowOut


class ShareOut(BaseModel):
    key: str
    label: str
    amount: str
    amount_minor: int
    count: int
    share: Decimal | None  # of the total, 0 to 1


class ShareReportOut(BaseModel):
    start: dt.date
    end: dt.date
    currency: str
    items: list[ShareOut]
    total: str
    total_minor: int
    count: int


class CashMonthOut(BaseModel):
    month: dt.date
    label: str
    amounts: dict[str, str]  # per payment method
    amounts_minor: dict[str, int]
    total: str
    total_minor: int


class CashOut(BaseModel):
    start: dt.date
    end: dt.date
    currency: str
    methods: list[ShareOut]
    months: list[CashMonthOut]
    total: str
    total_minor: int
    count: int


# -- reading the parameters ----------------------------------------------------------------------


def _filters(kind: str) -> reports.Filters:
    """The page's rules for the query parameters; a 400 problem naming what is wrong."""
    today = services.today_of(g.org)
    filters, errors = reports.read_filters(request.args, today, g.org.fiscal_year_start or 1, kind)
    if errors:
        raise ApiError(400, " ".join(f"`{k}`: {v}" for k, v in errors.items()))
    if reports.ensure_built(g.org.id):
        db.session.flush()  # committed by the endpoint with the token's last use
    return filters


def _both(name: str, minor: int, currency: str) -> dict[str, Any]:
    return {name: format(money.from_minor(minor, currency), "f"), f"{name}_minor": minor}


def _share(row: reports.ShareRow, currency: str) -> dict[str, Any]:
    return {"key": row.key, "label": row.label, "count": row.count, "share": row.share,
            **_both("amount", row.amount, currency)}  # fmt: skip


def _share_report(report: reports.ShareReport) -> dict[str, Any]:
    cur = report.currency
    return {
        "start": report.start, "end": report.end, "currency": cur,
        "items": [_share(r, cur) for r in report.rows], "count": report.count,
        **_both("total", report.total, cur),
    }  # fmt: skip


# -- endpoints -----------------------------------------------------------------------------------


@endpoint(
    "/reports/profit-and-loss",
    summary="Profit and loss: sales, costs and net profit by month, quarter or year",
    response=ProfitAndLossOut, permission="finance:view", tag=TAG,
    query=(*RANGE_QUERY, ("by", "string", "month (default), quarter or year")),
)  # fmt: skip
def profit_and_loss_report() -> Any:
    """Sales, costs and net profit per period of the range and in total."""
    filters = _filters("pnl")
    report = reports.profit_and_loss(g.org.id, filters.start, filters.end, filters.by)
    cur = report.currency
    return {
        "start": report.start, "end": report.end, "by": report.by, "currency": cur,
        "periods": report.periods,
        "lines": [
            {"key": line.key, "label": line.label,
             "amounts": [format(money.from_minor(a, cur), "f") for a in line.amounts],
             "amounts_minor": list(line.amounts), **_both("total", line.total, cur)}
            for line in report.lines
        ],
    }  # fmt: skip


@endpoint(
    "/reports/receivables-aging",
    summary="Receivables aging: what each customer owes, by days past due",
    response=AgingOut, permission="finance:view", tag=TAG,
    query=(("as_of", "string", "the day, YYYY-MM-DD (default today; not after today)"),),
)  # fmt: skip
def receivables_aging_report() -> Any:
    """Balances due per customer on a day, by days past due."""
    filters = _filters("aging")
    report = reports.receivables_aging(g.org.id, filters.as_of or services.today_of(g.org))
    cur = report.currency

    def buckets(values: tuple[int, ...]) -> dict[str, Any]:
        return {
            "buckets": {b: format(money.from_minor(v, cur), "f")
                        for b, v in zip(reports.BUCKETS, values, strict=True)},
            "buckets_minor": dict(zip(reports.BUCKETS, values, strict=True)),
        }  # fmt: skip

    totals = buckets(report.totals)
    return {
        "as_of": report.as_of, "currency": cur,
        "customers": [
            {"customer": r.key, "name": r.label, "open_invoices": r.count,
             **buckets(r.buckets), **_both("total", r.total, cur)}
            for r in report.rows
        ],
        "totals": totals["buckets"], "totals_minor": totals["buckets_minor"],
        "open_invoices": report.count, **_both("total", report.total, cur),
    }  # fmt: skip


@endpoint(
    "/reports/tax-summary",
    summary="Tax summary: tax collected and paid per rate, and the net",
    response=TaxSummaryOut, permission="finance:view", tag=TAG, query=RANGE_QUERY,
)  # fmt: skip
def tax_summary_report() -> Any:
    """Tax collected and paid per rate over the range, and the net."""
    filters = _filters("range")
    report = reports.tax_summary(g.org.id, filters.start, filters.end)
    cur = report.currency

    def row(r: reports.TaxRow) -> dict[str, Any]:
        fields = ("sales_basis", "collected", "purchases_basis", "paid", "net")
        amounts = {k: v for f in fields for k, v in _both(f, getattr(r, f), cur).items()}
        return {"name": r.name, "rate": r.rate, **amounts}

    return {
        "start": report.start, "end": report.end, "currency": cur,
        "rates": [row(r) for r in report.rows], "total": row(report.total),
    }  # fmt: skip


@endpoint(
    "/reports/revenue-by-customer",
    summary="Net sales per customer, largest first, with each one's share",
    response=ShareReportOut, permission="finance:view", tag=TAG, query=RANGE_QUERY,
)  # fmt: skip
def revenue_by_customer_report() -> Any:
    """Net sales per customer over the range, with shares."""
    filters = _filters("range")
    return _share_report(reports.revenue_by_customer(g.org.id, filters.start, filters.end))


@endpoint(
    "/reports/revenue-by-product",
    summary="Net sales per product, largest first, with each one's share",
    response=ShareReportOut, permission="finance:view", tag=TAG, query=RANGE_QUERY,
)  # fmt: skip
def revenue_by_product_report() -> Any:
    """Net sales per product over the range, with shares."""
    filters = _filters("range")
    return _share_report(reports.revenue_by_product(g.org.id, filters.start, filters.end))


@endpoint(
    "/reports/expenses-by-category",
    summary="Approved expenses per category, largest first, with each one's share",
    response=ShareReportOut, permission="finance:view", tag=TAG, query=RANGE_QUERY,
)  # fmt: skip
def expenses_by_category_report() -> Any:
    """Approved expenses per category over the range, with shares."""
    filters = _filters("range")
    return _share_report(reports.expenses_by_category(g.org.id, filters.start, filters.end))


@endpoint(
    "/reports/cash-received",
    summary="Money received by payment method and by month",
    response=CashOut, permission="finance:view", tag=TAG, query=RANGE_QUERY,
)  # fmt: skip
def cash_received_report() -> Any:
    """Money received per payment method and per month over the range."""
    filters = _filters("range")
    report = reports.cash_received(g.org.id, filters.start, filters.end)
    cur = report.currency
    keys = [m.key for m in report.methods]
    return {
        "start": report.start, "end": report.end, "currency": cur,
        "methods": [_share(m, cur) for m in report.methods],
        "months": [
            {"month": m.month, "label": m.label,
             "amounts": {k: format(money.from_minor(a, cur), "f")
                         for k, a in zip(keys, m.amounts, strict=True)},
             "amounts_minor": dict(zip(keys, m.amounts, strict=True)),
             **_both("total", m.total, cur)}
            for m in report.months
        ],
        "count": report.count, **_both("total", report.total, cur),
    }  # fmt: skip
