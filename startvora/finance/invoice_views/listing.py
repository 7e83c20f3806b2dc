"""The invoices list: state and currency filters, search by number or customer, sort."""

from __future__ import annotations

from typing import Any

from flask import g
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, select
from sqlalchemy.orm import lazyload

from startvora.core import fts, listview
from startvora.core.htmx import render
from startvora.core.permissions import require
from startvora.finance import services
from startvora.finance.blueprints import bp
from startvora.finance.invoice_views.common import state_labels
from startvora.finance.models import Invoice


def invoice_list_spec() -> listview.ListSpec:
    today = services.today_of(g.org)
    states = {
        "draft": Invoice.status == "draft",
        "unpaid": Invoice.is_open.is_(True),
        "overdue": and_(Invoice.is_open.is_(True), Invoice.due_date < today),
        "paid": and_(Invoice.status == "issued", Invoice.is_open.is_(False)),
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
            listview.Column("number", _l("Number")),
            listview.Column("customer", _l("Customer"), sort=Invoice.customer_name),
            listview.Column(
                "date",
                _l("Date"),
                sort=Invoice.sort_date,  # drafts first, then newest first
                hide_on_phone=True,
            ),
            listview.Column("due", _l("Due"), hide_on_phone=True),
            listview.Column("total", _l("Total"), sort=Invoice.total_minor, align="end"),
            listview.Column("state", _l("Status")),
        ],
        search_fn=fts.searcher(Invoice),
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
