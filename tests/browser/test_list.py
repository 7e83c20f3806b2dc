"""The list component in a real browser: search, filter, sort, pages, bulk select, confirm."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import check_accessibility, sign_in

pytestmark = pytest.mark.browser


def names(page):
    return page.locator("#members-list tbody .cell-main > span:not(.avatar)").evaluate_all(
        "els => els.map(e => e.firstChild.textContent.trim())"
    )


def test_search_sort_and_pages(live_server, page):
    who = live_server.seed(members=30)
    base = live_server.url
    sign_in(page, base, who["email"], who["password"])
    page.goto(base + "/o/acme/members")
    summary = page.locator("[data-list-summary]")
    expect(summary).to_have_text("31 results")
    check_accessibility(page)

    rows = page.locator("#members-list tbody tr")
    expect(rows).to_have_count(25)
    page.get_by_role("link", name="Next").click()
    expect(rows).to_have_count(6)
    expect(page).to_have_url(re.compile(r"after="))
    page.get_by_role("link", name="Previous").click()
    expect(rows).to_have_count(25)

    page.get_by_placeholder("Search by name or email").fill("P2")
    expect(summary).to_have_text("10 results")  # p20@ ... p29@
    expect(page).to_have_url(re.compile(r"q=P2"))
    assert all(n.startswith("Person 2") for n in names(page))

    page.get_by_placeholder("Search by name or email").fill("")
    page.locator("#members-list-f-role").select_option("owner")
    expect(summary).to_have_text("1 result")
    page.locator("#members-list-f-role").select_option("")
    expect(summary).to_have_text("31 results")

    if page.viewport_size["width"] > 640:  # headers are hidden on phones
        page.locator("#members-list thead").get_by_role("link", name="Name").click()
        expect(page).to_have_url(re.compile(r"dir=desc"))
        listed = names(page)
        assert listed == sorted(listed, key=str.lower, reverse=True)

    page.goto(base + "/o/acme/members?q=zzz")
    expect(page.get_by_role("heading", name="Nothing matches")).to_be_visible()
    check_accessibility(page)
    page.go_back()
    expect(page).to_have_url(re.compile(r"/members"))


def test_bulk_remove_asks_first(live_server, page):
    who = live_server.seed(members=3)
    base = live_server.url
    sign_in(page, base, who["email"], who["password"])
    page.goto(base + "/o/acme/members?q=person")
    bar = page.locator("[data-bulk-bar]")
    expect(bar).to_be_hidden()
    boxes = page.locator("#members-list tbody input[name=ids]")
    boxes.nth(0).check()
    boxes.nth(1).check()
    expect(bar).to_be_visible()
    expect(page.locator("[data-bulk-count]")).to_have_text("2 selected")
    check_accessibility(page)

    bar.get_by_role("button", name="Remove").click()
    dialog = page.locator("#confirm")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Remove the selected people")
    check_accessibility(page)
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#members-list tbody tr")).to_have_count(3)

    bar.get_by_role("button", name="Remove").click()
    dialog.get_by_role("button", name="Confirm").click()
    expect(page.locator(".toast")).to_contain_text("Removed 2 people.")
    expect(page.locator("#members-list tbody tr")).to_have_count(1)
    check_accessibility(page)
    expect(page).to_have_url(re.compile(r"q=person"))

    page.locator("[data-select-all]:visible").check()
    expect(page.locator("[data-bulk-count]")).to_have_text("1 selected")
