"""Each report as one plain table (a sheet), the same for its CSV, XLSX and PDF exports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _

from startvora.finance import reports

MONEY, SHARE, RATE, COUNT, TEXT = "money", "share", "rate", "count", "text"


@dataclass(frozen=True)
class Column:
    label: str
    kind: str = MONEY  # money (minor units), share (0-1), rate (percent), count or text


@dataclass(frozen=True)
class Row:
    cells: tuple[Any, ...]
    style: str = ""  # "", "subtotal", "total", or "heading" (a label alone)


@dataclass(frozen=True)
class Sheet:
    title: str
    caption: str
    currency: str
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]


def _in(currency: str) -> str:
    return _("Amounts in %(currency)s", currency=currency)


def profit_and_loss(report: reports.ProfitAndLoss) -> tuple[list[Column], list[Row]]:
    """A line per row, a column per period and the total; expenses under a heading."""
    columns = [Column(_in(report.currency), TEXT)]
    columns += [Column(p.label) for p in report.periods] + [Column(_("Total"))]
    rows: list[Row] = []
    for line in report.lines:
        expenses_start = line.key in ("expense", "total_expenses")
        if expenses_start and not any(r.style == "heading" for r in rows):
            rows.append(Row((_("Expenses"),), "heading"))
        rows.append(Row((line.label, *line.amounts, line.total), line.style))
    return columns, rows


def receivables_aging(report: reports.Aging) -> tuple[list[Column], list[Row]]:
    """A customer per row, a column per bucket, the total and the open invoices."""
    columns = [Column(_("Customer"), TEXT), *(Column(label) for label in bucket_labels())]
    columns += [Column(_("Total")), Column(_("Open invoices"), COUNT)]
    rows = [Row((r.label, *r.buckets, r.total, r.count)) for r in report.rows]
    if report.others is not None:
        o = report.others
        rows.append(Row((_("%(n)d other customers", n=report.others_count), *o.buckets, o.total,
                         o.count)))  # fmt: skip
    rows.append(Row((_("Total"), *report.totals, report.total, report.count), "total"))
    return columns, rows


def bucket_labels() -> list[str]:
    """The aging buckets' names, by days past due."""
    return [_("Current"), _("1–30 days"), _("31–60 days"), _("61–90 days"), _("Over 90 days")]


def tax_summary(report: reports.TaxSummary) -> tuple[list[Column], list[Row]]:
    """A rate per row: taxable amounts and tax on both sides, and the net."""
    columns = [
        Column(_("Tax"), TEXT), Column(_("Rate"), RATE), Column(_("Taxable sales")),
        Column(_("Tax collected")), Column(_("Taxable purchases")), Column(_("Tax paid")),
        Column(_("Net tax")),
    ]  # fmt: skip

    def cells(r: reports.TaxRow, rate: Any) -> tuple[Any, ...]:
        return (r.name, rate, r.sales_basis, r.collected, r.purchases_basis, r.paid, r.net)

    rows = [Row(cells(r, r.rate)) for r in report.rows]
    rows.append(Row(cells(report.total, None), "total"))
    return columns, rows


def _shares(
    report: reports.ShareReport, label: str, amount: str, count: str | None
) -> tuple[list[Column], list[Row]]:
    columns = [Column(label, TEXT), Column(amount), Column(_("Share"), SHARE)]
    columns += [Column(count, COUNT)] if count else []

    def cells(first: str, r: Any, share: Any) -> tuple[Any, ...]:
        return (first, r.amount, share, *((r.count,) if count else ()))

    rows = [Row(cells(r.label, r, r.share)) for r in report.rows]
    if report.others is not None:
        rows.append(Row(cells(_("%(n)d more", n=report.others_count), report.others,
                              report.others.share)))  # fmt: skip
    total = reports.ShareRow("", "", report.total, report.count, None)
    rows.append(Row(cells(_("Total"), total, 1 if report.total > 0 else None), "total"))
    return columns, rows


def revenue_by_customer(report: reports.ShareReport) -> tuple[list[Column], list[Row]]:
    """A customer per row with net sales and share."""
    return _shares(report, _("Customer"), _("Net sales"), None)


def revenue_by_product(report: reports.ShareReport) -> tuple[list[Column], list[Row]]:
    """A product per row with net sales and share."""
    return _shares(report, _("Product"), _("Net sales"), None)


def expenses_by_category(report: reports.ShareReport) -> tuple[list[Column], list[Row]]:
    """A category per row with the amount, share and number of expenses."""
    return _shares(report, _("Category"), _("Amount"), _("Expenses"))


def cash_received(report: reports.CashReport) -> tuple[list[Column], list[Row]]:
    """A month per row, a column per payment method and the total."""
    columns = [Column(_("Month"), TEXT), *(Column(m.label) for m in report.methods)]
    columns.append(Column(_("Total")))
    rows = [Row((m.label, *m.amounts, m.total)) for m in report.months]
    rows.append(Row((_("Total"), *(m.amount for m in report.methods), report.total), "total"))
    return columns, rows


BUILDERS: dict[str, Callable[[Any], tuple[list[Column], list[Row]]]] = {
    "profit_and_loss": profit_and_loss,
    "receivables_aging": receivables_aging,
    "tax_summary": tax_summary,
    "revenue_by_customer": revenue_by_customer,
    "revenue_by_product": revenue_by_product,
    "expenses_by_category": expenses_by_category,
    "cash_received": cash_received,
}


def sheet_of(name: str, title: str, caption: str, report: Any) -> Sheet:
    """The report `name` as a sheet with a title and what it covers."""
    columns, rows = BUILDERS[name](report)
    return Sheet(title, caption, report.currency, tuple(columns), tuple(rows))
