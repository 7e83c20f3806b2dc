"""The expenses list: search, filters by state, kind, category, billing and dates, sort."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from flask import g, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_
from werkzeug.datastructures import MultiDict

from startvora.core import listview
from startvora.core.db import count_of, folded
from startvora.core.htmx import render
from startvora.core.permissions import require
from startvora.extensions import db
from startvora.finance import services
from startvora.finance.blueprints import bp
from startvora.finance.expense_models import Expense
from startvora.finance.expense_views.common import kind_labels, state_labels
from startvora.finance.models import Invoice, InvoiceLine

_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})?\.\.(\d{4}-\d{2}-\d{2})?$")


def _quarter_start(day: dt.date) -> dt.date:
    return dt.date(day.year, (day.month - 1) // 3 * 3 + 1, 1)


def _month_before(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 - months
    return dt.date(index // 12, index % 12 + 1, 1)


def periods(today: dt.date) -> dict[str, tuple[dt.date, dt.date]]:
    """The ready-made date ranges, first and last day included."""
    month = today.replace(day=1)
    quarter = _quarter_start(today)
    year = dt.date(today.year, 1, 1)
    day = dt.timedelta(days=1)
    return {
        "this_month": (month, _month_before(month, -1) - day),
        "last_month": (_month_before(month, 1), month - day),
        "this_quarter": (quarter, _month_before(quarter, -3) - day),
        "last_quarter": (_month_before(quarter, 3), quarter - day),
        "this_year": (year, dt.date(today.year, 12, 31)),
        "last_year": (dt.date(today.year - 1, 1, 1), year - day),
    }


def parse_range(value: str) -> tuple[dt.date | None, dt.date | None] | None:
    """A typed range "2026-01-01..2026-03-31" (either end may be left out); None if not one."""
    match = _RANGE.match(value)
    if not match or value == "..":
        return None
    try:
        start, end = (dt.date.fromisoformat(v) if v else None for v in match.groups())
    except ValueError:
        return None
    return start, end


def range_label(start: dt.date | None, end: dt.date | None) -> str:
    from startvora.core.i18n import date_filter

    if start and end:
        return _("%(start)s to %(end)s", start=date_filter(start), end=date_filter(end))
    if start:
        return _("From %(date)s", date=date_filter(start))
    return _("Until %(date)s", date=date_filter(end))


def billed_ids() -> Any:
    """The expenses an invoice (not void) bills already."""
    return (
        db.select(InvoiceLine.expense_id)
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(InvoiceLine.expense_id.is_not(None), Invoice.status != "void",
               Invoice.kind == "invoice")
    )  # fmt: skip


def state_clauses(today: dt.date) -> dict[str, Any]:
    """Each state as a condition (as Expense.state() tells it for one row)."""
    approved_bill = and_(Expense.status == "approved", Expense.kind == "bill")
    unpaid = and_(approved_bill, Expense.paid_on.is_(None))
    return {
        "pending": Expense.status == "pending",
        "rejected": Expense.status == "rejected",
        "approved": Expense.status == "approved",
        "unpaid": unpaid,
        "overdue": and_(unpaid, Expense.due_date < today),
        "paid": and_(approved_bill, Expense.paid_on.is_not(None)),
    }


def expense_list_spec(args: Mapping[str, str] | None = None) -> listview.ListSpec:
    today = services.today_of(g.org)
    args = request.args if args is None else args
    states = state_clauses(today)
    labels = state_labels()
    ranges = periods(today)
    range_choices: list[tuple[str, Any]] = [
        ("this_month", _l("This month")),
        ("last_month", _l("Last month")),
        ("this_quarter", _l("This quarter")),
        ("last_quarter", _l("Last quarter")),
        ("this_year", _l("This year")),
        ("last_year", _l("Last year")),
    ]
    typed = args.get("f_period", "")
    custom = parse_range(typed)
    if custom is not None:
        range_choices.append((typed, range_label(*custom)))

    def by_state(stmt: Any, value: str) -> Any:
        return stmt.where(states[value])

    def by_kind(stmt: Any, value: str) -> Any:
        return stmt.where(Expense.kind == value)

    def by_category(stmt: Any, value: str) -> Any:
        return stmt.where(Expense.category == value)

    def by_billable(stmt: Any, value: str) -> Any:
        if value == "no":
            return stmt.where(Expense.billable.is_(False))
        stmt = stmt.where(Expense.billable.is_(True))
        if value == "unbilled":
            stmt = stmt.where(Expense.status == "approved", Expense.id.not_in(billed_ids()))
        return stmt

    def by_period(stmt: Any, value: str) -> Any:
        start, end = ranges.get(value) or parse_range(value) or (None, None)
        if start is not None:
            stmt = stmt.where(Expense.spent_on >= start)
        if end is not None:
            stmt = stmt.where(Expense.spent_on <= end)
        return stmt

    used = db.session.execute(
        db.select(Expense.category)
        .where(Expense.category != "")
        .distinct()
        .order_by(Expense.category)
        .limit(200)
    ).scalars()
    return listview.ListSpec(
        name="expenses",
        query=lambda: db.select(Expense),
        id=Expense.id,
        columns=[
            listview.Column("receipt", _l("Receipt")),
            listview.Column("vendor", _l("Vendor"), sort=folded(Expense.vendor_name)),
            listview.Column("category", _l("Category"), hide_on_phone=True),
            listview.Column("date", _l("Date"), sort=Expense.spent_on, hide_on_phone=True),
            listview.Column(
                "amount",
                _l("Amount"),
                align="end",
                sort=Expense.base_net_minor + Expense.base_tax_minor,
            ),
            listview.Column("state", _l("Status")),
        ],
        search_folded=[Expense.search_name],
        filters=[
            listview.Filter("state", _l("Status"), [(k, labels[k]) for k in states], by_state),
            listview.Filter("kind", _l("Type"), list(kind_labels().items()), by_kind),
            listview.Filter("category", _l("Category"), [(c, c) for c in used], by_category),
            listview.Filter(
                "billable",
                _l("Billing"),
                [
                    ("yes", _l("Billable")),
                    ("unbilled", _l("Billable, not yet billed")),
                    ("no", _l("Not billable")),
                ],
                by_billable,
            ),
            listview.Filter("period", _l("Dates"), range_choices, by_period),
        ],
        default_sort="date",
        default_desc=True,
        per_page=50,
    )


def list_args() -> MultiDict[str, str]:
    """The query string, with dates typed in the "Other dates" form (from, to) as a range."""
    args = MultiDict(request.args)
    start, end = args.pop("from", "").strip(), args.pop("to", "").strip()
    if start or end:
        args["f_period"] = f"{start}..{end}"
    return args


def waiting_count() -> int:
    return count_of(db.select(Expense).where(Expense.status == "pending"))


@bp.get("/expenses")
@require("finance:view")
def expenses_index() -> Any:
    """Every expense and vendor bill: searched, filtered, sorted, with what waits for approval."""
    args = list_args()
    page = listview.run(expense_list_spec(args), args)
    return render(
        "finance/expenses/index.html",
        block="listing",
        page=page,
        labels=state_labels(),
        kinds=kind_labels(),
        today=services.today_of(g.org),
        waiting=waiting_count(),
        custom=parse_range(page.state.filters.get("period", "")) or (None, None),
    )
