"""Receivables aging: open invoices by how long past due, per customer."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import and_, case, func, literal, or_, select, union_all
from sqlalchemy.orm import aliased

from startvora.extensions import db
from startvora.finance import ledger, services
from startvora.finance.models import Invoice, Payment
from startvora.finance.reports.common import BUCKETS, _org, customer_names

# -- receivables aging ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AgingRow:
    key: str  # the customer: "company:ID" or "contact:ID"
    label: str
    buckets: tuple[int, ...]  # current, 1-30, 31-60, 61-90, over 90 days past due
    total: int
    count: int  # open invoices


@dataclass(frozen=True)
class Aging:
    as_of: dt.date
    currency: str
    rows: tuple[AgingRow, ...]  # largest balance first
    totals: tuple[int, ...]
    total: int
    count: int
    others: AgingRow | None = None  # the customers past the limit, added together
    others_count: int = 0


def bucket_of(due: dt.date | None, as_of: dt.date) -> int:
    """0 when not yet due, then 1-30, 31-60, 61-90 and over 90 days past due."""
    late = (as_of - due).days if due is not None else 0
    if late <= 0:
        return 0
    return 1 if late <= 30 else 2 if late <= 60 else 3 if late <= 90 else 4


def _open_invoices(org_id: int, as_of: dt.date, now: bool) -> Any:
    """Invoices with a balance on a day: (company, contact, due date, balance, currency, rate).

    Today's come from the open/due-date index and the balances kept on the invoices; a past
    day's are recounted: issued by then, less what was paid and credited by then (void
    invoices left out)."""
    if now:
        balance: Any = Invoice.total_minor - Invoice.paid_minor - Invoice.credited_minor
        query = select(Invoice).where(Invoice.org_id == org_id, Invoice.is_open.is_(True))
    else:
        paid = (
            select(Payment.invoice_id, func.sum(Payment.amount_minor).label("amount"))
            .where(Payment.org_id == org_id, Payment.paid_on <= as_of)
            .group_by(Payment.invoice_id)
            .subquery()
        )
        note = aliased(Invoice)
        credited = (
            select(note.credit_for_id, func.sum(note.total_minor).label("amount"))
            .where(note.org_id == org_id, note.kind == "credit_note", note.status == "issued",
                   note.issue_date <= as_of, note.credit_for_id.is_not(None))
            .group_by(note.credit_for_id)
            .subquery()
        )  # fmt: skip
        balance = (
            Invoice.total_minor
            - func.coalesce(paid.c.amount, 0)
            - func.coalesce(credited.c.amount, 0)
        )
        query = (
            select(Invoice)
            .outerjoin(paid, paid.c.invoice_id == Invoice.id)
            .outerjoin(credited, credited.c.credit_for_id == Invoice.id)
            .where(Invoice.org_id == org_id, Invoice.kind == "invoice",
                   Invoice.status == "issued", Invoice.issue_date <= as_of)
        )  # fmt: skip
    return (
        query.with_only_columns(
            Invoice.company_id, Invoice.contact_id, Invoice.due_date, balance.label("balance"),
            Invoice.currency, Invoice.exchange_rate,
        )
        .where(balance > 0)
    )  # fmt: skip


def _aging_sums(org_id: int, as_of: dt.date, base: str, now: bool) -> Iterable[tuple[Any, ...]]:
    """(company, contact, one sum per bucket..., invoices) in the base currency: its invoices
    added up by the database, others one by one, converted at their rate (one query, so that a
    past day's balances are worked out once)."""
    found = _open_invoices(org_id, as_of, now).cte("open_invoices")
    due, balance = found.c.due_date, found.c.balance
    cuts = [as_of - dt.timedelta(days=days) for days in (30, 60, 90)]
    buckets = [
        or_(due.is_(None), due >= as_of),
        and_(due < as_of, due >= cuts[0]),
        and_(due < cuts[0], due >= cuts[1]),
        and_(due < cuts[1], due >= cuts[2]),
        due < cuts[2],
    ]
    who = (found.c.company_id, found.c.contact_id)
    in_base = (
        select(*who, *(func.sum(case((b, balance), else_=0)) for b in buckets), func.count(),
               found.c.currency, func.max(found.c.exchange_rate))
        .where(found.c.currency == base)
        .group_by(*who, found.c.currency)
    )  # fmt: skip
    foreign = select(
        *who, *(case((b, balance), else_=0) for b in buckets), literal(1), found.c.currency,
        found.c.exchange_rate,
    ).where(found.c.currency != base)  # fmt: skip
    for company_id, contact_id, *amounts, count, currency, rate in db.session.execute(
        union_all(in_base, foreign)
    ):
        if currency != base:
            amounts = [services.base_amount(a, currency, rate, base) for a in amounts]
        yield (company_id, contact_id, *amounts, count)


def receivables_aging(org_id: int, as_of: dt.date, limit: int | None = None) -> Aging:
    """What customers owe on a day, by how late it is; `limit` keeps the largest customers and
    adds the others up in one row."""
    org = _org(org_id)
    base = org.currency
    now = as_of >= services.today_of(org)
    by_customer: dict[str, list[int]] = {}
    for company_id, contact_id, *amounts in _aging_sums(org_id, as_of, base, now):
        key = ledger.customer_key(company_id, contact_id)
        sums = by_customer.get(key)
        if sums is None:
            by_customer[key] = [int(a or 0) for a in amounts]
        else:  # the same customer in another currency
            by_customer[key] = [x + int(a or 0) for x, a in zip(sums, amounts, strict=True)]
    ordered = sorted(by_customer.items(), key=lambda kv: (-sum(kv[1][:-1]), kv[0]))
    shown, rest = (ordered, []) if limit is None else (ordered[:limit], ordered[limit:])
    names = customer_names(key for key, _sums in shown)

    def row(key: str, label: str, sums: list[int]) -> AgingRow:
        return AgingRow(key, label, tuple(sums[:-1]), sum(sums[:-1]), sums[-1])

    others = None
    if rest:
        added = [sum(col) for col in zip(*(s for _k, s in rest), strict=True)]
        others = row("", _("Other customers"), added)
    totals = [sum(col) for col in zip(*(s for _k, s in ordered), strict=True)] if ordered else []
    totals = totals or [0] * (len(BUCKETS) + 1)
    return Aging(
        as_of, base, tuple(row(k, names[k], s) for k, s in shown), tuple(totals[:-1]),
        sum(totals[:-1]), totals[-1], others, len(rest),
    )  # fmt: skip
