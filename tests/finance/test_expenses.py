"""Expense rules: approval, bills paid, billing on to a customer's next invoice, recurring
expenses caught up once each after downtime."""

from __future__ import annotations

import datetime as dt

import pytest

from startvora.core.tenancy import org_context
from startvora.extensions import db as _db
from startvora.finance import expenses, services
from startvora.finance.expense_models import Expense
from startvora.finance.models import Invoice
from startvora.finance.schemas import RecurringExpenseIn
from tests import factories

BASE = "/o/acme/finance"


@pytest.fixture
def org(people):
    people.org_a.currency = "EUR"
    _db.session.commit()
    return people.org_a


def test_amounts_with_and_without_tax_and_in_a_foreign_currency(org):
    with org_context(org.id):
        vat = factories.make_tax_rate(org, "VAT", "19")
        gross = factories.make_expense(org, amount="119", tax_rate_id=vat.id)
        net = factories.make_expense(
            org, amount="100", tax_rate_id=vat.id, amount_includes_tax=False
        )
        usd = factories.make_expense(org, amount="10", currency="USD", exchange_rate="0.9")
        assert (gross.net_minor, gross.tax_minor, gross.total_minor) == (10000, 1900, 11900)
        assert (net.net_minor, net.tax_minor, net.total_minor) == (10000, 1900, 11900)
        assert (usd.base_net_minor, usd.status, usd.paid_on) == (900, "pending", usd.spent_on)


def test_approval_rules(org):
    with org_context(org.id):
        expense = factories.make_expense(org)
        with pytest.raises(services.FinanceError, match="Say why"):
            expenses.reject(org.id, None, expense, "  ")
        expenses.reject(org.id, None, expense, "No receipt")
        assert (expense.status, expense.rejection_reason) == ("rejected", "No receipt")
        with pytest.raises(services.FinanceError, match="waiting for approval"):
            expenses.reject(org.id, None, expense, "Again")
        expenses.approve(org.id, None, expense)
        with pytest.raises(services.FinanceError, match="approved already"):
            expenses.approve(org.id, None, expense)
        with pytest.raises(services.FinanceError, match="Reopen it"):
            expenses.save_expense(org.id, None, _data(org), expense)
        with pytest.raises(services.FinanceError, match="reopen it first"):
            expenses.delete_expense(org.id, None, expense)
        expenses.reopen(org.id, None, expense)
        expenses.delete_expense(org.id, None, expense)
        assert _db.session.execute(_db.select(Expense)).first() is None


def _data(org, **fields):
    from startvora.finance.schemas import ExpenseIn

    return ExpenseIn.model_validate(
        {"spent_on": "2026-03-10", "category": "Travel", "amount": "50", **fields},
        context={"currency": org.currency, "locale": "en"},
    )


def test_a_bill_is_paid_once_approved_and_not_before_its_date(org):
    with org_context(org.id):
        bill = factories.make_expense(
            org, kind="bill", vendor_name="Klein Legal", due_date="2026-04-10"
        )
        assert bill.paid_on is None and bill.state(dt.date(2026, 5, 1)) == "pending"
        with pytest.raises(services.FinanceError, match="approved bill"):
            expenses.mark_paid(org.id, None, bill, dt.date(2026, 3, 20), "bank_transfer")
        expenses.approve(org.id, None, bill)
        assert bill.state(dt.date(2026, 5, 1)) == "overdue"
        with pytest.raises(services.FinanceError, match="before its date"):
            expenses.mark_paid(org.id, None, bill, dt.date(2026, 3, 1), "bank_transfer")
        with pytest.raises(services.FinanceError, match="how it was paid"):
            expenses.mark_paid(org.id, None, bill, dt.date(2026, 3, 20), "credit")
        expenses.mark_paid(org.id, None, bill, dt.date(2026, 3, 20), "bank_transfer")
        assert bill.state(dt.date(2026, 5, 1)) == "paid"


def test_a_billable_expense_goes_on_the_customers_next_invoice_once(org):
    with org_context(org.id):
        customer = factories.make_company(org)
        other = factories.make_company(org)
        taxi = factories.make_expense(
            org, billable=True, customer_company_id=customer.id, amount="42.50",
            description="Taxi to the site",
        )  # fmt: skip
        with pytest.raises(services.FinanceError, match="approved, billable"):
            expenses.bill_expense(org.id, None, taxi)
        expenses.approve(org.id, None, taxi)
        draft = expenses.bill_expense(org.id, None, taxi)
        assert (draft.status, draft.company_id, draft.total_minor) == ("draft", customer.id, 4250)
        assert (
            draft.lines[0].expense_id == taxi.id
            and "Taxi to the site" in draft.lines[0].description
        )
        assert expenses.billed_on(taxi.id).id == draft.id
        with pytest.raises(services.FinanceError, match="billed on"):
            expenses.bill_expense(org.id, None, taxi)
        with pytest.raises(services.FinanceError, match="Remove it from that invoice"):
            expenses.reopen(org.id, None, taxi)
        hotel = factories.make_expense(org, approve=True, billable=True,
                                       customer_company_id=customer.id, amount="100")  # fmt: skip
        assert expenses.bill_expense(org.id, None, hotel).id == draft.id  # the same draft
        assert len(draft.lines) == 2 and draft.total_minor == 14250
        elsewhere = factories.make_invoice(org, other)
        assert "another customer" in expenses.billing_problem(hotel.id, elsewhere)
        services.issue(org.id, None, draft)
        services.void(org.id, None, draft, "Wrong amounts")
        assert expenses.billed_on(taxi.id) is None  # free to bill again
        assert {e.id for e in expenses.unbilled(customer.id, None)} == {taxi.id, hotel.id}


def test_the_draft_page_adds_billable_expenses_and_the_form_keeps_them(
    client, people, org, login, csrf_token
):
    with org_context(org.id):
        customer = factories.make_company(org, name="Globex")
        taxi = factories.make_expense(org, approve=True, billable=True,
                                      customer_company_id=customer.id, amount="42.50")  # fmt: skip
        draft = factories.make_invoice(org, customer)
        _db.session.commit()
        draft_id = draft.id
    login(people.carol)
    token = csrf_token()
    page = client.get(f"{BASE}/invoices/{draft_id}").get_data(as_text=True)
    assert "1 billable expense of this customer is not invoiced yet." in page
    added = client.post(f"{BASE}/invoices/{draft_id}/add-expenses", data={"csrf_token": token})
    assert added.status_code == 303
    form = client.get(f"{BASE}/invoices/{draft_id}/edit").get_data(as_text=True)
    assert f'name="lines-1-expense_id" value="{taxi.id}"' in form
    # The form posted back as shown keeps the link between the line and the expense.
    fields = {"csrf_token": token, "customer": "Globex", "currency": "EUR", "action": "save",
              "lines-0-description": "Consulting", "lines-0-quantity": "2",
              "lines-0-unit_price": "100", "lines-1-description": "Taxi",
              "lines-1-quantity": "1", "lines-1-unit_price": "42.50",
              "lines-1-expense_id": str(taxi.id)}  # fmt: skip
    saved = client.post(f"{BASE}/invoices/{draft_id}/edit", data=fields)
    assert saved.status_code == 303
    with org_context(org.id):
        invoice = _db.session.get(Invoice, draft_id)
        assert [line.expense_id for line in invoice.lines] == [None, taxi.id]
        assert expenses.unbilled(customer.id, None) == []


def test_an_expense_of_another_organization_cannot_be_billed(
    client, people, org, login, csrf_token
):
    with org_context(people.org_b.id):
        foreign = factories.make_expense(people.org_b, approve=True)
        _db.session.commit()
    with org_context(org.id):
        draft = factories.make_invoice(org)
        _db.session.commit()
        draft_id = draft.id
    login(people.carol)
    fields = {"csrf_token": csrf_token(), "customer": draft.customer_name, "currency": "EUR",
              "action": "save", "lines-0-description": "Taxi", "lines-0-unit_price": "10",
              "lines-0-expense_id": str(foreign.id)}  # fmt: skip
    response = client.post(f"{BASE}/invoices/{draft_id}/edit", data=fields)
    assert response.status_code == 422
    assert "Choose expenses of this organization." in response.get_data(as_text=True)


def test_recurring_expenses_catch_up_once_each_and_stop_at_their_count(org):
    with org_context(org.id):
        today = services.today_of(org)
        start = today - dt.timedelta(days=70)
        data = RecurringExpenseIn.model_validate(
            {"spent_on": start.isoformat(), "category": "Rent", "kind": "bill",
             "vendor_name": "Lindenhof", "amount": "1850", "frequency": "monthly",
             "max_count": "5", "due_days": "10"},
            context={"currency": "EUR", "locale": "en"},
        )  # fmt: skip
        schedule = expenses.save_recurring(org.id, None, data)
        _db.session.commit()
        first = expenses.run_recurring(org)
        assert first in (3, 4)  # 70 days back: three monthly dates, a fourth at a month's end
        assert expenses.run_recurring(org) == 0  # run again: nothing twice
        made = _db.session.execute(_db.select(Expense).order_by(Expense.spent_on)).scalars().all()
        assert made[0].spent_on == start and len(made) == first
        assert all(e.status == "approved" and e.kind == "bill" for e in made)
        assert made[0].due_date == start + dt.timedelta(days=10)
        assert schedule.made_count == first and schedule.next_date > today
        schedule.next_date = today  # as if the months had passed
        schedule.made_count = 4
        _db.session.commit()
        assert expenses.run_recurring(org) == 1
        assert (schedule.made_count, schedule.active, schedule.next_date) == (5, False, None)
