"""Invoices through their pages: drafts with lines and live totals, issuing with a number,
the refusals that keep an issued invoice as it was, payments, credit, voiding, the PDF."""

from __future__ import annotations

import re

import pytest

from startvora.core.tenancy import org_context
from startvora.extensions import db as _db
from startvora.finance.models import CustomerCredit, Invoice
from tests import factories

BASE = "/o/acme/finance"


@pytest.fixture
def shop(people):
    """Acme invoices in EUR with a 19 % and a 7 % rate, to a company and a contact."""
    people.org_a.currency = "EUR"
    with org_context(people.org_a.id):
        vat = factories.make_tax_rate(people.org_a, "VAT", "19")
        reduced = factories.make_tax_rate(people.org_a, "Reduced", "7")
        company = factories.make_company(
            people.org_a, name="Zoë Trading GmbH", street="Hauptstr. 1", city="Berlin"
        )
        contact = factories.make_contact(
            people.org_a, first_name="Ada", last_name="Lovelace", email="ada@example.com"
        )
        product = factories.make_product(
            people.org_a,
            name="Widget",
            sku="W-1",
            unit="pc",
            prices={"EUR": 1250},
            tax_ids=[vat.id],
        )
    _db.session.commit()
    people.vat, people.reduced, people.company, people.contact, people.product = (
        vat, reduced, company, contact, product,
    )  # fmt: skip
    return people


def form(shop, token, action="save", **extra):
    data = {
        "csrf_token": token,
        "customer": "Zoë Trading GmbH",
        "currency": "EUR",
        "lines-0-description": "Consulting",
        "lines-0-quantity": "3",
        "lines-0-unit_price": "19.99",
        "lines-0-tax_ids": str(shop.vat.id),
        "lines-1-product": "Widget · W-1",
        "lines-1-quantity": "1.5",
        "lines-1-discount": "10",
        "action": action,
    }
    data.update(extra)
    return data


def invoice_of(org_id: int) -> Invoice:
    with org_context(org_id):
        return (
            _db.session.execute(_db.select(Invoice).order_by(Invoice.id.desc())).scalars().first()
        )


def test_a_draft_with_lines_a_product_and_taxes(client, shop, login, csrf_token):
    login(shop.carol)
    token = csrf_token()
    assert client.get(f"{BASE}/invoices/new").status_code == 200
    response = client.post(f"{BASE}/invoices/new", data=form(shop, token))
    assert response.status_code == 303, response.get_data(as_text=True)
    invoice = invoice_of(shop.org_a.id)
    assert invoice.status == "draft" and invoice.number is None
    assert [line.description for line in invoice.lines] == ["Consulting", "Widget"]
    # 3 x 19.99 = 59.97 (+ 11.39 VAT); 1.5 x 12.50 - 10 % = 16.88 (16.875 rounded) + 3.21 VAT
    assert [(line.net_minor, line.tax_minor) for line in invoice.lines] == [
        (5997, 1139),
        (1688, 321),
    ]
    assert (invoice.subtotal_minor, invoice.tax_minor, invoice.total_minor) == (7685, 1460, 9145)
    assert [(t.name, t.base_minor, t.amount_minor) for t in invoice.taxes] == [("VAT", 7685, 1460)]
    page = client.get(f"{BASE}/invoices/{invoice.id}").get_data(as_text=True)
    assert "Draft invoice" in page and "€91.45" in page
    listing = client.get(f"{BASE}/invoices?q=zoe").get_data(as_text=True)
    assert "Zoë Trading GmbH" in listing


def test_the_form_adds_removes_and_totals_lines_without_saving(client, shop, login, csrf_token):
    login(shop.carol)
    token = csrf_token()
    response = client.post(f"{BASE}/invoices/new", data=form(shop, token, "add_line"))
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and 'name="lines-2-description"' in page
    refreshed = client.post(
        f"{BASE}/invoices/new", data=form(shop, token, "refresh"), headers={"HX-Request": "true"}
    ).get_data(as_text=True)
    assert "<html" not in refreshed and "€91.45" in refreshed
    removed = client.post(f"{BASE}/invoices/new", data=form(shop, token, "remove-0")).get_data(
        as_text=True
    )
    assert "Consulting" not in removed and "Widget" in removed
    assert invoice_of(shop.org_a.id) is None  # nothing saved


def test_issue_numbers_and_freezes_the_invoice(client, shop, login, csrf_token):
    login(shop.carol)
    token = csrf_token()
    client.post(f"{BASE}/invoices/new", data=form(shop, token, "issue", issue_date="2026-03-05"))
    invoice = invoice_of(shop.org_a.id)
    assert (invoice.status, invoice.number) == ("issued", "INV-2026-0001")
    assert invoice.due_date.isoformat() == "2026-03-19"  # 14 days of terms
    assert invoice.customer_address == "Hauptstr. 1\nBerlin"
    with org_context(shop.org_a.id):
        from startvora.finance import services

        second = factories.make_invoice(shop.org_a, customer=shop.contact, issue_date="2026-03-06")
        services.issue(shop.org_a.id, None, second)
        _db.session.commit()
        assert second.number == "INV-2026-0002"
    # An issued invoice cannot be edited: the edit page sends back, a POST changes nothing.
    response = client.get(f"{BASE}/invoices/{invoice.id}/edit")
    assert response.status_code == 303
    client.post(
        f"{BASE}/invoices/{invoice.id}/edit", data=form(shop, token, **{"lines-0-unit_price": "1"})
    )
    assert invoice_of(shop.org_a.id).id == second.id
    with org_context(shop.org_a.id):
        again = _db.session.get(Invoice, invoice.id)
        assert again.total_minor == 9145 and again.lines[0].unit_price_minor == 1999
    page = client.get(f"{BASE}/invoices/{invoice.id}", follow_redirects=True).get_data(as_text=True)
    assert "INV-2026-0001" in page
    response = client.post(f"{BASE}/invoices/{invoice.id}/issue", data={"csrf_token": token})
    assert response.status_code == 303  # refused with a message, nothing changes
    assert "issued already" in client.get(f"{BASE}/invoices/{invoice.id}").get_data(as_text=True)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"lines-0-quantity": "-2"}, "Enter a quantity above zero."),
        ({"lines-0-unit_price": "19.999"}, "EUR amounts have at most 2 decimals."),
        ({"lines-0-unit_price": "abc"}, "Enter an amount like 1250.00."),
        ({"lines-0-discount": "120"}, "Enter a percentage from 0 to 100."),
        ({"currency": "XYZ"}, "Choose a currency such as EUR or USD."),
        ({"customer": "Nobody Inc"}, "No company or contact is called Nobody Inc."),
        ({"lines-1-product": "Gizmo"}, "No product is called Gizmo."),
        ({"issue_date": "2026-05-02", "due_date": "2026-05-01"}, "The due date cannot be before"),
    ],
)
def test_bad_input_gets_a_clear_message_and_saves_nothing(
    client, shop, login, csrf_token, changes, message
):
    login(shop.carol)
    token = csrf_token()
    response = client.post(f"{BASE}/invoices/new", data=form(shop, token, "issue", **changes))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True).replace("&#39;", "'")
    assert invoice_of(shop.org_a.id) is None


def test_a_tax_rate_of_another_organization_is_refused(client, shop, login, csrf_token):
    with org_context(shop.org_b.id):
        foreign = factories.make_tax_rate(shop.org_b, "Theirs", "5")
        _db.session.commit()
    login(shop.carol)
    response = client.post(
        f"{BASE}/invoices/new",
        data=form(shop, csrf_token(), **{"lines-0-tax_ids": str(foreign.id)}),
    )
    assert response.status_code == 422
    assert "Choose tax rates of this organization." in response.get_data(as_text=True)


def test_payments_partial_then_full_and_overpayment_as_credit(client, shop, login, csrf_token):
    with org_context(shop.org_a.id):
        work = {
            "description": "Work",
            "quantity": "1",
            "unit_price": "100",
            "tax_ids": [shop.vat.id],
        }
        invoice = factories.make_invoice(
            shop.org_a, customer=shop.company, issue=True, lines=[work]
        )
        _db.session.commit()
    login(shop.carol)
    token = csrf_token()
    url = f"{BASE}/invoices/{invoice.id}/payments/new"
    assert "119.00" in client.get(url).get_data(as_text=True)  # the balance is proposed
    pay = {"csrf_token": token, "paid_on": "2026-04-01", "method": "bank_transfer"}
    assert client.post(url, data={**pay, "amount": "19"}).status_code == 303
    page = client.get(f"{BASE}/invoices/{invoice.id}").get_data(as_text=True)
    assert "Partly paid" in page and "€100.00" in page
    refused = client.post(url, data={**pay, "amount": "150"})
    body = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "€50.00 more than the balance of €100.00" in body
    assert 'name="overpayment"' in body  # the page asks whether to keep it as credit
    assert (
        client.post(url, data={**pay, "amount": "150", "overpayment": "credit"}).status_code == 303
    )
    with org_context(shop.org_a.id):
        paid = _db.session.get(Invoice, invoice.id)
        assert (paid.paid_minor, paid.state()) == (11900, "paid")
        credit = _db.session.execute(_db.select(CustomerCredit)).scalar_one()
        assert (credit.company_id, credit.amount_minor) == (shop.company.id, 5000)
    assert client.post(url, data={**pay, "amount": "1"}).status_code == 422  # paid in full


def test_void_and_delete_rules(client, shop, login, csrf_token):
    with org_context(shop.org_a.id):
        draft = factories.make_invoice(shop.org_a, customer=shop.company)
        issued = factories.make_invoice(shop.org_a, customer=shop.company, issue=True)
        _db.session.commit()
        draft_id = draft.id
    login(shop.alice)
    token = csrf_token()
    client.post(f"{BASE}/invoices/{issued.id}/delete", data={"csrf_token": token})
    client.post(f"{BASE}/invoices/{issued.id}/void", data={"csrf_token": token, "reason": " "})
    with org_context(shop.org_a.id):
        assert _db.session.get(Invoice, issued.id).status == "issued"  # kept; a reason is needed
    client.post(
        f"{BASE}/invoices/{issued.id}/void", data={"csrf_token": token, "reason": "Sent twice"}
    )
    client.post(f"{BASE}/invoices/{draft.id}/delete", data={"csrf_token": token})
    with org_context(shop.org_a.id):
        voided = _db.session.get(Invoice, issued.id)
        assert (voided.status, voided.void_reason) == ("void", "Sent twice")
        assert voided.number.endswith("-0001")  # the number stays taken
        assert _db.session.get(Invoice, draft_id) is None
    url = f"{BASE}/invoices/{issued.id}/payments/new"
    response = client.post(
        url, data={"csrf_token": token, "paid_on": "2026-04-01", "amount": "1", "method": "cash"}
    )
    assert response.status_code == 422 and "void" in response.get_data(as_text=True)


def test_a_paid_invoice_cannot_be_voided(client, shop, login, csrf_token):
    import datetime as dt

    from startvora.finance import services
    from startvora.finance.schemas import PaymentIn

    with org_context(shop.org_a.id):
        invoice = factories.make_invoice(shop.org_a, customer=shop.company, issue=True)
        services.record_payment(
            shop.org_a.id, None, invoice, PaymentIn(paid_on=dt.date(2026, 1, 1), amount=100)
        )
        _db.session.commit()
    login(shop.alice)
    token = csrf_token()
    client.post(f"{BASE}/invoices/{invoice.id}/void", data={"csrf_token": token, "reason": "x"})
    page = client.get(f"{BASE}/invoices/{invoice.id}").get_data(as_text=True)
    assert "credit note" in page
    with org_context(shop.org_a.id):
        assert _db.session.get(Invoice, invoice.id).status == "issued"


def test_viewers_read_but_cannot_write(client, shop, login, csrf_token):
    with org_context(shop.org_a.id):
        invoice = factories.make_invoice(shop.org_a, customer=shop.company)
        _db.session.commit()
    login(shop.bob)
    token = csrf_token()
    assert client.get(f"{BASE}/invoices").status_code == 200
    assert client.get(f"{BASE}/invoices/{invoice.id}").status_code == 200
    assert client.get(f"{BASE}/invoices/new").status_code == 403
    assert (
        client.post(f"{BASE}/invoices/{invoice.id}/issue", data={"csrf_token": token}).status_code
        == 403
    )
    page = client.get(f"{BASE}/invoices/{invoice.id}").get_data(as_text=True)
    assert "Record a payment" not in page and not re.search(r">\s*Issue\s*<", page)


def test_lookups_suggest_customers_and_products(client, shop, login):
    login(shop.carol)
    customers = client.get(f"{BASE}/invoices/lookup?field=customer&customer=zo").get_data(
        as_text=True
    )
    assert 'value="Zoë Trading GmbH"' in customers
    people = client.get(f"{BASE}/invoices/lookup?field=customer&customer=ada").get_data(
        as_text=True
    )
    assert "Ada Lovelace &lt;ada@example.com&gt;" in people
    products = client.get(f"{BASE}/invoices/lookup?field=product&lines-3-product=wid").get_data(
        as_text=True
    )
    assert "Widget · W-1" in products


def test_the_list_pages_through_dates_and_filters_by_state(client, shop, login):
    import datetime as dt

    from startvora.finance import services

    with org_context(shop.org_a.id):
        for n in range(55):
            day = (dt.date(2026, 1, 1) + dt.timedelta(days=n)).isoformat()
            invoice = factories.make_invoice(shop.org_a, customer=shop.company, issue_date=day)
            services.issue(shop.org_a.id, None, invoice)
        draft = factories.make_invoice(shop.org_a, customer=shop.contact)
        _db.session.commit()
    login(shop.carol)
    first = client.get(f"{BASE}/invoices").get_data(as_text=True)
    assert first.index(f'/invoices/{draft.id}"') < first.index("INV-2026-0055")  # drafts first
    next_url = re.search(r'href="([^"]*after=[^"]+)"', first).group(1).replace("&amp;", "&")
    second = client.get(next_url).get_data(as_text=True)
    assert "INV-2026-0001" in second and "INV-2026-0055" not in second
    drafts = client.get(f"{BASE}/invoices?f_state=draft").get_data(as_text=True)
    assert "1 result" in drafts
    overdue = client.get(f"{BASE}/invoices?f_state=overdue").get_data(as_text=True)
    assert "55 results" in overdue  # due in early 2026, unpaid


def test_the_customers_timeline_shows_invoices_and_payments(client, shop, login):
    import datetime as dt

    from startvora.finance import services
    from startvora.finance.schemas import PaymentIn

    with org_context(shop.org_a.id):
        invoice = factories.make_invoice(shop.org_a, customer=shop.company, issue=True)
        payment = PaymentIn.model_validate(
            {"paid_on": dt.date(2026, 5, 1), "amount": "50"}, context={"currency": "EUR"}
        )
        services.record_payment(shop.org_a.id, None, invoice, payment)
        factories.make_invoice(shop.org_a, customer=shop.company)  # a draft: not shown
        _db.session.commit()
        number = invoice.number
    login(shop.carol)
    page = client.get(f"/o/acme/crm/companies/{shop.company.id}").get_data(as_text=True)
    assert f"Invoice {number}" in page and f"Payment of €50.00 on {number}" in page
    assert page.count("Invoice INV-") == 1
    other = client.get(f"/o/acme/crm/contacts/{shop.contact.id}").get_data(as_text=True)
    assert number not in other


def test_credit_from_an_overpayment_pays_the_next_invoice(client, shop, login, csrf_token):
    import datetime as dt

    from startvora.finance import services
    from startvora.finance.schemas import PaymentIn

    with org_context(shop.org_a.id):
        first = factories.make_invoice(shop.org_a, customer=shop.company, issue=True)  # 200.00
        over = PaymentIn.model_validate(
            {"paid_on": dt.date(2026, 5, 1), "amount": "250", "overpayment": "credit"},
            context={"currency": "EUR"},
        )
        services.record_payment(shop.org_a.id, None, first, over)
        second = factories.make_invoice(shop.org_a, customer=shop.company, issue=True)
        third = factories.make_invoice(shop.org_a, customer=shop.company, issue=True)
        _db.session.commit()
        ids = (second.id, third.id)
    login(shop.carol)
    token = csrf_token()
    page = client.get(f"{BASE}/invoices/{ids[0]}").get_data(as_text=True)
    assert "€50.00 of credit" in page and "Use it on this invoice" in page
    assert (
        client.post(
            f"{BASE}/invoices/{ids[0]}/apply-credit", data={"csrf_token": token}
        ).status_code
        == 303
    )
    with org_context(shop.org_a.id):
        paid = _db.session.get(Invoice, ids[0])
        assert (paid.paid_minor, paid.balance_minor) == (5000, 15000)
        assert paid.payments[-1].method == "credit"
        assert services.credit_balance(shop.org_a.id, shop.company.id, None, "EUR") == 0
    refused = client.post(f"{BASE}/invoices/{ids[1]}/apply-credit", data={"csrf_token": token})
    assert refused.status_code == 303  # nothing left: refused with a message
    assert "no credit" in client.get(f"{BASE}/invoices/{ids[1]}").get_data(as_text=True)
