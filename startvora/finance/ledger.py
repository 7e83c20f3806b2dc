"""Monthly totals that the reports read, kept up to date as documents are issued, voided, paid
and approved, so that a year's profit and loss reads a few hundred rows, never every line.

Every figure is in the organization's currency: each line, tax and payment is converted at its
document's exchange rate on its own, and the same conversion serves income, customers and
products, so their totals agree to the cent. `rebuild(org_id)` recomputes everything from the
documents with the same functions; a test checks that both ways give the same rows.

Measures and their keys:
  income    ''                             net sales (credit notes subtract)
  customer  'company:ID' or 'contact:ID'   net sales per customer
  product   product id, or '' for lines without a product
  tax_out   'RATE|NAME'                    tax charged (basis: the taxed amount)
  tax_in    'RATE|NAME'                    tax paid on approved expenses (basis likewise)
  expense   the category                   approved expenses, net of tax
  cash_in   the payment method             money received (refunds subtract)
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, Index, String, UniqueConstraint, delete, select
from sqlalchemy.orm import Mapped, mapped_column

from startvora.core import money
from startvora.core.db import upsert
from startvora.core.tenancy import TenantMixin
from startvora.extensions import db

# A marker row: this organization's totals were counted from its documents once (by `rebuild`);
# until then (a database from before the totals) the first change counts everything instead.
BUILT = "built"
BUILT_MONTH = dt.date(1970, 1, 1)

Key = tuple[str, dt.date, str]
Totals = dict[Key, list[int]]  # -> [amount, basis, count]


class PeriodTotal(TenantMixin, db.Model):
    """One measure's total for one month and key, in the organization's currency."""

    __tablename__ = "finance_period_totals"
    __table_args__ = (
        UniqueConstraint("org_id", "measure", "month", "key", name="uq_finance_period_totals"),
        Index("ix_finance_period_totals_month", "org_id", "month"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    measure: Mapped[str] = mapped_column(String(12))
    month: Mapped[dt.date] = mapped_column(Date)  # the first day of the month
    key: Mapped[str] = mapped_column(String(120), default="")
    amount_minor: Mapped[int] = mapped_column(default=0)
    basis_minor: Mapped[int] = mapped_column(default=0)
    count: Mapped[int] = mapped_column(default=0)


def month_of(day: dt.date) -> dt.date:
    return day.replace(day=1)


def tax_key(rate: Decimal, name: str) -> str:
    return f"{format(Decimal(rate).normalize(), 'f')}|{name}"[:120]


def split_tax_key(key: str) -> tuple[Decimal, str]:
    rate, _sep, name = key.partition("|")
    return Decimal(rate), name


def customer_key(company_id: int | None, contact_id: int | None) -> str:
    if company_id is not None:
        return f"company:{company_id}"
    return f"contact:{contact_id}" if contact_id is not None else ""


class _Converter:
    """Amounts into the organization's currency at a document's rate (cached per rate)."""

    def __init__(self, base_currency: str) -> None:
        self.base = base_currency

    def __call__(self, minor: int, currency: str, rate: Any) -> int:
        if currency == self.base or not minor:
            return minor
        return money.to_minor(money.from_minor(minor, currency) * Decimal(rate), self.base)


def _add(totals: Totals, measure: str, month: dt.date, key: str, amount: int, basis: int = 0,
         count: int = 0) -> None:  # fmt: skip
    row = totals.setdefault((measure, month, key), [0, 0, 0])
    row[0] += amount
    row[1] += basis
    row[2] += count


def _document(
    totals: Totals,
    convert: _Converter,
    head: tuple[Any, ...],
    lines: Iterable[tuple[int, int | None]],
    taxes: Iterable[tuple[Decimal, str, int, int]],
    sign: int,
) -> None:
    """An issued invoice or credit note: head (kind, issue date, currency, rate, company id,
    contact id); lines (net, product id); taxes (rate, name, base, amount)."""
    kind, day, currency, rate, company_id, contact_id = head
    if kind == "credit_note":
        sign = -sign
    month, who = month_of(day), customer_key(company_id, contact_id)
    _add(totals, "income", month, "", 0, 0, sign)
    _add(totals, "customer", month, who, 0, 0, sign)
    for net, product_id in lines:
        amount = sign * convert(net, currency, rate)
        _add(totals, "income", month, "", amount)
        _add(totals, "customer", month, who, amount)
        _add(totals, "product", month, "" if product_id is None else str(product_id), amount)
    for tax_rate, name, base, amount in taxes:
        _add(
            totals, "tax_out", month, tax_key(tax_rate, name),
            sign * convert(amount, currency, rate), sign * convert(base, currency, rate), sign,
        )  # fmt: skip


def _payment(totals: Totals, convert: _Converter, row: tuple[Any, ...], sign: int) -> None:
    """Money received: (day, method, amount with any overpayment, currency, rate, kind)."""
    day, method, amount, currency, rate, kind = row
    if method == "credit":  # customer credit used: the money came in earlier
        return
    if kind == "credit_note":  # a refund
        sign = -sign
    _add(totals, "cash_in", month_of(day), method, sign * convert(amount, currency, rate), 0, sign)


def _expense(totals: Totals, row: tuple[Any, ...], sign: int) -> None:
    """An approved expense: (day, category, base net, base tax, tax rate, tax name)."""
    day, category, base_net, base_tax, tax_rate, tax_name = row
    month = month_of(day)
    _add(totals, "expense", month, category, sign * base_net, 0, sign)
    if tax_name:  # a rate was chosen, 0 % too: its purchases belong in the tax summary
        _add(totals, "tax_in", month, tax_key(tax_rate, tax_name), sign * base_tax,
             sign * base_net, sign)  # fmt: skip


def _upsert(org_id: int, totals: Totals) -> None:
    rows = [
        {"org_id": org_id, "measure": m, "month": month, "key": key,
         "amount_minor": a, "basis_minor": b, "count": c}
        for (m, month, key), (a, b, c) in totals.items()
        if a or b or c
    ]  # fmt: skip
    if not rows:
        return
    table = PeriodTotal.__table__
    stmt = upsert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=["org_id", "measure", "month", "key"],
        set_={
            "amount_minor": table.c.amount_minor + stmt.excluded.amount_minor,
            "basis_minor": table.c.basis_minor + stmt.excluded.basis_minor,
            "count": table.c.count + stmt.excluded.count,
        },
    )
    for start in range(0, len(rows), 500):
        db.session.execute(stmt, rows[start : start + 500])


def is_built(org_id: int) -> bool:
    """Whether the organization's totals were counted from its documents (see BUILT)."""
    return (
        db.session.execute(
            select(PeriodTotal.id).where(PeriodTotal.org_id == org_id, PeriodTotal.measure == BUILT)
        ).first()
        is not None
    )


def _write(org_id: int, totals: Totals) -> None:
    """Add a change to the kept totals; the first change ever counts every document instead
    (the change is flushed already, so the count includes it)."""
    if is_built(org_id):
        _upsert(org_id, totals)
    else:
        rebuild(org_id)


# -- kept up to date by the services -------------------------------------------------------------


def _base_currency(org_id: int) -> str:
    from startvora.orgs.models import Organization

    org = db.session.get(Organization, org_id)
    assert org is not None
    return org.currency


def post_document(invoice: Any, sign: int = 1) -> None:
    """Count an issued invoice or credit note (sign -1: take it back out, when voided)."""
    if invoice.kind not in ("invoice", "credit_note"):
        return
    totals: Totals = {}
    _document(
        totals,
        _Converter(_base_currency(invoice.org_id)),
        (invoice.kind, invoice.issue_date, invoice.currency, invoice.exchange_rate,
         invoice.company_id, invoice.contact_id),
        [(line.net_minor, line.product_id) for line in invoice.lines],
        [(t.rate, t.name, t.base_minor, t.amount_minor) for t in invoice.taxes],
        sign,
    )  # fmt: skip
    _write(invoice.org_id, totals)


def post_payment(payment: Any, received_minor: int, sign: int = 1) -> None:
    """Count money received on an invoice (or refunded on a credit note), overpayment included."""
    invoice = payment.invoice
    totals: Totals = {}
    _payment(
        totals,
        _Converter(_base_currency(invoice.org_id)),
        (payment.paid_on, payment.method, received_minor, payment.currency,
         invoice.exchange_rate, invoice.kind),
        sign,
    )  # fmt: skip
    _write(invoice.org_id, totals)


def post_expense(expense: Any, sign: int = 1) -> None:
    """Count an approved expense (sign -1 when it is reopened or removed)."""
    totals: Totals = {}
    _expense(totals, _expense_row(expense), sign)
    _write(expense.org_id, totals)


def _expense_row(e: Any) -> tuple[Any, ...]:
    return (e.spent_on, e.category, e.base_net_minor, e.base_tax_minor, e.tax_rate, e.tax_name)


# -- recomputed from the documents ---------------------------------------------------------------


def compute(org_id: int) -> Totals:
    """Every total, from the documents themselves (read as plain rows: 200k invoices)."""
    from startvora.finance.expense_models import Expense
    from startvora.finance.models import CustomerCredit, Invoice, InvoiceLine, InvoiceTax, Payment

    convert = _Converter(_base_currency(org_id))
    totals: Totals = {}
    counted = (Invoice.status == "issued") & Invoice.kind.in_(("invoice", "credit_note"))
    heads = {
        row[0]: row[1:]
        for row in db.session.execute(
            select(Invoice.id, Invoice.kind, Invoice.issue_date, Invoice.currency,
                   Invoice.exchange_rate, Invoice.company_id, Invoice.contact_id).where(counted)
        )
    }  # fmt: skip
    lines: dict[int, list[tuple[int, int | None]]] = defaultdict(list)
    for invoice_id, net, product_id in db.session.execute(
        select(InvoiceLine.invoice_id, InvoiceLine.net_minor, InvoiceLine.product_id)
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(counted)
        .order_by(InvoiceLine.invoice_id, InvoiceLine.position, InvoiceLine.id)
    ):
        lines[invoice_id].append((net, product_id))
    taxes: dict[int, list[tuple[Decimal, str, int, int]]] = defaultdict(list)
    for invoice_id, *tax in db.session.execute(
        select(InvoiceTax.invoice_id, InvoiceTax.rate, InvoiceTax.name, InvoiceTax.base_minor,
               InvoiceTax.amount_minor)
        .join(Invoice, Invoice.id == InvoiceTax.invoice_id)
        .where(counted)
    ):  # fmt: skip
        taxes[invoice_id].append(tuple(tax))  # type: ignore[arg-type]
    for invoice_id, head in heads.items():
        _document(totals, convert, head, lines.get(invoice_id, ()), taxes.get(invoice_id, ()), 1)
    extra = dict(
        db.session.execute(
            select(CustomerCredit.source_payment_id, CustomerCredit.amount_minor).where(
                CustomerCredit.source_payment_id.is_not(None)
            )
        ).all()
    )
    for payment_id, *row in db.session.execute(
        select(Payment.id, Payment.paid_on, Payment.method, Payment.amount_minor,
               Payment.currency, Invoice.exchange_rate, Invoice.kind)
        .join(Invoice, Invoice.id == Payment.invoice_id)
    ):  # fmt: skip
        row[2] += extra.get(payment_id, 0)
        _payment(totals, convert, tuple(row), 1)
    for row in db.session.execute(
        select(Expense.spent_on, Expense.category, Expense.base_net_minor, Expense.base_tax_minor,
               Expense.tax_rate, Expense.tax_name).where(Expense.status == "approved")
    ):  # fmt: skip
        _expense(totals, tuple(row), 1)
    return {k: v for k, v in totals.items() if any(v)}


def stored(org_id: int) -> Totals:
    """The totals as kept, for comparing with `compute`."""
    return {
        (r.measure, r.month, r.key): [r.amount_minor, r.basis_minor, r.count]
        for r in db.session.execute(
            select(PeriodTotal).where(PeriodTotal.org_id == org_id, PeriodTotal.measure != BUILT)
        ).scalars()
        if r.amount_minor or r.basis_minor or r.count
    }


def rebuild(org_id: int) -> int:
    """Recompute an organization's totals from its documents; the number of rows written."""
    totals = compute(org_id)
    db.session.execute(delete(PeriodTotal).where(PeriodTotal.org_id == org_id))
    _upsert(org_id, totals)
    _upsert(org_id, {(BUILT, BUILT_MONTH, ""): [0, 0, 1]})
    return len(totals)
