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


def invoice_list_spec(quotes: bool = False) -> listview.ListSpec:
    today = services.today_of(g.org)
    if quotes:
        return _quote_list_spec(today)
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
        return _query().where(Invoice.kind.in_(("invoice", "credit_note")))

    return listview.ListSpec(
        name="invoices",
        query=query,
        id=Invoice.id,
        columns=_columns(_l("Date"), _l("Due")),
        search_fn=fts.searcher(Invoice),
        filters=[
            listview.Filter("state", _l("Status"), state_choices, by_state),
        ],
        default_sort="date",
        default_desc=True,
        per_page=50,
    )


def _query() -> Any:
    return select(Invoice).options(
        lazyload(Invoice.lines), lazyload(Invoice.taxes), lazyload(Invoice.payments)
    )


def _columns(date_label: Any, due_label: Any) -> list[listview.Column]:
    return [
        listview.Column("number", _l("Number")),
        listview.Column("customer", _l("Customer"), sort=Invoice.customer_name),
        listview.Column(
            "date", date_label, sort=Invoice.sort_date, hide_on_phone=True
        ),  # drafts first, then newest first
        listview.Column("due", due_label, hide_on_phone=True),
        listview.Column("total", _l("Total"), sort=Invoice.total_minor, align="end"),
        listview.Column("state", _l("Status")),
    ]


def _quote_list_spec(today: Any) -> listview.ListSpec:
    sent = and_(Invoice.status == "issued", Invoice.quote_outcome == "",
                Invoice.converted_to_id.is_(None))  # fmt: skip
    states = {
        "draft": Invoice.status == "draft",
        "sent": and_(sent, Invoice.due_date >= today),
        "accepted": and_(Invoice.quote_outcome == "accepted", Invoice.converted_to_id.is_(None)),
        "declined": Invoice.quote_outcome == "declined",
        "expired": and_(sent, Invoice.due_date < today),
        "invoiced": Invoice.converted_to_id.is_not(None),
    }
    labels = state_labels()

    def by_state(stmt: Any, value: str) -> Any:
        return stmt.where(states[value]) if value in states else stmt

    return listview.ListSpec(
        name="quotes",
        query=lambda: _query().where(Invoice.kind == "quote"),
        id=Invoice.id,
        columns=_columns(_l("Date"), _l("Valid until")),
        search_fn=fts.searcher(Invoice),
        filters=[
            listview.Filter("state", _l("Status"), [(k, labels[k]) for k in states], by_state)
        ],
        default_sort="date",
        default_desc=True,
        per_page=50,
    )


@bp.get("/quotes")
@require("finance:view")
def quotes_index() -> Any:
    """Every quote: drafts, sent, accepted, declined, expired and invoiced."""
    page = listview.run(invoice_list_spec(quotes=True))
    return render(
        "finance/invoices/index.html",
        block="listing",
        page=page,
        labels=state_labels(),
        today=services.today_of(g.org),
        quotes=True,
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
