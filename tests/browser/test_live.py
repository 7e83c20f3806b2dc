"""Live updates in a real browser: a notification reaches another open page without a reload."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from startvora.extensions import db
from tests import factories
from tests.browser.conftest import WIDTHS, check_accessibility, sign_in

pytestmark = pytest.mark.browser


def second_admin(live_server) -> dict[str, str]:
    with live_server.app.app_context():
        from startvora.orgs.models import Organization

        org = db.session.execute(db.select(Organization)).scalar_one()
        factories.make_member(org, "admin", name="Adam Admin", email="adam@acme.test")
        db.session.commit()
    return {"email": "adam@acme.test", "password": factories.PASSWORD}


def invite(page: Page, base: str, email: str) -> None:
    page.goto(base + "/o/acme/members")
    page.fill("#invite-email", email)
    page.get_by_role("button", name="Send invitation").click()
    expect(page.locator(".invitation").first).to_contain_text(email)


def test_notification_appears_in_another_open_page(live_server, browser, page, width):
    who = live_server.seed()
    adam = second_admin(live_server)
    base = live_server.url
    sign_in(page, base, who["email"], who["password"])
    expect(page.locator("html")).to_have_attribute("data-live", "stream")
    badge = page.locator("#bell-badge")
    expect(badge).to_have_text("")

    w, h = WIDTHS[width]
    context = browser.new_context(viewport={"width": w, "height": h})
    other = context.new_page()
    sign_in(other, base, adam["email"], adam["password"])
    invite(other, base, "newcomer@acme.test")
    context.close()

    # No reload: the event stream brings the count to the page that was already open.
    expect(badge.locator(".count")).to_have_text("1", timeout=10_000)
    page.get_by_role("link", name="Notifications").click()
    expect(page.locator(".notification-list .unread")).to_contain_text(
        "Adam Admin invited newcomer@acme.test as member"
    )
    check_accessibility(page)
    page.locator(".notification-list .unread button").click()
    expect(page).to_have_url(base + "/o/acme/members")
    expect(badge).to_have_text("")


def test_pages_poll_while_the_stream_is_refused(live_server, browser, page):
    who = live_server.seed()
    adam = second_admin(live_server)
    base = live_server.url
    page.allowed_statuses.add(503)  # type: ignore[attr-defined]
    page.allowed_errors.append("[object Event]")  # type: ignore[attr-defined]  # htmx logs sseError
    page.route("**/live", lambda route: route.fulfill(status=503, body="busy"))
    sign_in(page, base, who["email"], who["password"])
    expect(page.locator("html")).to_have_attribute("data-live", "polling")

    context = browser.new_context()
    other = context.new_page()
    sign_in(other, base, adam["email"], adam["password"])
    invite(other, base, "second@acme.test")
    context.close()
    expect(page.locator("#bell-badge .count")).to_have_text("1", timeout=10_000)
