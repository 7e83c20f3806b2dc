"""Report totals: kept up to date as documents move, and always what a recount gives."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest

from startvora.core.tenancy import org_context
from startvora.extensions import db as _db
from startvora.finance import expenses, ledger, services
from startvora.finance.ledger import PeriodTotal
from startvora.finance.schemas import PaymentIn
from tests import factories

MARCH = dt.date(2026, 3, 1)


@pytest.fixture
def org(people):
    people.org_a.currency = "EUR"
    _db.session.commit()
    return people.org_a


def paid(**fields):
    """A payment as the services take it, the amount in minor units."""
    return PaymentIn.model_construct(**{"reference": "", "note": "", "overpayment": "", **fields})


def totals_of(measure: str) -> dict[tuple[dt.date, str], list[int]]:
    rows = _db.session.execute(_db.select(PeriodTotal).where(PeriodTotal.measure == measure))
    return {
        (r.month, r.key): [r.amount_minor, r.basis_minor, r.count]
        for r in rows.scalars()
        if r.amount_minor or r.basis_minor or r.count
    }


def test_an_issued_invoice_counts_in_its_month_and_a_void_takes_it_out(org):
    with org_context(org.id):
        vat = factories.make_tax_rate(org, "VAT", "19")
        customer = factories.make_company(org)
        product = factories.make_product(org)
        lines = [
            {"product_id": product.id, "quantity": "2", "unit_price": "100", "tax_ids": [vat.id]},
            {"description": "Travel", "quantity": "1", "unit_price": "30.50"},
        ]
        invoice = factories.make_invoice(
            org, customer, lines, issue=True, issue_date=dt.date(2026, 3, 14)
        )
        assert totals_of("income") == {(MARCH, ""): [23050, 0, 1]}
        assert totals_of("customer") == {(MARCH, f"company:{customer.id}"): [23050, 0, 1]}
        assert totals_of("product") == {(MARCH, str(product.id)): [20000, 0, 0],
                                        (MARCH, ""): [3050, 0, 0]}  # fmt: skip
        assert totals_of("tax_out") == {(MARCH, "19|VAT"): [3800, 20000, 1]}
        services.void(org.id, None, invoice, "Wrong customer")
        assert totals_of("income") == {} and totals_of("tax_out") == {}


def test_foreign_currency_lines_are_converted_one_by_one_and_agree_everywhere(org):
    with org_context(org.id):
        customer = factories.make_company(org)
        lines = [{"description": f"Item {i}", "unit_price": "0.03"} for i in range(3)]
        factories.make_invoice(
            org, customer, lines, issue=True, currency="USD", exchange_rate="0.5",
            issue_date=dt.date(2026, 3, 2),
        )  # fmt: skip
        # Each 0.03 USD line is 0.015 EUR, rounded half-even to 0.02: three lines make 0.06.
        income = totals_of("income")[(MARCH, "")][0]
        assert income == sum(v[0] for v in totals_of("product").values()) == 6
        assert totals_of("customer")[(MARCH, f"company:{customer.id}")][0] == income


def test_a_credit_note_and_a_refund_subtract(org):
    with org_context(org.id):
        invoice = factories.make_invoice(org, issue=True, issue_date=dt.date(2026, 3, 5))
        services.record_payment(
            org.id, None, invoice,
            paid(paid_on=dt.date(2026, 3, 6), amount=25000, method="card",
                      overpayment="credit"),
        )  # fmt: skip
        assert totals_of("cash_in") == {(MARCH, "card"): [25000, 0, 1]}  # 50.00 kept as credit
        line = invoice.lines[0]
        note = services.create_credit_note(org.id, None, invoice, {line.id: Decimal(1)}, "Late")
        services.record_payment(
            org.id, None, note,
            paid(paid_on=dt.date(2026, 4, 2), amount=note.balance_minor, method="bank_transfer"),
        )  # fmt: skip
        month = ledger.month_of(note.issue_date)
        assert totals_of("income")[(MARCH, "")][0] == 20000
        assert month != MARCH  # issued today
        assert totals_of("income")[(month, "")] == [-10000, 0, -1]
        assert totals_of("cash_in")[(dt.date(2026, 4, 1), "bank_transfer")] == [-10000, 0, -1]


def test_an_expense_counts_once_approved_and_leaves_when_reopened(org):
    with org_context(org.id):
        vat = factories.make_tax_rate(org, "VAT", "19")
        expense = factories.make_expense(org, amount="119", tax_rate_id=vat.id, category="Rent")
        assert totals_of("expense") == {}
        expenses.approve(org.id, None, expense)
        assert totals_of("expense") == {(MARCH, "Rent"): [10000, 0, 1]}
        assert totals_of("tax_in") == {(MARCH, "19|VAT"): [1900, 10000, 1]}
        expenses.reopen(org.id, None, expense)
        assert totals_of("expense") == {} and totals_of("tax_in") == {}


def _random_operations(org, rng: random.Random, steps: int) -> None:
    vat = factories.make_tax_rate(org, "VAT", "19")
    reduced = factories.make_tax_rate(org, "Reduced", "7")
    customers = [factories.make_company(org) for _ in range(3)] + [factories.make_contact(org)]
    products = [factories.make_product(org) for _ in range(2)]
    issued: list = []
    approved: list = []
    for _ in range(steps):
        action = rng.choice(["issue", "issue", "void", "pay", "credit", "expense", "reopen"])
        day = dt.date(2026, rng.randint(1, 6), rng.randint(1, 28))
        if action == "issue":
            lines = [
                {
                    "description": "Work",
                    "product_id": rng.choice([None, *(p.id for p in products)]),
                    "quantity": str(rng.randint(1, 5)),
                    "unit_price": f"{rng.randint(1, 99999) / 100:.2f}",
                    "tax_ids": rng.choice([[], [vat.id], [reduced.id], [vat.id, reduced.id]]),
                }
                for _ in range(rng.randint(1, 4))
            ]
            currency = rng.choice(["EUR", "EUR", "USD", "JPY", "KWD"])
            rate = {"EUR": "1", "USD": "0.9137", "JPY": "0.00613", "KWD": "2.987"}[currency]
            if currency in ("JPY", "KWD"):
                for line in lines:
                    line["unit_price"] = (
                        str(rng.randint(1, 99999))
                        if currency == "JPY"
                        else (f"{rng.randint(1, 99999) / 1000:.3f}")
                    )
            issued.append(
                factories.make_invoice(
                    org, rng.choice(customers), lines, issue=True, currency=currency,
                    exchange_rate=rate, issue_date=day,
                    prices_include_tax=rng.random() < 0.3,
                )
            )  # fmt: skip
        elif action == "void" and issued:
            invoice = rng.choice(issued)
            if invoice.status == "issued" and not invoice.payments and not invoice.credited_minor:
                services.void(org.id, None, invoice, "Mistake")
        elif action == "pay" and issued:
            invoice = rng.choice(issued)
            if invoice.status == "issued" and invoice.balance_minor:
                amount = rng.choice([invoice.balance_minor, max(1, invoice.balance_minor // 2),
                                     invoice.balance_minor + 100])  # fmt: skip
                services.record_payment(
                    org.id, None, invoice,
                    paid(paid_on=day, amount=amount, method=rng.choice(["card", "cash"]),
                              overpayment="credit"),
                )  # fmt: skip
        elif action == "credit" and issued:
            invoice = rng.choice(issued)
            if invoice.status == "issued":
                left = services.credited_quantities(invoice)
                line = rng.choice(invoice.lines)
                if line.quantity - left.get(line.id, 0) >= 1:
                    services.create_credit_note(org.id, None, invoice, {line.id: 1}, "Return")
        elif action == "expense":
            expense = factories.make_expense(
                org, spent_on=day.isoformat(), category=rng.choice(["Rent", "Travel", "Meals"]),
                amount=f"{rng.randint(1, 99999) / 100:.2f}",
                tax_rate_id=rng.choice([None, vat.id, reduced.id]),
                currency=rng.choice(["EUR", "USD"]), exchange_rate="1.0931",
            )  # fmt: skip
            if rng.random() < 0.8:
                expenses.approve(org.id, None, expense)
                approved.append(expense)
        elif action == "reopen" and approved:
            expense = approved.pop(rng.randrange(len(approved)))
            expenses.reopen(org.id, None, expense)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kept_totals_always_equal_a_recount(org, seed):
    with org_context(org.id):
        _random_operations(org, random.Random(seed), 40)
        _db.session.commit()
        kept = ledger.stored(org.id)
        assert kept, "the operations counted something"
        assert kept == ledger.compute(org.id)
        ledger.rebuild(org.id)
        assert ledger.stored(org.id) == kept


def test_a_database_from_before_the_totals_is_counted_whole_at_its_first_change(org):
    with org_context(org.id):
        first = factories.make_invoice(org, issue=True, issue_date=dt.date(2026, 3, 5))
        factories.make_invoice(org, issue=True, issue_date=dt.date(2026, 3, 9))
        _db.session.execute(_db.delete(PeriodTotal))  # as an upgraded database has none
        assert not ledger.is_built(org.id)
        services.record_payment(
            org.id, None, first,
            paid(paid_on=dt.date(2026, 3, 20), amount=20000, method="cash"),
        )  # fmt: skip
        assert ledger.is_built(org.id)
        assert totals_of("income") == {(MARCH, ""): [40000, 0, 2]}
        assert ledger.stored(org.id) == ledger.compute(org.id)
