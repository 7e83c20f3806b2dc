"""An invoice in a real browser: pick a customer and a product, watch the totals, issue it,
email it (to a real SMTP server), record a payment and see it paid."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page, expect

from startvora.core.tenancy import org_context
from startvora.extensions import db
from tests import factories
from tests.browser.conftest import check_accessibility, sign_in

pytestmark = pytest.mark.browser


def seed_shop(live_server, smtp_port: int | None = None) -> dict[str, object]:
    who = live_server.seed()
    with live_server.app.app_context():
        from startvora.orgs.models import Organization

        org = db.session.execute(db.select(Organization)).scalar_one()
        with org_context(org.id):
            vat = factories.make_tax_rate(org, "VAT", "19")
            factories.make_company(
                org, name="Globex GmbH", city="Berlin", email="billing@globex.test"
            )
            if smtp_port:
                from startvora.core.mail import MailServer

                db.session.add(
                    MailServer(org_id=org.id, host="127.0.0.1", port=smtp_port, security="none",
                               from_address="office@acme.test")
                )  # fmt: skip
            factories.make_product(
                org, name="Workshop day", sku="WS-1", unit="day", prices={"EUR": 140000},
                tax_ids=[vat.id],
            )  # fmt: skip
            db.session.commit()
    return who


def test_create_issue_email_and_get_paid(live_server, page: Page, width, smtp_server):
    port, received = smtp_server
    who = seed_shop(live_server, port)
    sign_in(page, live_server.url, who["email"], who["password"])
    page.goto(live_server.url + "/o/acme/finance/invoices/new")
    page.fill("#f-customer", "Globex")
    expect(page.locator("#customer-options option")).to_have_count(1)  # suggested as typed
    page.fill("#f-customer", "Globex GmbH")
    page.fill("#f-lines-0-product", "Workshop day · WS-1")
    page.fill("#f-lines-0-quantity", "2")
    page.locator("#f-lines-0-quantity").blur()
    # The product fills the line and the totals follow: 2 x 1,400.00 + 19 % VAT.
    expect(page.locator("#f-lines-0-description")).to_have_value("Workshop day")
    expect(page.locator(".totals .grand").last).to_have_text("€3,332.00")
    page.get_by_role("button", name="Add a line").click()
    page.fill("#f-lines-1-description", "Travel")
    page.fill("#f-lines-1-unit_price", "120.50")
    page.locator("#f-lines-1-unit_price").blur()
    expect(page.locator(".totals .grand").last).to_have_text("€3,452.50")
    check_accessibility(page)
    page.get_by_role("button", name="Save and issue").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("INV-")
    expect(page.locator(".invoice-headline .badge")).to_have_text("Unpaid")

    page.get_by_role("link", name="Send", exact=True).click()
    expect(page.locator("#f-to")).to_have_value("billing@globex.test")
    page.get_by_role("button", name="Send the invoice").click()
    expect(page.get_by_text("The invoice is on its way to billing@globex.test.")).to_be_visible()
    history = page.locator("section[aria-labelledby=s-history]")
    expect(history.locator("dt:text-is('Sent') + dd")).not_to_have_text("Not yet")
    deadline = time.monotonic() + 10
    while not received and time.monotonic() < deadline:
        time.sleep(0.1)
    (message,) = received
    assert message["To"] == "billing@globex.test"
    names = [p.get_filename() for p in message.walk() if p.get_filename()]
    assert len(names) == 1 and names[0].startswith("INV-") and names[0].endswith(".pdf")

    page.get_by_role("link", name="Record a payment").click()
    expect(page.locator("#f-amount")).to_have_value("3452.50")
    page.fill("#f-amount", "3500")
    page.get_by_role("button", name="Record the payment").click()
    expect(page.locator(".error, .alert").first).to_contain_text("more than the balance")
    page.fill("#f-amount", "3452.50")
    page.get_by_role("button", name="Record the payment").click()
    expect(page.locator(".invoice-headline .badge")).to_have_text("Paid")
    expect(page.locator(".payment-list")).to_contain_text("€3,452.50")
    check_accessibility(page)
