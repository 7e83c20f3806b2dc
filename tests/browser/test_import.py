"""Importing contacts in a real browser: upload, map, preview, progress, the error file."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import check_accessibility, sign_in

pytestmark = pytest.mark.browser

PEOPLE = """Given name,Surname,E-mail Address,Telephone,Organisation
Ada,Lovelace,ada@example.com,+44 20 7946 0000,Engines
Grace,Hopper,grace@example.com,+1 555 0100,Navy
Alan,Turing,alan(at)example.com,,
Edsger,Dijkstra,edsger@example.com,call me,
Barbara,Liskov,barbara@example.com,,
"""


def test_import_a_csv_with_bad_rows_and_download_the_errors(live_server, page, tmp_path: Path):
    who = live_server.seed()
    base = live_server.url
    sign_in(page, base, who["email"], who["password"])
    page.goto(base + "/o/acme/crm/contacts/import")
    expect(page.get_by_role("heading", name="Import contacts")).to_be_visible()
    check_accessibility(page)

    page.set_input_files(
        "#f-file",
        files=[{"name": "people.csv", "mimeType": "text/csv", "buffer": PEOPLE.encode()}],
    )
    page.get_by_role("button", name="Upload and continue").click()
    expect(page).to_have_url(re.compile(r"/imports/\d+/map$"))
    expect(page.locator(".file-facts")).to_contain_text("5 rows")

    # The suggested mapping, from names unlike the fields' own.
    expect(page.get_by_label("Given name")).to_have_value("first_name")
    expect(page.get_by_label("E-mail Address")).to_have_value("email")
    expect(page.get_by_label("Organisation")).to_have_value("company")
    preview = page.locator("#import-preview")
    expect(preview.locator("tbody tr")).to_have_count(5)
    expect(preview.locator(".badge.bad")).to_have_count(3)  # 2 rows + the "with errors" count
    check_accessibility(page)

    # Leaving the phone out clears its error in the preview, without a reload.
    page.get_by_label("Telephone").select_option("")
    expect(preview.locator("tbody .badge.bad")).to_have_count(1)
    page.get_by_label("Telephone").select_option("phone")
    expect(preview.locator("tbody .badge.bad")).to_have_count(2)

    page.get_by_role("button", name="Import 5 rows").click()
    expect(page).to_have_url(re.compile(r"/imports/\d+$"))
    status = page.locator("#import-status")
    expect(status.get_by_role("heading", name="Import finished")).to_be_visible()
    expect(status.locator(".count.ok dd")).to_have_text("3")
    expect(status.locator(".count.bad dd")).to_have_text("2")
    check_accessibility(page)

    with page.expect_download() as info:
        page.get_by_role("link", name="Download rows with errors").click()
    download = info.value
    assert re.fullmatch(r"people-errors-\d{4}-\d\d-\d\d\.csv", download.suggested_filename)
    saved = tmp_path / "errors.csv"
    download.save_as(saved)
    rows = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))
    assert rows[0] == [
        "Given name",
        "Surname",
        "E-mail Address",
        "Telephone",
        "Organisation",
        "Error",
    ]
    assert [r[0] for r in rows[1:]] == ["Alan", "Edsger"]
    assert "Enter an email address like name@example.com." in rows[1][-1]
    assert rows[2][-1] == "Telephone: Enter a phone number like +49 30 1234567."

    page.get_by_role("link", name="Go to the contacts").click()
    expect(page.locator("[data-list-summary]")).to_have_text("3 results")
    expect(page.get_by_role("link", name="Ada Lovelace")).to_be_visible()
