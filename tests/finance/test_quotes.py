"""Quotes: drafted and made final with their own numbers, answered by the customer on the
signed page (accept with a name, decline; not once expired), turned into an invoice."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from startvora.core.tenancy import org_context
from startvora.extensions import db as _db
from startvora.finance import sending, services
from startvora.finance.models import Invoice
from tests import factories

BASE = "/o/acme/finance"


@pytest.fixture
def quote(people, app):
    people.org_a.currency = "EUR"
    with org_context(people.org_a.id):
        vat = factories.make_tax_rate(people.org_a, "VAT", "19")
        company = factories.make_company(people.org_a, name="Globex")
        lines = [
            {
                "description": "Fleet audit",
                "quantity": "2",
                "unit_price": "500",
                "tax_ids": [vat.id],
            }
        ]
        draft = factories.make_invoice(people.org_a, customer=company, lines=lines)
        draft.kind = "quote"
        services.issue(people.org_a.id, None, draft)
        _db.session.commit()
        people.quote_id, people.number = draft.id, draft.number
        with app.test_request_context():
            people.token = sending.public_token(draft)
    return people


def test_a_new_quote_through_the_form(client, people, login, csrf_token):
    with org_context(people.org_a.id):
        factories.make_company(people.org_a, name="Initech")
        _db.session.commit()
    login(people.carol)
    token = csrf_token()
    assert "New quote" in client.get(f"{BASE}/quotes/new").get_data(as_text=True)
    response = client.post(
        f"{BASE}/quotes/new",
        data={"csrf_token": token, "customer": "Initech", "currency": "USD", "action": "issue",
              "lines-0-description": "Setup", "lines-0-unit_price": "250"},
    )  # fmt: skip
    assert response.status_code == 303
    with org_context(people.org_a.id):
        made = _db.session.execute(_db.select(Invoice)).scalar_one()
        assert (made.kind, made.number, made.state()) == ("quote", "Q-2026-0001", "sent")
        assert (made.due_date - made.issue_date).days == 30
        assert made.is_open is False  # a quote is never money due
    listing = client.get(f"{BASE}/quotes").get_data(as_text=True)
    assert "Q-2026-0001" in listing
    assert "Q-2026-0001" not in client.get(f"{BASE}/invoices").get_data(as_text=True)


def test_the_customer_accepts_with_a_name_then_it_becomes_an_invoice(
    client, quote, login, csrf_token
):
    anonymous = client
    page = anonymous.get(f"/p/invoices/{quote.token}").get_data(as_text=True)
    assert f"Quote {quote.number}" in page and "Accept the quote" in page
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    no_name = anonymous.post(
        f"/p/invoices/{quote.token}/answer", data={"csrf_token": csrf, "outcome": "accepted"}
    )
    assert no_name.status_code == 303
    assert "Type your name" in anonymous.get(f"/p/invoices/{quote.token}").get_data(as_text=True)
    accepted = anonymous.post(
        f"/p/invoices/{quote.token}/answer",
        data={"csrf_token": csrf, "outcome": "accepted", "name": "Grace Hopper"},
    )
    assert accepted.status_code == 303
    assert "You accepted this quote" in anonymous.get(f"/p/invoices/{quote.token}").get_data(
        as_text=True
    )
    again = anonymous.post(
        f"/p/invoices/{quote.token}/answer", data={"csrf_token": csrf, "outcome": "declined"}
    )
    assert again.status_code == 303
    with org_context(quote.org_a.id):
        answered = _db.session.get(Invoice, quote.quote_id)
        assert (answered.state(), answered.outcome_by) == ("accepted", "Grace Hopper")

    login(quote.carol)
    token = csrf_token()
    made = client.post(f"{BASE}/invoices/{quote.quote_id}/convert", data={"csrf_token": token})
    assert made.status_code == 303 and "/edit" in made.headers["Location"]
    with org_context(quote.org_a.id):
        invoice = _db.session.execute(
            _db.select(Invoice).where(Invoice.kind == "invoice")
        ).scalar_one()
        assert (invoice.status, invoice.total_minor, invoice.lines[0].description) == (
            "draft",
            119000,
            "Fleet audit",
        )
        assert _db.session.get(Invoice, quote.quote_id).state() == "invoiced"
    twice = client.post(f"{BASE}/invoices/{quote.quote_id}/convert", data={"csrf_token": token})
    assert twice.status_code == 303
    with org_context(quote.org_a.id):
        assert (
            _db.session.execute(
                _db.select(_db.func.count()).where(Invoice.kind == "invoice")
            ).scalar()
            == 1
        )


def test_declined_and_expired_quotes(client, quote, login, csrf_token):
    with org_context(quote.org_a.id):
        expired = _db.session.get(Invoice, quote.quote_id)
        expired.due_date = dt.date(2020, 1, 1)
        _db.session.commit()
        assert expired.state() == "expired"
    page = client.get(f"/p/invoices/{quote.token}").get_data(as_text=True)
    assert "Accept the quote" not in page  # nothing to answer once it expired
    with org_context(quote.org_a.id), pytest.raises(services.FinanceError, match="expired"):
        services.answer_quote(
            quote.org_a.id, _db.session.get(Invoice, quote.quote_id), "accepted", "X"
        )
    _db.session.rollback()  # as a view does after a refusal: the row lock is let go
    login(quote.carol)
    token = csrf_token()  # the staff may still record an answer given by phone
    client.post(
        f"{BASE}/invoices/{quote.quote_id}/answer",
        data={"csrf_token": token, "outcome": "declined"},
    )
    with org_context(quote.org_a.id):
        assert _db.session.get(Invoice, quote.quote_id).state() == "declined"
    refused = client.post(f"{BASE}/invoices/{quote.quote_id}/convert", data={"csrf_token": token})
    assert refused.status_code == 303
    assert "declined" in client.get(f"{BASE}/invoices/{quote.quote_id}").get_data(as_text=True)
    declined = client.get(f"{BASE}/quotes?f_state=declined").get_data(as_text=True)
    assert quote.number in declined


def test_a_quote_is_never_paid_or_credited_and_has_its_pdf(client, quote, login):
    import datetime as dt2

    from startvora.finance import pdf
    from startvora.finance.schemas import PaymentIn

    with org_context(quote.org_a.id):
        q = _db.session.get(Invoice, quote.quote_id)
        with pytest.raises(services.FinanceError, match="not paid"):
            services.record_payment(
                quote.org_a.id, None, q, PaymentIn(paid_on=dt2.date(2026, 1, 1), amount=1)
            )
        with pytest.raises(services.FinanceError, match="Only an issued invoice"):
            services.create_credit_note(quote.org_a.id, None, q, {q.lines[0].id: 1}, "x")
        html = pdf.invoice_html(q, quote.org_a, services.settings_of(quote.org_a.id))
    assert "Quote" in html and "Valid until" in html and "Scan to pay" not in html
    login(quote.carol)
    response = client.get(f"{BASE}/invoices/{quote.quote_id}/pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")


def test_a_quotes_pages_light_the_quotes_entry_of_the_navigation(client, quote, login):
    import re

    login(quote.alice)
    for path in (f"{BASE}/invoices/{quote.quote_id}", f"{BASE}/quotes/new"):
        html = client.get(path).get_data(as_text=True)
        current = re.findall(r'<a href="[^"]*"\s+aria-current="page">', html)
        assert len(current) == 1 and "/finance/quotes" in current[0], path
