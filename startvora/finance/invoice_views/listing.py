"""The invoices list: state and currency filters, search by number or customer, sort."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import g
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, select
from sqlalchemy.orm import lazyload

from startvora.core import listview
from startvora.core.htmx import render
from startvora.core.permissions import require
from startvora.finance import services
from startvora.finance.blueprints import bp
from startvora.finance.invoice_views.common import state_labels
from startvora.finance.models import Invoice

LAST_DAY = dt.date(9999, 12, 31)  # what a missing date sorts as


def invoice_list_spec() -> listview.ListSpec:
    today = services.today_of(g.org)
    unpaid = and_(Invoice.status == "issued", Invoice.paid_minor < Invoice.total_minor)
    states = {
        "draft": Invoice.status == "draft",
        "unpaid": unpaid,
        "overdue": and_(unpaid, Invoice.due_date < today),
        "paid": and_(Invoice.status == "issued", Invoice.paid_minor >= Invoice.total_minor),
        "void": Invoice.status == "void",
    }
    labels = state_labels()
    state_choices = [
        ("draft", labels["draft"]),
        ("unpaid", _l("Unpaid")),
        ("overdue", labels["overdue"]),
        ("paid", labels["paid"]),
        ("void", labels["void"]),
    ]

    def by_state(stmt: Any, value: str) -> Any:
        return stmt.where(states[value]) if value in states else stmt

    def query() -> Any:
        return select(Invoice).options(
            lazyload(Invoice.lines), lazyload(Invoice.taxes), lazyload(Invoice.payments)
        )

    return listview.ListSpec(
        name="invoices",
        query=query,
        id=Invoice.id,
        columns=[
            listview.Column("number", _l("Number"), sort=func.coalesce(Invoice.number, "")),
            listview.Column("customer", _l("Customer"), sort=Invoice.customer_name),
            listview.Column(
                "date",
                _l("Date"),
                sort=func.coalesce(Invoice.issue_date, LAST_DAY),  # drafts first, newest first
                hide_on_phone=True,
            ),
            listview.Column(
                "due", _l("Due"), sort=func.coalesce(Invoice.due_date, LAST_DAY), hide_on_phone=True
            ),
            listview.Column("total", _l("Total"), sort=Invoice.total_minor, align="end"),
            listview.Column("state", _l("Status")),
        ],
        search_folded=[Invoice.search_name],
        filters=[
            listview.Filter("state", _l("Status"), state_choices, by_state),
        ],
        default_sort="date",
        default_desc=True,
        per_page=50,
    )


@bp.get("/invoices")
@require("finance:view")
def invoices_index() -> Any:
    """Every invoice: drafts, unpaid, overdue, paid and void; filtered, searched, sorted."""
    page = listview.run(invoice_list_spec())
    return render(
        "finance/invoices/index.html",
        block="listing",
        page=page,
        labels=state_labels(),
        today=services.today_of(g.org),
    )
