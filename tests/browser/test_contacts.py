"""Contacts in a real browser: create one through the form, find it, log an activity."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import check_accessibility, sign_in

pytestmark = pytest.mark.browser


def test_create_a_contact_then_find_it(live_server, page, width):
    who = live_server.seed()
    base = live_server.url
    sign_in(page, base, who["email"], who["password"])
    page.goto(base + "/o/acme/crm/contacts")
    expect(page.locator(".empty h2")).to_have_text("No contacts yet")
    check_accessibility(page)
    page.locator("#main").get_by_role("link", name="New contact").first.click()
    expect(page.locator("h1")).to_have_text("New contact")
    page.fill("#f-first_name", "Zoë")
    page.fill("#f-last_name", "Ångström")
    page.fill("#f-email", "not an email")
    page.click("button[type=submit]:has-text('Save contact')")
    expect(page.locator("#f-email-error")).to_contain_text("email address")
    expect(page.locator("#f-first_name")).to_have_value("Zoë")  # nothing typed is lost
    check_accessibility(page)
    page.fill("#f-email", "zoe@example.com")
    page.fill("#f-tags", "vip, fair")
    page.click("button[type=submit]:has-text('Save contact')")
    expect(page.locator("h1")).to_have_text("Zoë Ångström")
    expect(page.locator(".timeline-list")).to_contain_text("Created")
    check_accessibility(page)

    page.fill("#a-subject", "Called about the offer")
    page.get_by_text("Call", exact=True).click()
    page.click("#activity-form button[type=submit]")
    expect(page.locator(".timeline-list")).to_contain_text("Called about the offer")

    page.goto(base + "/o/acme/crm/contacts")
    page.fill("#contacts-list-q", "zoe angstrom")
    expect(page.locator("#contacts-list")).to_contain_text("Zoë Ångström")
    expect(page.locator("[data-list-summary]")).to_have_text("1 result")
