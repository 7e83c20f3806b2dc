"""Profit and loss, tax summary, revenue and expense shares, cash received: from the totals."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _

from startvora.finance import ledger
from startvora.finance.reports.common import (
    GRANULARITIES,
    _by_key,
    _first,
    _index,
    _last,
    _month_label,
    _monthly,
    _months_label,
    _org,
    _period_start,
    _share,
    category_label,
    customer_names,
    method_label,
    product_names,
    whole_months,
)

# -- profit and loss -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """One column of the profit and loss: a month, quarter or year (cut to the range)."""

    start: dt.date
    end: dt.date
    label: str
    partial: bool = False  # the range starts or ends inside it


@dataclass(frozen=True)
class Line:
    """One row: its amount in each period and in total. `style`: "", "subtotal" or "total"."""

    key: str  # sales, cogs, gross_profit, expense, total_expenses, net_profit
    label: str
    amounts: tuple[int, ...]
    total: int
    style: str = ""


@dataclass(frozen=True)
class ProfitAndLoss:
    start: dt.date
    end: dt.date
    by: str
    currency: str
    periods: tuple[Period, ...]
    lines: tuple[Line, ...]
    has_cogs: bool

    def line(self, key: str) -> Line:
        return next(line for line in self.lines if line.key == key)


def periods_of(start: dt.date, end: dt.date, by: str, fiscal_start: int = 1) -> list[Period]:
    """The months, quarters or (fiscal) years a range covers, the first and last cut to it."""
    months = {"month": 1, "quarter": 3, "year": 12}[by]
    first, last = _index(start), _index(end)
    found: list[Period] = []
    index = first
    while index <= last:
        opens = _period_start(index, months, fiscal_start)
        closes = opens + months - 1
        a, b = max(opens, first), min(closes, last)
        partial = (a, b) != (opens, closes)
        found.append(
            Period(_first(a), _last(b), _period_label(a, b, opens, by, fiscal_start), partial)
        )
        index = b + 1
    return found


def _period_label(a: int, b: int, opens: int, by: str, fiscal_start: int) -> str:
    if by == "month":
        return _month_label(_first(a))
    if a != opens or b != opens + (3 if by == "quarter" else 12) - 1:
        return _months_label(_first(a), _first(b)) if a != b else _month_label(_first(a))
    year = _first(_period_start(opens, 12, fiscal_start)).year  # the fiscal year's first
    name = str(year) if fiscal_start == 1 else f"{year}/{(year + 1) % 100:02d}"
    if by == "year":
        return name
    return _("Q%(n)d %(year)s", n=(opens - (fiscal_start - 1)) % 12 // 3 + 1, year=name)


def profit_and_loss(org_id: int, start: dt.date, end: dt.date, by: str = "month") -> ProfitAndLoss:
    """Sales, [cost of goods sold, gross profit,] expenses by category, and net profit, for each
    month, quarter or year of the range and in total."""
    if by not in GRANULARITIES:
        raise ValueError(f"unknown granularity {by!r}")
    org = _org(org_id)
    start, end = whole_months(start, end)
    periods = periods_of(start, end, by, org.fiscal_year_start or 1)
    column = {}
    for n, period in enumerate(periods):
        for index in range(_index(period.start), _index(period.end) + 1):
            column[_first(index)] = n
    sums: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * len(periods))
    for measure, month, key, amount, _basis, _count in _monthly(
        org_id, ("income", "cogs", "expense"), start, end
    ):
        sums[(measure, key if measure == "expense" else "")][column[month]] += amount

    def line(key: str, label: str, amounts: Iterable[int], style: str = "") -> Line:
        values = tuple(amounts)
        return Line(key, label, values, sum(values), style)

    def minus(a: Line, b: Line) -> list[int]:
        return [x - y for x, y in zip(a.amounts, b.amounts, strict=True)]

    zero = [0] * len(periods)
    sales = line("sales", _("Sales"), sums.get(("income", ""), zero))
    lines = [sales]
    cogs = sums.get(("cogs", ""), zero)
    has_cogs = any(cogs)
    profit = sales
    if has_cogs:
        cost = line("cogs", _("Cost of goods sold"), cogs)
        profit = line("gross_profit", _("Gross profit"), minus(sales, cost), "subtotal")
        lines += [cost, profit]
    categories = sorted(
        (key for measure, key in sums if measure == "expense"),
        key=lambda c: (not c, c.casefold()),
    )
    spent = [line("expense", category_label(c), sums[("expense", c)]) for c in categories]
    total_expenses = line(
        "total_expenses", _("Total expenses"),
        [sum(col) for col in zip(*(s.amounts for s in spent), strict=True)] if spent else zero,
        "subtotal",
    )  # fmt: skip
    lines += [*spent, total_expenses]
    lines.append(line("net_profit", _("Net profit"), minus(profit, total_expenses), "total"))
    return ProfitAndLoss(start, end, by, org.currency, tuple(periods), tuple(lines), has_cogs)


# -- tax summary ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaxRow:
    key: str  # "RATE|NAME"
    name: str
    rate: Decimal | None  # percent; None on the total
    sales_basis: int  # taxable sales
    collected: int  # tax charged on them
    purchases_basis: int  # taxable approved expenses
    paid: int  # tax paid on them
    net: int  # collected - paid


@dataclass(frozen=True)
class TaxSummary:
    start: dt.date
    end: dt.date
    currency: str
    rows: tuple[TaxRow, ...]
    total: TaxRow


def tax_summary(org_id: int, start: dt.date, end: dt.date) -> TaxSummary:
    """Tax collected on sales and paid on expenses, per rate, and the net to pay."""
    start, end = whole_months(start, end)
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for measure, _month, key, amount, basis, _count in _monthly(
        org_id, ("tax_out", "tax_in"), start, end
    ):
        at = 0 if measure == "tax_out" else 2
        sums[key][at] += basis
        sums[key][at + 1] += amount
    rows = []
    for key, (sold, collected, bought, paid) in sums.items():
        if not (sold or collected or bought or paid):
            continue
        rate, name = ledger.split_tax_key(key)
        rows.append(TaxRow(key, name, rate, sold, collected, bought, paid, collected - paid))
    rows.sort(key=lambda r: (r.name.casefold(), -r.rate))
    total = TaxRow(
        "", _("Total"), None, *(sum(getattr(r, f) for r in rows)
        for f in ("sales_basis", "collected", "purchases_basis", "paid", "net")),
    )  # fmt: skip
    return TaxSummary(start, end, _org(org_id).currency, tuple(rows), total)


# -- shares: revenue by customer and by product, expenses by category ----------------------------


@dataclass(frozen=True)
class ShareRow:
    key: str
    label: str
    amount: int
    count: int  # documents, expenses or payments (per report)
    share: Decimal | None  # of the total, 0 to 1; None when the total is not above zero


@dataclass(frozen=True)
class ShareReport:
    start: dt.date
    end: dt.date
    currency: str
    rows: tuple[ShareRow, ...]  # largest first
    total: int
    count: int
    others: ShareRow | None = None  # the rows past the limit, added together
    others_count: int = 0


def _shares(
    org_id: int, measure: str, start: dt.date, end: dt.date, limit: int | None,
    names: Any, others_label: str,
) -> ShareReport:  # fmt: skip
    start, end = whole_months(start, end)
    found = [r for r in _by_key(org_id, measure, start, end) if r[1] or r[2]]
    found.sort(key=lambda r: (-r[1], r[0]))
    total, count = sum(r[1] for r in found), sum(r[2] for r in found)
    shown, rest = (found, []) if limit is None else (found[:limit], found[limit:])
    label = names(key for key, _a, _c in shown)
    rows = tuple(ShareRow(k, label[k], a, c, _share(a, total)) for k, a, c in shown)
    others = None
    if rest:
        amount = sum(r[1] for r in rest)
        others = ShareRow("", others_label, amount, sum(r[2] for r in rest), _share(amount, total))
    return ShareReport(start, end, _org(org_id).currency, rows, total, count, others, len(rest))


def revenue_by_customer(
    org_id: int, start: dt.date, end: dt.date, limit: int | None = None
) -> ShareReport:
    """Net sales per customer (credit notes subtract); count: invoices less credit notes."""
    return _shares(org_id, "customer", start, end, limit, customer_names, _("Other customers"))


def revenue_by_product(
    org_id: int, start: dt.date, end: dt.date, limit: int | None = None
) -> ShareReport:
    """Net sales per product; lines without a product as "Other lines"."""
    return _shares(org_id, "product", start, end, limit, product_names, _("Other products"))


def expenses_by_category(
    org_id: int, start: dt.date, end: dt.date, limit: int | None = None
) -> ShareReport:
    """Approved expenses (net of tax) per category; count: expenses."""

    def names(keys: Iterable[str]) -> dict[str, str]:
        return {k: category_label(k) for k in keys}

    return _shares(org_id, "expense", start, end, limit, names, _("Other categories"))


# -- cash received -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CashMonth:
    month: dt.date
    label: str
    amounts: tuple[int, ...]  # per method, in the report's `methods` order
    total: int


@dataclass(frozen=True)
class CashReport:
    start: dt.date
    end: dt.date
    currency: str
    methods: tuple[ShareRow, ...]  # largest first; count: payments less refunds
    months: tuple[CashMonth, ...]  # every month of the range, oldest first
    total: int
    count: int


def cash_received(org_id: int, start: dt.date, end: dt.date) -> CashReport:
    """Money received (refunds subtract) by payment method and by month."""
    start, end = whole_months(start, end)
    cells: dict[tuple[dt.date, str], int] = defaultdict(int)
    per_method: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for _measure, month, key, amount, _basis, count in _monthly(org_id, ("cash_in",), start, end):
        cells[(month, key)] += amount
        per_method[key][0] += amount
        per_method[key][1] += count
    order = sorted(
        (k for k, (a, c) in per_method.items() if a or c), key=lambda k: (-per_method[k][0], k)
    )
    total = sum(per_method[k][0] for k in order)
    methods = tuple(
        ShareRow(k, method_label(k), per_method[k][0], per_method[k][1],
                 _share(per_method[k][0], total))
        for k in order
    )  # fmt: skip
    months = []
    for index in range(_index(start), _index(end) + 1):
        month = _first(index)
        amounts = tuple(cells.get((month, k), 0) for k in order)
        months.append(CashMonth(month, _month_label(month), amounts, sum(amounts)))
    count = sum(m.count for m in methods)
    return CashReport(start, end, _org(org_id).currency, methods, tuple(months), total, count)


# -- totals for databases from before they were kept ----------------------------------------------
