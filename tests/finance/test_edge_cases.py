"""Finance at its edges: receipts that never change once given, a converted quote keeping the
customer's exemption, a trashed customer's exemption lifted, a person's own draft billed, and
absurd input answered with a message instead of an error page."""

from __future__ import annotations

import datetime as dt
import io
import subprocess
from decimal import Decimal

import pytest

from startvora.core import trash
from startvora.core.tenancy import org_context
from startvora.extensions import db as _db
from startvora.finance import expenses, pdf, services
from startvora.finance.models import TaxExemption
from startvora.finance.schemas import InvoiceIn, PaymentIn
from tests import factories

BASE = "/o/acme/finance"


@pytest.fixture
def org(people):
    people.org_a.currency = "EUR"
    _db.session.commit()
    return people.org_a


def pay(org, invoice, day, amount):
    return services.record_payment(
        org.id, None, invoice,
        PaymentIn.model_construct(paid_on=day, amount=amount, method="cash", reference="",
                                  note="", overpayment=""),
    )  # fmt: skip


def receipt_text(org, payment):
    body = pdf.receipt_pdf(payment, org, services.settings_of(org.id))
    out = subprocess.run(["pdftotext", "-layout", "-", "-"], input=body, capture_output=True)
    return pdf.receipt_number(payment), " ".join(out.stdout.decode().split())


def test_a_receipt_reads_the_same_after_later_payments_and_credit_notes(org, app):
    with org_context(org.id), app.test_request_context():
        invoice = factories.make_invoice(org, issue=True, issue_date=dt.date(2026, 3, 1))
        first = pay(org, invoice, dt.date(2026, 3, 20), 4000)
        before = receipt_text(org, first)
        pay(org, invoice, dt.date(2026, 3, 5), 1000)  # recorded later, dated earlier
        line = invoice.lines[0]
        services.create_credit_note(org.id, None, invoice, {line.id: Decimal(1)}, "Returned")
        assert receipt_text(org, first) == before
        assert before[0].endswith("-P1") and "Balance due €160.00" in before[1]


def test_a_converted_quote_keeps_the_customers_exemption(org):
    with org_context(org.id):
        vat = factories.make_tax_rate(org, "VAT", "19")
        charity = factories.make_company(org)
        lines = [{"description": "Chairs", "unit_price": "100", "tax_ids": [vat.id]}]
        data = InvoiceIn.model_validate(
            {"company_id": charity.id, "lines": lines}, context={"currency": "EUR", "locale": "en"}
        )
        quote = services.save_draft(org.id, None, data, kind="quote")
        services.issue(org.id, None, quote)
        assert quote.tax_minor == 1900  # quoted before the exemption
        services.save_exemption(org.id, None, charity.id, None, "Charity")
        invoice = services.convert_quote(org.id, None, quote)
        assert (invoice.tax_minor, invoice.total_minor, invoice.tax_exemption) == (
            0,
            10000,
            "Charity",
        )
        assert invoice.base_total_minor == 10000


def test_the_exemption_of_a_customer_in_the_trash_can_be_lifted(client, people, org, login,
                                                                csrf_token):  # fmt: skip
    with org_context(org.id):
        charity = factories.make_company(org)
        exemption = services.save_exemption(org.id, None, charity.id, None, "Charity")
        trash.trash(charity, people.alice.id)
        _db.session.commit()
        exemption_id = exemption.id
    login(people.alice)
    page = client.get(f"{BASE}/tax-exemptions").get_data(as_text=True)
    assert "(deleted)" in page
    response = client.post(
        f"{BASE}/tax-exemptions/{exemption_id}/remove", data={"csrf_token": csrf_token()}
    )
    assert response.status_code == 303
    with org_context(org.id):
        assert _db.session.get(TaxExemption, exemption_id) is None


def test_a_persons_expense_goes_on_their_own_draft_not_their_companys(org):
    with org_context(org.id):
        company = factories.make_company(org)
        person = factories.make_contact(org, company_id=company.id)
        factories.make_invoice(org, company, contact_id=person.id)  # the company's, to them
        taxi = factories.make_expense(org, approve=True, billable=True,
                                      customer_contact_id=person.id)  # fmt: skip
        draft = expenses.bill_expense(org.id, None, taxi)
        assert (draft.company_id, draft.contact_id) == (None, person.id)


def test_an_approved_expenses_receipt_is_not_replaced(client, people, org, login, csrf_token):
    with org_context(org.id):
        expense = factories.make_expense(org, approve=True)
        _db.session.commit()
    login(people.carol)
    from PIL import Image

    png = io.BytesIO()
    Image.new("RGB", (40, 60), "white").save(png, "PNG")
    png.seek(0)
    response = client.post(
        f"{BASE}/expenses/{expense.id}/receipt",
        data={"csrf_token": csrf_token(), "file": (png, "r.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code in (303, 422)
    with org_context(org.id):
        assert _db.session.get(type(expense), expense.id).receipt_file_id is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"spent_on": "9999-12-31", "paid_on": "9999-12-31"}, None),
        ({"tax_rate_id": 10**20}, "tax_rate_id"),
        ({"vendor_company_id": 10**20}, "vendor_company_id"),
        ({"amount": "1e400"}, "amount"),
    ],
)
def test_absurd_expense_input_is_a_clear_422(client, people, org, body, field):
    from startvora.auth import tokens

    with org_context(org.id):
        _, plain = tokens.create_token(people.alice, org.id, "test")
        _db.session.commit()
    payload = {"spent_on": "2026-03-01", "category": "Travel", "amount": "10", **body}
    response = client.post(
        "/api/v1/expenses", json=payload, headers={"Authorization": f"Bearer {plain}"}
    )
    assert response.status_code in (201, 422), response.get_data(as_text=True)
    if field:
        assert response.status_code == 422 and field in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "query", ["as_of=0001-01-01", "start=0001-01-01&end=0001-12-31", "as_of=9999-12-31"]
)
def test_reports_refuse_dates_out_of_reach_with_a_message(client, people, org, login, query):
    login(people.alice)
    path = "receivables-aging" if "as_of" in query else "profit-and-loss"
    response = client.get(f"{BASE}/reports/{path}?{query}", headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert "Enter a date between" in response.get_data(as_text=True) or "today or an earlier" in (
        response.get_data(as_text=True)
    )


def test_a_company_with_an_email_is_found_by_its_name(client, people, org, login):
    from startvora.crm.services import companies_named

    with org_context(org.id):
        oak = factories.make_company(org, name="Oak Print GmbH", email="info@oak.example")
        factories.make_company(org, name="Oak Print GmbH & Co", email="x@oak2.example")
        assert [c.id for c in companies_named("oak  print gmbh")] == [oak.id]
        services.save_exemption(org.id, None, oak.id, None, "Charity")
        _db.session.commit()
    login(people.alice)
    form = client.get(f"{BASE}/invoices/new?company={oak.id}").get_data(as_text=True)
    assert "exempt from tax" in form and "No company or contact is called" not in form
