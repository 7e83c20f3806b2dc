"""Credit notes: the whole invoice or some lines, never more than was invoiced; an unpaid
invoice's balance goes down, what was paid already becomes a refund to record."""

from __future__ import annotations

import pytest

from startvora.core.tenancy import org_context
from startvora.extensions import db as _db
from startvora.finance import services
from startvora.finance.models import Invoice
from startvora.finance.schemas import PaymentIn
from tests import factories

BASE = "/o/acme/finance"


@pytest.fixture
def issued(people):
    people.org_a.currency = "EUR"
    with org_context(people.org_a.id):
        vat = factories.make_tax_rate(people.org_a, "VAT", "19")
        lines = [
            {"description": "Chairs", "quantity": "4", "unit_price": "50", "tax_ids": [vat.id]},
            {"description": "Delivery", "quantity": "1", "unit_price": "30", "tax_ids": [vat.id]},
        ]
        invoice = factories.make_invoice(people.org_a, lines=lines, issue=True)
        _db.session.commit()
        people.invoice_id = invoice.id
        people.line_ids = [line.id for line in invoice.lines]
    return people


def credit(client, token, invoice_id, chairs="0", delivery="0", reason="Returned"):
    chairs_id, delivery_id = _line_ids(invoice_id)
    return client.post(
        f"{BASE}/invoices/{invoice_id}/credit",
        data={"csrf_token": token, f"q-{chairs_id}": chairs, f"q-{delivery_id}": delivery,
              "reason": reason},
    )  # fmt: skip


def _line_ids(invoice_id):
    invoice = _db.session.get(Invoice, invoice_id)
    return [line.id for line in invoice.lines]


def test_partial_credit_lowers_the_balance_and_never_credits_twice(
    client, issued, login, csrf_token
):
    login(issued.carol)
    token = csrf_token()
    with org_context(issued.org_a.id):
        form = client.get(f"{BASE}/invoices/{issued.invoice_id}/credit").get_data(as_text=True)
        assert "4 left to credit" in form
        response = credit(client, token, issued.invoice_id, chairs="1")
        assert response.status_code == 303
        invoice = _db.session.get(Invoice, issued.invoice_id)
        note = _db.session.execute(
            _db.select(Invoice).where(Invoice.kind == "credit_note")
        ).scalar_one()
        assert (note.number, note.total_minor, note.tax_minor) == ("CN-2026-0001", 5950, 950)
        assert note.credit_for_id == invoice.id and note.balance_minor == 0  # nothing to refund
        # 4 x 50 + 30 = 230 + 19 % = 273.70; minus 59.50
        assert (invoice.total_minor, invoice.credited_minor, invoice.balance_minor) == (
            27370,
            5950,
            21420,
        )
        too_many = credit(client, token, issued.invoice_id, chairs="4")
        assert (
            too_many.status_code == 422
            and "At most 3 of this line is left" in too_many.get_data(as_text=True)
        )
        nothing = credit(client, token, issued.invoice_id)
        assert nothing.status_code == 422 and "Choose what to credit" in nothing.get_data(
            as_text=True
        )
        no_reason = credit(client, token, issued.invoice_id, chairs="1", reason=" ")
        assert no_reason.status_code == 422 and "Say why" in no_reason.get_data(as_text=True)
        assert credit(client, token, issued.invoice_id, chairs="3", delivery="1").status_code == 303
        _db.session.expire_all()
        invoice = _db.session.get(Invoice, issued.invoice_id)
        assert (invoice.balance_minor, invoice.state()) == (0, "credited")
    page = client.get(f"{BASE}/invoices/{issued.invoice_id}").get_data(as_text=True)
    assert "CN-2026-0001" in page and "CN-2026-0002" in page and "Credited" in page
    assert f"/invoices/{issued.invoice_id}/credit" not in page  # nothing left to credit


def test_credit_after_payment_is_a_refund_to_record(client, issued, login, csrf_token):
    with org_context(issued.org_a.id):
        invoice = _db.session.get(Invoice, issued.invoice_id)
        services.record_payment(
            issued.org_a.id,
            None,
            invoice,
            PaymentIn.model_validate(
                {"paid_on": "2026-02-01", "amount": "273.70"}, context={"currency": "EUR"}
            ),
        )
        _db.session.commit()
    login(issued.carol)
    token = csrf_token()
    with org_context(issued.org_a.id):
        assert credit(client, token, issued.invoice_id, delivery="1").status_code == 303
        note = _db.session.execute(
            _db.select(Invoice).where(Invoice.kind == "credit_note")
        ).scalar_one()
        assert (note.balance_minor, note.state()) == (3570, "refund_due")
    url = f"{BASE}/invoices/{note.id}/payments/new"
    page = client.get(f"{BASE}/invoices/{note.id}").get_data(as_text=True)
    assert "Record a refund" in page and "Credits invoice" in page
    pay = {"csrf_token": token, "paid_on": "2026-03-01", "method": "bank_transfer"}
    too_much = client.post(url, data={**pay, "amount": "40", "overpayment": "credit"})
    assert too_much.status_code == 422 and "The refund due is €35.70" in too_much.get_data(
        as_text=True
    )
    assert client.post(url, data={**pay, "amount": "35.70"}).status_code == 303
    with org_context(issued.org_a.id):
        _db.session.expire_all()
        assert _db.session.get(Invoice, note.id).state() == "settled"


def test_drafts_and_credit_notes_cannot_be_credited(client, issued, login, csrf_token):
    with org_context(issued.org_a.id):
        draft = factories.make_invoice(issued.org_a)
        _db.session.commit()
        with pytest.raises(services.FinanceError, match="Only an issued invoice"):
            services.create_credit_note(issued.org_a.id, None, draft, {}, "x")
        invoice = _db.session.get(Invoice, issued.invoice_id)
        note = services.create_credit_note(
            issued.org_a.id, None, invoice, {issued.line_ids[1]: 1}, "Late delivery"
        )
        with pytest.raises(services.FinanceError, match="Only an issued invoice"):
            services.create_credit_note(issued.org_a.id, None, note, {}, "x")
        assert note.total_minor == 3570


def test_a_credit_note_has_its_own_pdf(client, issued, login, csrf_token):
    from startvora.finance import pdf

    with org_context(issued.org_a.id):
        invoice = _db.session.get(Invoice, issued.invoice_id)
        note = services.create_credit_note(
            issued.org_a.id, None, invoice, {issued.line_ids[0]: 2}, "Two chairs came back"
        )
        _db.session.commit()
        html = pdf.invoice_html(note, issued.org_a, services.settings_of(issued.org_a.id))
    assert "Credit note" in html and invoice.number in html and "Two chairs came back" in html
    assert "Scan to pay" not in html  # nothing to pay on a credit note
    login(issued.carol)
    response = client.get(f"{BASE}/invoices/{note.id}/pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    assert response.headers["Cache-Control"] == "private, no-store"
