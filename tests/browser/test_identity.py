"""Identity in a real browser: first-run setup, two-factor, invitations, switching orgs."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import check_accessibility, sign_in

pytestmark = pytest.mark.browser


def test_first_run_setup(live_server, page):
    live_server.empty()
    base = live_server.url
    page.goto(base + "/")
    expect(page).to_have_url(base + "/setup")
    check_accessibility(page)
    page.fill("#f-org_name", "Harbour Bakery")
    page.fill("#f-name", "Hana Baker")
    page.fill("#f-email", "hana@harbour.test")
    page.fill("#f-password", "password123")
    page.click("#setup-form button[type=submit]")
    expect(page.locator("#f-password-error")).to_contain_text("too common")
    page.fill("#f-password", "flour and water and salt")
    page.click("#setup-form button[type=submit]")
    expect(page).to_have_url(base + "/o/harbour-bakery/")
    expect(page.locator("h1")).to_contain_text("Good to see you, Hana")
    expect(page.locator(".toast")).to_contain_text("Welcome to Startvora")


def test_two_factor_enrolment_and_sign_in(live_server, page):
    who = live_server.seed()
    base = live_server.url
    sign_in(page, base, who["email"], who["password"])
    page.goto(base + "/profile/")
    check_accessibility(page)
    page.get_by_role("link", name="Turn on two-factor sign-in").click()
    expect(page.locator(".qr svg")).to_be_visible()
    check_accessibility(page)
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    totp = pyotp.TOTP(secret)
    page.fill("#f-code", totp.now())
    page.get_by_role("button", name="Turn on").click()
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    check_accessibility(page)
    page.get_by_role("link", name="I have saved them").click()
    expect(page.locator("#two-factor .badge.ok")).to_be_visible()

    page.locator(".user-menu > summary").click()
    page.get_by_role("button", name="Sign out", exact=True).click()
    expect(page).to_have_url(re.compile(r"/sign-in"))
    page.fill("#f-email", who["email"])
    page.fill("#f-password", who["password"])
    page.click("#sign-in-form button[type=submit]")
    expect(page).to_have_url(base + "/sign-in/code")
    check_accessibility(page)
    # The enrolment code is spent; the next time step's code is the one to use.
    page.fill("#f-code", totp.at(time.time() + 30))
    page.click("#two-factor-form button[type=submit]")
    expect(page).to_have_url(base + "/o/acme/")


def test_invitation_accepted_by_a_second_person(live_server, browser, page, width):
    who = live_server.seed()
    base = live_server.url
    sign_in(page, base, who["email"], who["password"])
    page.goto(base + "/o/acme/members")
    page.fill("#invite-email", "newcomer@acme.test")
    page.select_option("#invite-role", "manager")
    page.get_by_role("button", name="Send invitation").click()
    link = page.locator("#invite-link").inner_text()
    expect(page.locator(".invitation")).to_contain_text("newcomer@acme.test")
    check_accessibility(page)

    w, h = (1280, 800) if width == "laptop" else (390, 844)
    context = browser.new_context(viewport={"width": w, "height": h})
    guest = context.new_page()
    errors = []
    guest.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    guest.goto(link)
    expect(guest.locator("h1")).to_have_text("Join Acme Trading")
    check_accessibility(guest)
    guest.fill("#f-name", "Nico Newcomer")
    guest.fill("#f-password", "a new member's passphrase")
    guest.fill("#f-confirm", "a new member's passphrase")
    guest.click("#accept-form button[type=submit]")
    expect(guest).to_have_url(base + "/o/acme/")
    expect(guest.locator("h1")).to_contain_text("Good to see you, Nico")
    context.close()
    assert errors == []

    # No reload: the open members page hears "members changed" and refreshes its list.
    expect(page.locator("#members-list")).to_contain_text("Nico Newcomer", timeout=10_000)


def test_switching_organizations(live_server, page):
    who = live_server.seed()
    base = live_server.url
    sign_in(page, base, who["email"], who["password"])
    page.goto(base + "/orgs/new")
    page.fill("#f-name", "Second Shop")
    page.get_by_role("button", name="Create organization").click()
    expect(page).to_have_url(base + "/o/second-shop/settings")
    check_accessibility(page)
    page.locator(".org-switch").click()
    page.locator(".menu-panel").get_by_role("link", name="Acme Trading").click()
    expect(page).to_have_url(base + "/o/acme/")
    expect(page.locator(".org-switch")).to_contain_text("Acme Trading")
    page.locator(".org-switch").click()
    page.locator(".menu-panel").get_by_role("link", name="Second Shop").click()
    expect(page).to_have_url(base + "/o/second-shop/")
