"""Tax exemption per customer: set in finance settings, no tax on their drafts and repeats, the
reason printed; issued documents keep what they were issued with."""

from __future__ import annotations

import subprocess

import pytest

from startvora.core.tenancy import org_context
from startvora.extensions import db as _db
from startvora.finance import pdf, recurring, services
from startvora.finance.models import Invoice, TaxExemption
from tests import factories

BASE = "/o/acme/finance"


@pytest.fixture
def setup(people):
    people.org_a.currency = "EUR"
    with org_context(people.org_a.id):
        people.vat = factories.make_tax_rate(people.org_a, "VAT", "19")
        people.charity = factories.make_company(people.org_a, name="Helping Hands e.V.")
        people.shop = factories.make_company(people.org_a, name="Corner Shop")
        _db.session.commit()
    return people


def lines(vat):
    return [{"description": "Chairs", "quantity": "2", "unit_price": "50", "tax_ids": [vat.id]}]


def test_an_exempt_customer_is_charged_no_tax_and_the_reason_is_printed(setup):
    org = setup.org_a
    with org_context(org.id):
        services.save_exemption(org.id, None, setup.charity.id, None, "Charity, certificate 12-345")
        exempt = factories.make_invoice(org, setup.charity, lines(setup.vat), issue=True)
        taxed = factories.make_invoice(org, setup.shop, lines(setup.vat), issue=True)
        assert (exempt.tax_minor, exempt.total_minor, exempt.taxes) == (0, 10000, [])
        assert exempt.lines[0].tax_ids == [] and exempt.tax_exemption.startswith("Charity")
        assert (taxed.tax_minor, taxed.total_minor, taxed.tax_exemption) == (1900, 11900, "")
        body = pdf.invoice_pdf(exempt, org, services.settings_of(org.id))
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=body, capture_output=True, check=True
    ).stdout.decode()
    assert "No tax charged: Charity, certificate 12-345" in text


def test_lifting_an_exemption_leaves_issued_documents_as_they_were(setup):
    org = setup.org_a
    with org_context(org.id):
        services.save_exemption(org.id, None, setup.charity.id, None, "Export")
        issued = factories.make_invoice(org, setup.charity, lines(setup.vat), issue=True)
        services.save_exemption(org.id, None, setup.charity.id, None, "")
        assert _db.session.execute(_db.select(TaxExemption)).scalars().all() == []
        later = factories.make_invoice(org, setup.charity, lines(setup.vat))
        assert (issued.tax_minor, later.tax_minor, later.tax_exemption) == (0, 1900, "")


def test_a_recurring_invoice_to_an_exempt_customer_carries_no_tax(setup):
    org = setup.org_a
    with org_context(org.id):
        source = factories.make_invoice(org, setup.charity, lines(setup.vat), issue=True)
        today = services.today_of(org)
        recurring.make_recurring(org.id, None, source, "monthly", today, None, 2, False)
        services.save_exemption(org.id, None, setup.charity.id, None, "Charity")
        assert recurring.run_schedules(org) == 1
        made = _db.session.execute(
            _db.select(Invoice).where(Invoice.id != source.id, Invoice.kind == "invoice")
        ).scalar_one()
        assert (made.tax_minor, made.total_minor, made.tax_exemption) == (0, 10000, "Charity")


def test_the_settings_page_exempts_and_lifts(client, setup, login, csrf_token):
    login(setup.alice)
    token = csrf_token()
    page = client.get(f"{BASE}/tax-exemptions")
    assert page.status_code == 200 and "Every customer is charged" in page.get_data(as_text=True)
    bad = client.post(
        f"{BASE}/tax-exemptions",
        data={"csrf_token": token, "customer": "Nobody Ltd", "reason": ""},
        headers={"HX-Request": "true"},
    )
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "<html" not in html
    assert "Say why no tax is charged" in html and 'value="Nobody Ltd"' in html
    saved = client.post(
        f"{BASE}/tax-exemptions",
        data={"csrf_token": token, "customer": "Helping Hands e.V.", "reason": "Charity"},
    )
    assert saved.status_code == 303
    with org_context(setup.org_a.id):
        exemption = _db.session.execute(_db.select(TaxExemption)).scalar_one()
        assert (exemption.company_id, exemption.reason) == (setup.charity.id, "Charity")
    listed = client.get(f"{BASE}/tax-exemptions").get_data(as_text=True)
    assert "Helping Hands e.V." in listed and "Charity" in listed
    form = client.get(f"{BASE}/invoices/new?company={setup.charity.id}").get_data(as_text=True)
    assert "exempt from tax" in form
    removed = client.post(
        f"{BASE}/tax-exemptions/{exemption.id}/remove", data={"csrf_token": token}
    )
    assert removed.status_code == 303
    with org_context(setup.org_a.id):
        assert _db.session.execute(_db.select(TaxExemption)).first() is None


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/tax-exemptions"), ("post", "/tax-exemptions"), ("post", "/tax-exemptions/1/remove")],
)
def test_only_finance_admins_manage_exemptions(client, setup, login, csrf_token, method, path):
    login(setup.carol)  # a member: finance:edit, not finance:admin
    token = csrf_token()
    response = getattr(client, method)(BASE + path, data={"csrf_token": token})
    assert response.status_code == 403


def test_another_organizations_exemption_is_not_found(client, setup, login, csrf_token):
    with org_context(setup.org_b.id):
        other = factories.make_company(setup.org_b)
        exemption = services.save_exemption(setup.org_b.id, None, other.id, None, "Export")
        _db.session.commit()
    login(setup.alice)
    response = client.post(
        f"{BASE}/tax-exemptions/{exemption.id}/remove", data={"csrf_token": csrf_token()}
    )
    assert response.status_code == 404
    assert client.get(f"{BASE}/tax-exemptions/{exemption.id}/remove").status_code == 405


def test_a_draft_takes_an_exemption_when_it_is_saved_again(setup):
    from startvora.finance.schemas import InvoiceIn

    org = setup.org_a
    with org_context(org.id):
        draft = factories.make_invoice(org, setup.charity, lines(setup.vat))
        assert draft.tax_minor == 1900
        services.save_exemption(org.id, None, setup.charity.id, None, "Charity")
        data = InvoiceIn.model_validate(
            {"company_id": setup.charity.id, "lines": lines(setup.vat)},
            context={"currency": "EUR", "locale": "en"},
        )
        again = services.save_draft(org.id, None, data, draft)
        assert (again.id, again.tax_minor, again.tax_exemption) == (draft.id, 0, "Charity")
