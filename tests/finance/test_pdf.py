"""Invoice PDFs: A4 and Letter pages, the EPC (SEPA) QR code and when it is left out, drafts
and void invoices, long invoices, formats of the organization, and that printing fetches
nothing but data: URIs and the static folder."""

from __future__ import annotations

import datetime as dt
import io
import socket
import struct
import subprocess
from pathlib import Path

import pytest

from startvora.core.storage import storage
from startvora.core.tenancy import org_context
from startvora.extensions import db as _db
from startvora.finance import pdf, services
from startvora.finance.schemas import PaymentIn
from startvora.paths import resource_dir
from tests import factories

# pdftoppm and pdftotext come from poppler-utils, which scripts/test.sh installs: without them
# these tests fail (they are never skipped).

IBAN = "DE89370400440532013000"


@pytest.fixture
def acme(people):
    """Acme bills in EUR with two tax rates, a bank account and a customer with a contact."""
    org = people.org_a
    org.currency, org.legal_name, org.tax_id = "EUR", "Acme Trading GmbH", "DE123456789"
    org.address = "Hafenstraße 12\n20457 Hamburg"
    with org_context(org.id):
        settings = services.settings_to_change(org.id)
        settings.bank_name, settings.bic = "Sparkasse", "COBADEFFXXX"
        settings.iban = "DE89 3704 0044 0532 0130 00"  # as typed, with spaces
        people.settings = settings
        people.vat = factories.make_tax_rate(org, "VAT", "19")
        people.reduced = factories.make_tax_rate(org, "VAT reduced", "7")
        people.company = factories.make_company(
            org, name="Zoë Trading KG", street="Marktplatz 3", postal_code="28195", city="Bremen"
        )
        yield people


def invoice_of(acme, issue=True, currency=None, lines=None, **fields):
    """Three lines at two rates: net 349.99, tax 60.50, total 410.49."""
    vat, reduced = [acme.vat.id], [acme.reduced.id]
    lines = lines or [
        {"description": "Consulting", "quantity": "2", "unit_price": "100", "tax_ids": vat},
        {"description": "Hosting\nMarch", "quantity": "1", "unit": "month", "unit_price": "50",
         "tax_ids": reduced},
        {"description": "Setup", "quantity": "3", "unit_price": "33.33", "tax_ids": vat},
    ]  # fmt: skip
    fields.setdefault("issue_date", dt.date(2026, 3, 2))
    return factories.make_invoice(
        acme.org_a, acme.company, lines=lines, issue=issue, currency=currency, **fields
    )


def pay(acme, invoice, amount: str) -> None:
    data = PaymentIn.model_validate(
        {"paid_on": "2026-03-10", "amount": amount},
        context={"currency": invoice.currency, "locale": "en"},
    )
    services.record_payment(acme.org_a.id, None, invoice, data)


def render(acme, invoice) -> bytes:
    return pdf.invoice_pdf(invoice, acme.org_a, acme.settings)


def html_of(acme, invoice) -> str:
    return pdf.invoice_html(invoice, acme.org_a, acme.settings)


def pdf_to_png(data: bytes, out_dir: Path, dpi: int = 60) -> list[Path]:
    """One PNG per page (pdftoppm), in page order."""
    source = out_dir / "doc.pdf"
    source.write_bytes(data)
    subprocess.run(
        ["pdftoppm", "-r", str(dpi), "-png", str(source), str(out_dir / "page")], check=True
    )
    return sorted(out_dir.glob("page-*.png"))


def png_size(path: Path) -> tuple[int, int]:
    width, height = struct.unpack(">II", path.read_bytes()[16:24])  # the IHDR chunk
    return width, height


def text_of(data: bytes) -> str:
    done = subprocess.run(
        ["pdftotext", "-raw", "-", "-"], input=data, capture_output=True, check=True
    )
    return done.stdout.decode()


# -- the document -------------------------------------------------------------------------------


def test_an_issued_invoice_prints_on_one_a4_page(acme, tmp_path):
    data = render(acme, invoice_of(acme))
    assert data.startswith(b"%PDF-")
    pages = pdf_to_png(data, tmp_path)
    assert len(pages) == 1
    width, height = png_size(pages[0])
    assert height / width == pytest.approx(297 / 210, abs=0.01)
    text = text_of(data)
    for expected in (
        "INV-2026-0001",
        "Acme Trading GmbH",
        "Hafenstraße 12",
        "DE123456789",
        "Zoë Trading KG",
        "Marktplatz 3",
        "Consulting",
        "VAT reduced",
        "€410.49",  # total, in the organization's locale (en)
        "DE89 3704 0044 0532 0130 00",
        "COBADEFFXXX",
        "Page 1 of 1",
    ):
        assert expected in text, expected


def test_letter_paper(acme, tmp_path):
    acme.settings.paper = "Letter"
    pages = pdf_to_png(render(acme, invoice_of(acme)), tmp_path)
    width, height = png_size(pages[0])
    assert height / width == pytest.approx(11 / 8.5, abs=0.01)


def test_the_lines_the_tax_breakdown_and_the_totals(acme):
    html = html_of(acme, invoice_of(acme))
    assert "Hosting" in html and "March" in html and ">month<" in html
    assert ">Discount<" not in html  # no line has one
    assert "€349.99" in html and "€60.50" in html and "€410.49" in html
    assert "€299.99" in html and "€57.00" in html  # the 19 % base and tax
    assert "€50.00" in html and "€3.50" in html  # the 7 % base and tax
    lines = [{"description": "Bulk", "quantity": "1.5", "unit_price": "10", "discount": "12.5"}]
    html = html_of(acme, invoice_of(acme, lines=lines))
    assert ">Discount<" in html and "−12.5%" in html and ">1.5<" in html and "€13.13" in html


def test_payments_show_paid_and_balance_due(acme):
    invoice = invoice_of(acme)
    assert "Balance due" not in html_of(acme, invoice)
    pay(acme, invoice, "100")
    html = html_of(acme, invoice)
    assert "Balance due" in html and "€310.49" in html and "−€100.00" in html


def test_amounts_and_dates_use_the_organizations_formats(acme):
    acme.org_a.locale = "de"
    html = html_of(acme, invoice_of(acme))
    assert "410,49\xa0€" in html
    assert "02.03.2026" in html  # issue date; due 14 days later
    assert "16.03.2026" in html
    acme.org_a.number_locale, acme.org_a.date_format = "en", "iso"
    html = html_of(acme, invoice_of(acme))
    assert "€410.49" in html and "2026-03-02" in html


def test_the_logo_is_embedded_from_the_storage(acme):
    import segno

    png = io.BytesIO()
    segno.make("logo").save(png, kind="png")
    acme.org_a.logo_key = f"org-{acme.org_a.id}/logo-test.png"
    storage().put(acme.org_a.logo_key, png.getvalue(), "image/png")
    invoice = invoice_of(acme)
    assert 'class="logo" src="data:image/png;base64,' in html_of(acme, invoice)
    storage().delete(acme.org_a.logo_key)  # gone: the name stands in for it
    assert 'class="logo"' not in html_of(acme, invoice)
    assert 'class="brand-name"' in html_of(acme, invoice)


# -- the EPC QR code ----------------------------------------------------------------------------


def test_the_epc_payload_is_exact(acme):
    invoice = invoice_of(acme)
    assert pdf.epc_payload(invoice, acme.org_a, acme.settings) == (
        f"BCD\n002\n1\nSCT\nCOBADEFFXXX\nAcme Trading GmbH\n{IBAN}\nEUR410.49\n\n\nINV-2026-0001"
    )
    pay(acme, invoice, "100.49")  # the code asks for what is left
    payload = pdf.epc_payload(invoice, acme.org_a, acme.settings)
    assert payload.splitlines()[7] == "EUR310.00"
    acme.org_a.legal_name = "Ü" * 80  # at most 70 characters, kept in UTF-8
    acme.settings.bic = ""
    lines = pdf.epc_payload(invoice, acme.org_a, acme.settings).split("\n")
    assert lines[4] == "" and lines[5] == "Ü" * 70


def test_the_qr_code_follows_the_epc_rules(acme):
    invoice = invoice_of(acme)
    acme.org_a.legal_name = "Zoë " + "Ü" * 70  # the longest name, in UTF-8 bytes
    code = pdf.epc_qr(pdf.epc_payload(invoice, acme.org_a, acme.settings))
    assert (code.error, code.mode, code.is_micro) == ("M", "byte", False)
    assert code.version <= 13
    html = html_of(acme, invoice)
    assert 'class="qr-code" src="data:image/svg+xml' in html
    assert "Scan to pay" in html


@pytest.mark.parametrize("case", ["no_iban", "bad_iban", "usd", "paid", "draft", "void"])
def test_no_qr_code_when_it_cannot_be_paid_that_way(acme, case):
    if case == "no_iban":
        acme.settings.iban = ""
    if case == "bad_iban":
        acme.settings.iban = "DE00370400440532013000"
    invoice = invoice_of(acme, issue=case != "draft", currency="USD" if case == "usd" else None)
    if case == "paid":
        pay(acme, invoice, "410.49")
    if case == "void":
        services.void(acme.org_a.id, None, invoice, "Wrong customer")
    assert pdf.epc_payload(invoice, acme.org_a, acme.settings) is None
    assert "qr-code" not in html_of(acme, invoice)


def test_iban_check():
    assert pdf.iban_valid("DE89 3704 0044 0532 0130 00")
    assert pdf.iban_valid("gb82west12345698765432")
    assert not pdf.iban_valid("DE89 3704 0044 0532 0130 01")
    assert not pdf.iban_valid("not an iban")


# -- states and length --------------------------------------------------------------------------


def test_a_draft_has_a_watermark_and_the_live_customer(acme):
    contact = factories.make_contact(acme.org_a, first_name="Ada", last_name="Lovelace")
    lines = [{"description": "Consulting", "quantity": "1", "unit_price": "10"}]
    invoice = factories.make_invoice(acme.org_a, acme.company, lines=lines, contact_id=contact.id)
    html = html_of(acme, invoice)
    assert 'class="watermark">Draft<' in html
    text = text_of(render(acme, invoice))
    assert "DRAFT" in text  # printed in capitals
    assert "Zoë Trading KG" in text and "Attn. Ada Lovelace" in text
    assert "INV-" not in text


def test_a_void_invoice_has_a_watermark_and_no_payment_details(acme):
    invoice = invoice_of(acme)
    services.void(acme.org_a.id, None, invoice, "Sent to the wrong customer")
    text = text_of(render(acme, invoice))
    assert "VOID" in text and "Sent to the wrong customer" in text
    assert "Payment details" not in text and "Amount due" not in text


def test_forty_lines_run_onto_a_second_page(acme, tmp_path):
    lines = [
        {
            "description": f"Item {n}",
            "quantity": "1",
            "unit_price": "9.99",
            "tax_ids": [acme.vat.id],
        }
        for n in range(1, 41)
    ]
    data = render(acme, invoice_of(acme, lines=lines))
    assert len(pdf_to_png(data, tmp_path)) >= 2
    text = text_of(data)
    assert "Page 1 of" in text and "Page 2 of" in text
    assert "Item 40" in text


# -- nothing is fetched -------------------------------------------------------------------------


@pytest.fixture
def listener():
    """A TCP port on 127.0.0.1 that records whether anything connected."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(5)
        sock.setblocking(False)
        yield sock


def connected(sock: socket.socket) -> bool:
    try:
        sock.accept()[0].close()
    except BlockingIOError:
        return False
    return True


def test_markup_in_customer_details_is_printed_as_text(acme, listener, monkeypatch):
    port = listener.getsockname()[1]
    name = f'Evil <img src="http://127.0.0.1:9/x"> <img src="http://127.0.0.1:{port}/y"> Corp'
    company = factories.make_company(
        acme.org_a, name=name, street='<link rel="stylesheet" href="file:///etc/passwd">'
    )
    invoice = factories.make_invoice(
        acme.org_a, company, lines=[{"description": "<b>x</b>", "unit_price": "1"}], issue=True
    )
    fetched: list[str] = []

    class Recording(pdf._fetcher_class()):
        def fetch(self, url, headers=None):
            fetched.append(url)
            return super().fetch(url, headers)

    monkeypatch.setattr(pdf, "safe_fetcher", lambda: Recording(allowed_protocols=("data", "file")))
    html = html_of(acme, invoice)
    assert '<img src="http' not in html and "&lt;img src=" in html
    assert '<link rel="stylesheet" href="file:' not in html
    text = "".join(text_of(render(acme, invoice)).split())
    assert '<imgsrc="http://127.0.0.1:9/x">' in text
    assert 'href="file:///etc/passwd">' in text and "root:" not in text
    static = resource_dir("static").resolve().as_uri()
    assert fetched and all(u.startswith(("data:", static)) for u in fetched)
    assert not connected(listener)


def test_the_fetcher_refuses_the_network_and_files_outside_static():
    fetcher = pdf.safe_fetcher()
    static = resource_dir("static").resolve()
    for url in (
        "http://127.0.0.1:9/x",
        "https://example.com/style.css",
        "ftp://example.com/x",
        "file:///etc/passwd",
        "file://evil.example/share/pdf.css",
        f"{static.as_uri()}/../pyproject.toml",
        f"{static.as_uri()}/css/missing.css",
    ):
        with pytest.raises(ValueError):
            fetcher.fetch(url)
    css = fetcher.fetch((static / "css" / "pdf.css").as_uri())
    assert css.content_type == "text/css" and css.read().startswith(b"/*")
    assert fetcher.fetch("data:text/plain,hello").read() == b"hello"


def test_html_that_asks_for_the_network_still_prints_without_it(listener):
    port = listener.getsockname()[1]
    data = pdf.render_pdf(
        f'<link rel="stylesheet" href="http://127.0.0.1:{port}/a.css">'
        '<link rel="stylesheet" href="file:///etc/passwd">'
        f'<p>Hello <img src="http://127.0.0.1:{port}/b.png"></p>'
    )
    assert data.startswith(b"%PDF-")
    assert not connected(listener)


def test_a_payment_receipt_names_the_invoice_the_amount_and_what_is_left(client, people, login):
    people.org_a.currency = "EUR"
    with org_context(people.org_a.id):
        invoice = factories.make_invoice(people.org_a, issue=True)  # 200.00
        first = services.record_payment(
            people.org_a.id, None, invoice,
            PaymentIn.model_construct(paid_on=invoice.issue_date, amount=5000, method="cash",
                                      reference="", note="", overpayment=""),
        )  # fmt: skip
        second = services.record_payment(
            people.org_a.id, None, invoice,
            PaymentIn.model_construct(paid_on=invoice.issue_date, amount=20000, method="card",
                                      reference="Visa 4242", note="", overpayment="credit"),
        )  # fmt: skip
        _db.session.commit()
        ids = (invoice.id, first.id, second.id, invoice.number)
    login(people.bob)  # a viewer may read receipts
    invoice_id, first_id, second_id, number = ids
    response = client.get(f"/o/acme/finance/invoices/{invoice_id}/payments/{second_id}/receipt")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    assert f"{number}-P2.pdf" in response.headers["Content-Disposition"]
    text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=response.data, capture_output=True, check=True
    ).stdout.decode()
    assert "Payment receipt" in text and f"{number}-P2" in text and "Visa 4242" in text
    assert "€200.00" in text and "€50.00 beyond the balance is kept as your credit" in text
    assert "paid in full" in text
    page = client.get(f"/o/acme/finance/invoices/{invoice_id}").get_data(as_text=True)
    assert f"/payments/{first_id}/receipt" in page
    with org_context(people.org_a.id):
        other = factories.make_invoice(people.org_a, issue=True)
        _db.session.commit()
    wrong = client.get(f"/o/acme/finance/invoices/{other.id}/payments/{first_id}/receipt")
    assert wrong.status_code == 404
