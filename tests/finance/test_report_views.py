"""Report pages, their filters and exports, and the reports in the API: figures of the known set
of tests/finance/test_reports.py, htmx fragments, messages for bad input, who may see them."""

from __future__ import annotations

import csv
import io
import subprocess

import pytest

from startvora.auth import tokens
from startvora.core import permissions
from startvora.core.audit import AuditEvent
from startvora.core.tenancy import org_context
from startvora.extensions import db as _db
from startvora.finance.ledger import PeriodTotal
from tests.finance.test_reports import known_set, set_clock

BASE = "/o/acme/finance/reports"
Q1 = "start=2026-01-01&end=2026-03-31"
PAGES = [
    # path, what the page shows for the known set
    ("", ["Profit and loss", "Receivables aging", "€1,330.00", "€287.50", "€772.50",
          "Largest: Pat Jones", "€900.00", "€1,042.50", "€690.50"]),
    (f"/profit-and-loss?{Q1}", ["Jan 2026", "€430.00", "-€570.00", "Rent", "€1,042.50",
                                "€287.50"]),
    ("/profit-and-loss?range=this_year&by=quarter", ["Q1 2026", "Q4 2026", "€1,330.00"]),
    ("/receivables-aging", ["Pat Jones", "€513.00", "€200.00", "€59.50", "€772.50"]),
    ("/receivables-aging?as_of=2026-03-15", ["€119.00", "€832.00", "Mar 15, 2026"]),
    (f"/tax-summary?{Q1}", ["Reduced", "7%", "€63.00", "€43.70", "€190.00", "-€83.30",
                            "Tax to reclaim for this period: €83.30."]),
    (f"/revenue-by-customer?{Q1}", ["Pat Jones", "Globex", "67.7%", "€1,330.00"]),
    (f"/revenue-by-product?{Q1}", ["Desk", "Other lines", "Chair", "€230.00"]),
    (f"/expenses-by-category?{Q1}", ["Rent", "Travel", "95.9%", "€42.50", "1 expense"]),
    (f"/cash-received?{Q1}", ["Bank transfer", "Card", "€390.50", "-€59.50", "€690.50"]),
]  # fmt: skip
REPORT_PATHS = [
    "/profit-and-loss", "/receivables-aging", "/tax-summary", "/revenue-by-customer",
    "/revenue-by-product", "/expenses-by-category", "/cash-received",
]  # fmt: skip
ALL_URLS = ["", *REPORT_PATHS, *(f"{p}/export?format=csv" for p in REPORT_PATHS)]


@pytest.fixture
def books(people, monkeypatch):
    """The known set of test_reports.py; today is 15 April 2026."""
    return known_set(people, set_clock(monkeypatch))


@pytest.mark.parametrize(("path", "shown"), PAGES)
def test_each_page_shows_the_figures(client, books, login, path, shown):
    login(books.carol)
    response = client.get(BASE + path)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" in page
    assert [text for text in shown if text not in page] == []


def test_the_reports_are_in_the_navigation(client, books, login):
    login(books.bob)
    page = client.get(f"{BASE}/tax-summary").get_data(as_text=True)
    assert f'<a href="{BASE}" aria-current="page">' in page


def test_a_filter_change_is_a_fragment_whose_links_keep_the_filters(client, books, login):
    login(books.carol)
    response = client.get(f"{BASE}/profit-and-loss?range=this_year&by=quarter",
                          headers={"HX-Request": "true"})  # fmt: skip
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in page
    assert "HX-Request" in response.headers["Vary"]
    assert 'hx-push-url="true"' in page and "Q2 2026" in page
    # presets keep the columns; the columns keep the preset; exports carry both
    assert f"{BASE}/profit-and-loss?range=last_year&amp;by=quarter" in page
    assert f"{BASE}/profit-and-loss?range=this_year&amp;by=year" in page
    assert f"{BASE}/profit-and-loss/export?format=pdf&amp;range=this_year&amp;by=quarter" in page
    assert 'aria-current="page">This year<' in page and 'aria-current="page">Quarters<' in page
    custom = client.get(f"{BASE}/tax-summary?start=2026-02-10&end=2026-02-20",
                        headers={"HX-Request": "true"}).get_data(as_text=True)  # fmt: skip
    assert "dates were widened to Feb 1 – 28, 2026." in custom.replace("\u2009", " ")
    assert f"{BASE}/tax-summary/export?format=csv&amp;start=2026-02-01&amp;end=2026-02-28" in custom


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/profit-and-loss?start=2026-03-01&end=2026-01-31", "The end is before the start."),
        ("/tax-summary?start=2026-02-30&end=2026-03-31", "Enter a date like 2026-03-31."),
        ("/cash-received?start=2010-01-01&end=2026-03-31", "Choose at most 10 years."),
        ("/profit-and-loss?by=fortnight", "Choose months, quarters or years."),
        ("/revenue-by-customer?range=someday", "Choose one of the periods offered"),
        ("/receivables-aging?as_of=2026-04-16", "Choose today or an earlier date."),
        ("/receivables-aging?as_of=yesterday", "Enter a date like 2026-03-31."),
        ("/expenses-by-category/export?format=pdf&start=2026-03-01&end=2026-01-31",
         "The end is before the start."),
    ],
)  # fmt: skip
@pytest.mark.parametrize("htmx", [True, False])
def test_bad_input_is_a_message_on_the_page(client, books, login, path, message, htmx):
    login(books.carol)
    response = client.get(BASE + path, headers={"HX-Request": "true"} if htmx else {})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in page and ("<html" in page) is not htmx
    assert "/export?" not in page  # nothing to export until the filters are right


def test_the_typed_dates_stay_to_be_corrected(client, books, login):
    login(books.carol)
    page = client.get(f"{BASE}/profit-and-loss?start=2026-03-01&end=2026-01-31").get_data(
        as_text=True
    )
    assert 'value="2026-03-01"' in page and 'value="2026-01-31"' in page
    assert (
        'id="f-end" name="end" type="date" value="2026-01-31" required aria-invalid="true"' in page
    )


def test_csv_export_of_the_profit_and_loss_is_audited(client, books, login):
    login(books.carol)
    response = client.get(f"{BASE}/profit-and-loss/export?format=csv&{Q1}&by=month")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "Profit-and-loss" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows == [
        ["Amounts in EUR", "Jan 2026", "Feb 2026", "Mar 2026", "Total"],
        ["Sales", "430.00", "900.00", "0.00", "1330.00"],
        ["Expenses", "", "", "", ""],
        ["Rent", "1000.00", "0.00", "0.00", "1000.00"],
        ["Travel", "0.00", "42.50", "0.00", "42.50"],
        ["Total expenses", "1000.00", "42.50", "0.00", "1042.50"],
        ["Net profit", "'-570.00", "857.50", "0.00", "287.50"],  # a spreadsheet-safe minus
    ]
    with org_context(books.org_a.id):
        event = _db.session.execute(
            _db.select(AuditEvent).where(AuditEvent.action == "finance.report_exported")
        ).scalar_one()
    assert event.actor_id == books.carol.id and event.data == {
        "report": "profit-and-loss", "format": "csv",
        "filters": {"start": "2026-01-01", "end": "2026-03-31", "by": "month"},
    }  # fmt: skip


def test_xlsx_export_opens_with_numbers(client, books, login):
    from openpyxl import load_workbook

    login(books.carol)
    response = client.get(f"{BASE}/revenue-by-customer/export?format=xlsx&{Q1}")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    assert [[c.value for c in row] for row in sheet.iter_rows()] == [
        ["Customer", "Net sales", "Share (%)"],
        ["Pat Jones", 900.0, 67.7],
        ["Globex", 230.0, 17.3],
        ["Initech", 200.0, 15.0],
        ["Total", 1330.0, 100.0],
    ]


@pytest.mark.parametrize(
    ("path", "shown", "landscape"),
    [
        (f"/profit-and-loss/export?format=pdf&{Q1}", ["JAN 2026", "430.00", "-570.00", "287.50"],
         False),
        ("/profit-and-loss/export?format=pdf&range=this_year", ["DEC 2026", "1,330.00"], True),
        ("/receivables-aging/export?format=pdf", ["Pat Jones", "513.00", "772.50"], True),
        (f"/tax-summary/export?format=pdf&{Q1}", ["Reduced", "63.00", "-83.30"], False),
        (f"/cash-received/export?format=pdf&{Q1}", ["BANK TRANSFER", "-59.50", "690.50"], False),
    ],
)  # fmt: skip
def test_pdf_export_prints_the_figures(client, books, login, tmp_path, path, shown, landscape):
    login(books.carol)
    response = client.get(BASE + path)
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    assert response.headers["Cache-Control"] == "private, no-store"
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(response.data)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout  # fmt: skip
    assert [s for s in shown if s not in text] == [] and "Acme Trading" in text
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
    width, height = (float(v) for v in info.split("Page size:")[1].split("pts")[0].split(" x "))
    assert (width > height) is landscape


@pytest.mark.parametrize(("paper", "size"), [("A4", "(A4)"), ("Letter", "(letter)")])
def test_pdf_paper_follows_the_finance_settings(client, books, login, tmp_path, paper, size):
    from startvora.finance import services

    with org_context(books.org_a.id):
        services.settings_to_change(books.org_a.id).paper = paper
        _db.session.commit()
    login(books.carol)
    pdf = tmp_path / "tax.pdf"
    pdf.write_bytes(client.get(f"{BASE}/tax-summary/export?format=pdf&{Q1}").data)
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
    assert size in info.split("Page size:")[1].splitlines()[0]


def test_long_lists_end_with_the_others_added_up(client, books, login, monkeypatch, tmp_path):
    from startvora.finance.report_views import common, exports

    monkeypatch.setattr(common, "PAGE_LIMIT", 1)
    monkeypatch.setattr(exports, "PDF_LIMIT", 2)
    login(books.carol)
    page = client.get(f"{BASE}/receivables-aging").get_data(as_text=True)
    assert "Pat Jones" in page and "Initech" not in page and "2 more customers" in page
    assert "€259.50" in page  # 200.00 + 59.50, in the others' line
    pdf = tmp_path / "customers.pdf"
    pdf.write_bytes(client.get(f"{BASE}/revenue-by-customer/export?format=pdf&{Q1}").data)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    assert "Globex" in text and "Initech" not in text and "1 more" in text
    assert "Excel exports list every one" in " ".join(text.split())
    rows = client.get(f"{BASE}/revenue-by-customer/export?format=csv&{Q1}").get_data(as_text=True)
    assert "Initech" in rows  # the spreadsheets have every one


@pytest.mark.parametrize("path", REPORT_PATHS)
@pytest.mark.parametrize("fmt", ["csv", "xlsx", "pdf"])
def test_every_report_exports_in_every_format(client, books, login, path, fmt):
    login(books.bob)  # a viewer may export what they may see
    response = client.get(f"{BASE}{path}/export?format={fmt}&{Q1}")
    assert response.status_code == 200 and "attachment;" in response.headers["Content-Disposition"]
    assert response.headers["Content-Disposition"].endswith(f'.{fmt}"')


def test_an_unknown_report_or_format_is_404(client, books, login):
    login(books.carol)
    assert client.get(f"{BASE}/balance-sheet/export?format=csv").status_code == 404
    assert client.get(f"{BASE}/tax-summary/export?format=docx").status_code == 404


def test_a_database_without_totals_gets_them_on_first_view(client, books, login):
    with org_context(books.org_a.id):
        _db.session.execute(_db.delete(PeriodTotal))
        _db.session.commit()
    login(books.carol)
    page = client.get(f"{BASE}/profit-and-loss?{Q1}").get_data(as_text=True)
    assert "€287.50" in page


@pytest.mark.parametrize("path", ALL_URLS)
def test_sign_in_is_needed(client, books, path):
    response = client.get(BASE + path)
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


@pytest.mark.parametrize("path", ALL_URLS)
def test_a_member_of_another_organization_gets_404(client, books, login, path):
    login(books.charlie)
    assert client.get(BASE + path).status_code == 404


@pytest.mark.parametrize("path", ALL_URLS)
def test_a_role_without_finance_view_is_refused(client, books, login, monkeypatch, path):
    viewer = permissions.PERMISSIONS["viewer"] - {"finance:view"}
    monkeypatch.setitem(permissions.PERMISSIONS, "viewer", viewer)
    login(books.bob)
    assert client.get(BASE + path).status_code == 403
    assert f'href="{BASE}"' not in client.get("/o/acme/").get_data(as_text=True)


# -- the API -------------------------------------------------------------------------------------


@pytest.fixture
def token(books):
    with org_context(books.org_a.id):
        _, plain = tokens.create_token(books.bob, books.org_a.id, "reports")
        _db.session.commit()
    return {"Authorization": f"Bearer {plain}"}


def test_the_api_gives_the_same_figures(client, books, token):
    pnl = client.get(f"/api/v1/reports/profit-and-loss?{Q1}", headers=token).get_json()
    assert [p["label"] for p in pnl["periods"]] == ["Jan 2026", "Feb 2026", "Mar 2026"]
    net = pnl["lines"][-1]
    assert (net["key"], net["amounts"], net["amounts_minor"], net["total"]) == (
        "net_profit", ["-570.00", "857.50", "0.00"], [-57000, 85750, 0], "287.50",
    )  # fmt: skip
    aging = client.get("/api/v1/reports/receivables-aging?as_of=2026-03-15", headers=token)
    body = aging.get_json()
    assert (body["total"], body["totals_minor"]["1_30"], body["open_invoices"]) == (
        "832.00",
        51300,
        3,
    )
    assert body["customers"][0] == {
        "customer": f"contact:{books.ids['pat']}", "name": "Pat Jones", "open_invoices": 1,
        "buckets": {"current": "0.00", "1_30": "513.00", "31_60": "0.00", "61_90": "0.00",
                    "over_90": "0.00"},
        "buckets_minor": {"current": 0, "1_30": 51300, "31_60": 0, "61_90": 0, "over_90": 0},
        "total": "513.00", "total_minor": 51300,
    }  # fmt: skip
    tax = client.get(f"/api/v1/reports/tax-summary?{Q1}", headers=token).get_json()
    assert [(r["name"], r["rate"], r["net"]) for r in tax["rates"]] == [
        ("Reduced", "7", "63.00"), ("VAT", "19", "-146.30"),
    ]  # fmt: skip
    assert (tax["total"]["rate"], tax["total"]["net_minor"]) == (None, -8330)
    cash = client.get(f"/api/v1/reports/cash-received?{Q1}", headers=token).get_json()
    assert cash["months"][2]["amounts_minor"] == {"bank_transfer": -5950, "card": 0}
    assert (cash["total"], cash["methods"][0]["share"]) == ("690.50", "0.5655")


@pytest.mark.parametrize(
    ("path", "first", "total"),
    [
        ("revenue-by-customer", ("Pat Jones", "900.00", "0.6767"), "1330.00"),
        ("revenue-by-product", ("Desk", "900.00", "0.6767"), "1330.00"),
        ("expenses-by-category", ("Rent", "1000.00", "0.9592"), "1042.50"),
    ],
)
def test_the_api_shares(client, books, token, path, first, total):
    body = client.get(f"/api/v1/reports/{path}?{Q1}", headers=token).get_json()
    item = body["items"][0]
    assert (item["label"], item["amount"], item["share"]) == first and body["total"] == total


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        ("profit-and-loss?start=2026-03-01&end=2026-01-01", "`end`: The end is before the start."),
        ("profit-and-loss?by=week", "`by`: Choose months, quarters or years."),
        ("tax-summary?start=nope&end=2026-01-01", "`start`: Enter a date like 2026-03-31."),
        ("receivables-aging?as_of=2999-01-01", "`as_of`: Choose today or an earlier date."),
    ],
)
def test_bad_api_parameters_are_problems(client, books, token, query, detail):
    response = client.get(f"/api/v1/reports/{query}", headers=token)
    assert response.status_code == 400 and response.mimetype == "application/problem+json"
    assert response.get_json()["detail"] == detail


def test_the_api_needs_a_token_and_documents_the_reports(client, books):
    assert client.get("/api/v1/reports/profit-and-loss").status_code == 401
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {p for p in paths if p.startswith("/api/v1/reports/")} == {
        f"/api/v1/reports{p}" for p in REPORT_PATHS
    }
    names = [q["name"] for q in paths["/api/v1/reports/profit-and-loss"]["get"]["parameters"]]
    assert names == ["range", "start", "end", "by"]
