"""An expense in a real browser: enter it with a photo of the receipt, see the preview, approve
it and see it approved."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from startvora.core.tenancy import org_context
from startvora.extensions import db
from tests import factories
from tests.browser.conftest import check_accessibility, sign_in

pytestmark = pytest.mark.browser


def receipt_photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (300, 480), "wheat").save(out, "JPEG")
    return out.getvalue()


@pytest.mark.parametrize("width", ["laptop"])
def test_enter_an_expense_with_its_receipt_and_approve_it(live_server, page: Page, width):
    who = live_server.seed()
    with live_server.app.app_context():
        from startvora.orgs.models import Organization

        org = db.session.execute(db.select(Organization)).scalar_one()
        with org_context(org.id):
            factories.make_tax_rate(org, "VAT", "19")
            db.session.commit()
    sign_in(page, live_server.url, who["email"], who["password"])
    page.goto(live_server.url + "/o/acme/finance/expenses")
    expect(page.get_by_role("heading", name="No expenses yet")).to_be_visible()
    page.get_by_role("link", name="New expense").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New expense")

    page.fill("#f-vendor", "Café Central")
    page.fill("#f-category", "Meals")
    page.fill("#f-amount", "59.50")
    page.select_option("#f-tax_rate_id", label="VAT (19 %)")
    # The total follows the tax rate: 59.50 with 19 % included is 50.00 plus 9.50.
    expect(page.locator(".totals dd").first).to_have_text("€50.00")
    expect(page.locator("#f-vendor")).to_have_value("Café Central")
    page.set_input_files(
        "#f-receipt",
        files=[{"name": "lunch.jpg", "mimeType": "image/jpeg", "buffer": receipt_photo()}],
    )
    check_accessibility(page)
    page.get_by_role("button", name="Save the expense").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Café Central")
    expect(page.locator(".invoice-headline .badge")).to_have_text("Waiting for approval")
    expect(page.locator(".invoice-headline .invoice-amount")).to_have_text("€59.50")
    preview = page.get_by_role("img", name="Preview of lunch.jpg")
    expect(preview).to_be_visible()
    assert preview.evaluate("img => img.complete && img.naturalWidth > 0")
    check_accessibility(page)

    page.get_by_role("button", name="Approve").click()
    expect(page.locator(".invoice-headline .badge")).to_have_text("Approved")
    expect(page.locator("#toasts")).to_contain_text("Approved.")
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)
    expect(page.locator("#s-history + ul")).to_contain_text("Approved")

    page.goto(live_server.url + "/o/acme/finance/expenses")
    row = page.locator("tbody tr").first
    expect(row).to_contain_text("Café Central")
    expect(row.locator(".badge")).to_have_text("Approved")
    expect(row.locator("img")).to_have_count(1)
