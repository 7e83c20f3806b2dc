"""The shell in a real browser: sign-in, navigation at both widths, theme, dialogs, errors."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import WIDTHS, check_accessibility, sign_in

pytestmark = pytest.mark.browser


def test_sign_in_and_navigate(live_server, page, width):
    who = live_server.seed(members=3)
    base = live_server.url
    page.goto(base + "/")
    expect(page).to_have_url(re.compile(r"/sign-in\?next=/$"))
    check_accessibility(page)

    page.fill("#f-email", who["email"])
    page.fill("#f-password", "not the password")
    page.click("#sign-in-form button[type=submit]")
    expect(page.locator("#sign-in-form .alert.error")).to_contain_text("email or password is wrong")
    expect(page.locator("#f-email")).to_have_value(who["email"])
    expect(page.locator("#f-password")).to_be_focused()  # the email stays: type the password

    page.fill("#f-password", who["password"])
    page.click("#sign-in-form button[type=submit]")
    expect(page).to_have_url(base + "/o/acme/")
    expect(page.locator("h1")).to_contain_text("Good to see you, Olivia")
    check_accessibility(page)

    sidebar = page.locator("#sidebar")
    members_link = sidebar.get_by_role("link", name="Members")
    if width == "phone":
        expect(sidebar).not_to_be_in_viewport()
        page.get_by_role("button", name="Open navigation").click()
        expect(sidebar).to_be_in_viewport()
        page.keyboard.press("Escape")
        expect(sidebar).not_to_be_in_viewport()
        page.get_by_role("button", name="Open navigation").click()
    members_link.click()
    expect(page).to_have_url(base + "/o/acme/members")
    expect(members_link).to_have_attribute("aria-current", "page")
    check_accessibility(page)


def test_theme_follows_the_system_and_toggles(live_server, browser, width):
    who = live_server.seed()
    w, h = WIDTHS[width]
    context = browser.new_context(color_scheme="dark", viewport={"width": w, "height": h})
    page = context.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, live_server.url, who["email"], who["password"])
    expect(page.locator("h1")).to_be_visible()
    html = page.locator("html")
    background = "getComputedStyle(document.body).backgroundColor"
    expect(html).to_have_attribute("data-theme", "system")
    dark = page.evaluate(background)
    check_accessibility(page)

    toggle = page.locator("[data-theme-toggle]")
    toggle.click()
    expect(html).to_have_attribute("data-theme", "light")
    light = page.evaluate(background)
    assert light != dark
    check_accessibility(page)
    page.reload()
    expect(html).to_have_attribute("data-theme", "light")  # kept in a cookie, no flash
    toggle.click()
    expect(html).to_have_attribute("data-theme", "dark")
    assert page.evaluate(background) == dark
    toggle.click()
    expect(html).to_have_attribute("data-theme", "system")
    context.close()
    assert errors == []


def test_error_page_modal_and_keyboard(live_server, page):
    who = live_server.seed()
    base = live_server.url
    sign_in(page, base, who["email"], who["password"])
    expect(page.locator("h1")).to_be_visible()

    page.allowed_statuses.add(404)  # Chromium logs the deliberate 404 as a console error
    page.goto(base + "/o/acme/no-such-thing")
    expect(page.locator("#error-title")).to_have_text("Page not found")
    expect(page.locator("#sidebar")).to_have_count(1)
    check_accessibility(page)

    page.locator(".user-menu > summary").click()
    page.get_by_role("link", name="About Startvora").click()
    dialog = page.locator("#modal")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("htmx.org")
    check_accessibility(page)
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()

    # Keyboard: the skip link is the first stop and shows when focused.
    page.keyboard.press("Tab")
    skip = page.locator(".skip-link")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
