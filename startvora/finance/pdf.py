"""Invoice PDFs: a Jinja template printed by WeasyPrint, with an EPC QR code to pay by SEPA.

WeasyPrint is imported inside the functions that print, never at module level: the web worker
starts without it. Nothing reaches the network: the URL fetcher serves data: URIs and files of
the static folder only, and refuses everything else (http:, other files, ...).
"""

from __future__ import annotations

import base64
import datetime as dt
import gc
import logging
import mimetypes
import re
from decimal import Decimal
from functools import cache, lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_decimal, format_percent
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from startvora.core import money
from startvora.core.storage import StorageError, storage
from startvora.finance import services
from startvora.finance.models import FinanceSettings, Invoice
from startvora.orgs.models import Organization
from startvora.paths import resource_dir

log = logging.getLogger(__name__)
# WeasyPrint narrates every step at INFO (from its import on); the app's log wants results.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)

TEMPLATE = "finance/pdf/invoice.html"
RECEIPT_TEMPLATE = "finance/pdf/receipt.html"
STYLESHEET = "css/pdf.css"  # in static/
EPC_MAX_MINOR = 99_999_999_999  # EUR 999,999,999.99, the largest amount an EPC code carries
LOGO_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp"}


# -- printing ------------------------------------------------------------------------------------


def invoice_pdf(invoice: Invoice, org: Organization, settings: FinanceSettings) -> bytes:
    """The invoice as PDF bytes, in the organization's language and formats."""
    return render_pdf(invoice_html(invoice, org, settings))


def invoice_html(invoice: Invoice, org: Organization, settings: FinanceSettings) -> str:
    """The HTML that is printed (also handy for tests and previews)."""
    with force_locale(org.locale or "en"):
        doc = _document(invoice, org, settings)
        return current_app.jinja_env.get_template(TEMPLATE).render(doc=doc)


def receipt_pdf(payment: Any, org: Organization, settings: FinanceSettings) -> bytes:
    """A receipt for one payment of an invoice, as PDF bytes."""
    with force_locale(org.locale or "en"):
        doc = _receipt(payment, org, settings)
        html = current_app.jinja_env.get_template(RECEIPT_TEMPLATE).render(doc=doc)
    return render_pdf(html)


def receipt_number(payment: Any) -> str:
    """The invoice's number and the payment's place among its payments: INV-2026-0042-P2."""
    invoice = payment.invoice
    place = sorted(p.id for p in invoice.payments).index(payment.id) + 1  # in recorded order
    return f"{invoice.number}-P{place}"


def _receipt(payment: Any, org: Organization, settings: FinanceSettings) -> dict[str, Any]:
    from startvora.extensions import db
    from startvora.finance.models import CustomerCredit

    amount, date, _number, _percent = _formats(org)
    invoice = payment.invoice
    cur = invoice.currency
    # What stood before this payment was recorded: a receipt never changes afterwards.
    before = sum(p.amount_minor for p in invoice.payments if p.id < payment.id)
    credited = sum(
        db.session.execute(
            db.select(Invoice.total_minor).where(
                Invoice.credit_for_id == invoice.id,
                Invoice.status == "issued",
                Invoice.issued_at <= payment.created_at,
            )
        ).scalars()
    )
    extra = db.session.execute(
        db.select(CustomerCredit.amount_minor).where(CustomerCredit.source_payment_id == payment.id)
    ).scalar_one_or_none()
    balance = max(invoice.total_minor - credited - before - payment.amount_minor, 0)
    name, address, _email, _tax_id = _customer(invoice)
    customer_lines = _lines_of(name)
    received = payment.amount_minor + (extra or 0)
    return {
        "lang": (org.locale or "en").replace("_", "-"),
        "page_size": "letter" if (settings.paper or "").lower() == "letter" else "A4",
        "watermark": "",
        "status": "receipt",
        "title": _("Payment receipt"),
        "number": receipt_number(payment),
        "paid_on": date(payment.paid_on),
        "method": str(services.method_labels().get(payment.method, payment.method)),
        "payment_reference": payment.reference,
        "amount": amount(received, cur),
        "applied": amount(payment.amount_minor, cur),
        "credit": amount(extra, cur) if extra else "",
        "before": amount(before + credited, cur) if before or credited else "",
        "balance": amount(balance, cur),
        "settled": balance == 0,
        "invoice_number": invoice.number,
        "invoice_date": date(invoice.issue_date),
        "invoice_total": amount(invoice.total_minor, cur),
        "footer": (settings.footer or "").strip(),
        "seller": {
            "name": org.legal_name or org.name,
            "address": _address_lines(org.address, org.locale or "en"),
            "tax_id": org.tax_id,
        },
        "logo": _logo(org),
        "customer": {
            "name": customer_lines[0] if customer_lines else "",
            "extra": customer_lines[1:],
            "address": _address_lines(address, org.locale or "en"),
        },
    }


def render_pdf(html: str) -> bytes:
    """Print HTML with static/css/pdf.css; relative URLs resolve in the static folder."""
    from weasyprint import HTML

    static = resource_dir("static").resolve()
    document = HTML(string=html, base_url=static.as_uri() + "/", url_fetcher=safe_fetcher())
    css = static / STYLESHEET
    return document.write_pdf(
        font_config=_weasyprint_setup(),
        stylesheets=[_parsed_css(str(css), css.stat().st_mtime_ns)],
    )


@lru_cache(maxsize=4)
def _parsed_css(path: str, mtime_ns: int) -> Any:
    # Parsed once per process (and again when the file changes), not once per document.
    from weasyprint import CSS

    return CSS(filename=path, url_fetcher=safe_fetcher(), font_config=_weasyprint_setup())


@cache
def _weasyprint_setup() -> Any:
    """Once per process: load the system's fonts (tens of milliseconds), then freeze what
    WeasyPrint's import made (its parsed default stylesheets, ...), as startvora.wsgi freezes
    start-up: the collector's full passes stop walking it (the bench's p95 CPU time per render
    went from ~260 to ~190 ms)."""
    from weasyprint.text.fonts import FontConfiguration

    fonts = FontConfiguration()
    gc.collect()
    gc.freeze()
    return fonts


def static_file(url: str) -> Path:
    """The file a file: URL names, if it lies in the static folder; else ValueError."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "file" or parts.netloc not in ("", "localhost"):
        raise ValueError(f"not a local file URL: {url[:80]!r}")
    root = resource_dir("static").resolve()
    path = Path(url2pathname(parts.path)).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise ValueError(f"not a file of the static folder: {url[:80]!r}")
    return path


@cache
def _fetcher_class() -> type:
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class SafeFetcher(URLFetcher):
        """data: URIs and the static folder; anything else is refused (and logged)."""

        def fetch(self, url: str, headers: Any = None) -> Any:
            scheme = url.split(":", 1)[0].lower()
            if scheme == "data":
                return super().fetch(url, headers)
            try:
                path = static_file(url)
            except ValueError:
                log.warning("PDF: refused to fetch %.80s", url)
                raise
            kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(path.as_uri(), path.read_bytes(), {"Content-Type": kind})

    return SafeFetcher


def safe_fetcher() -> Any:
    """A WeasyPrint URL fetcher that never opens a network connection."""
    return _fetcher_class()(allowed_protocols=("data", "file"), allow_redirects=False, timeout=5)


# -- EPC QR code ---------------------------------------------------------------------------------


def compact(code: str) -> str:
    """An IBAN or BIC without spaces, upper-case."""
    return "".join(code.split()).upper()


def iban_valid(iban: str) -> bool:
    """The ISO 13616 check: country, check digits, and the mod-97 remainder of 1."""
    iban = compact(iban)
    if not re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}", iban):
        return False
    digits = "".join(str(int(c, 36)) for c in iban[4:] + iban[:4])
    return int(digits) % 97 == 1


def epc_payload(invoice: Invoice, org: Organization, settings: FinanceSettings) -> str | None:
    """The EPC069-12 (version 002) text of a SEPA transfer of the balance, or None.

    Only for an issued EUR invoice with a balance, when the organization has a valid IBAN.
    """
    iban = compact(settings.iban or "")
    balance = invoice.balance_minor
    if (
        invoice.status != "issued"
        or invoice.currency != "EUR"
        or not 0 < balance <= EPC_MAX_MINOR
        or not iban_valid(iban)
    ):
        return None
    name = " ".join((org.legal_name or org.name).split())[:70]
    amount = money.from_minor(balance, "EUR")
    return "\n".join(
        [
            "BCD",  # service tag
            "002",  # version: the BIC may be left out inside the EEA
            "1",  # character set: UTF-8
            "SCT",  # SEPA credit transfer
            compact(settings.bic or ""),
            name,
            iban,
            f"EUR{amount:.2f}",
            "",  # purpose code
            "",  # structured reference (RF...): ours is free text, on the next line
            (invoice.number or "")[:140],
        ]
    )


def epc_qr(payload: str) -> Any:
    """The QR code (segno) of an EPC payload: error correction M exactly, bytes in UTF-8 as
    the payload's character set 1 says, no ECI; a full payload fits in version 13."""
    import segno

    return segno.make(payload, error="m", boost_error=False, encoding="utf-8", micro=False)


# -- what the template shows ---------------------------------------------------------------------


def _formats(org: Organization) -> tuple[Any, Any, Any, Any]:
    number_locale = org.number_locale or org.locale or "en"
    date_locale = org.locale or "en"
    pattern = "yyyy-MM-dd" if org.date_format == "iso" else (org.date_format or "medium")

    def amount(minor: int, currency: str) -> str:
        return money.format_money(minor, currency, number_locale)

    def date(value: dt.date | None) -> str:
        return format_date(value, pattern, locale=date_locale) if value else ""

    def number(value: Decimal) -> str:
        return format_decimal(value.normalize(), locale=number_locale, decimal_quantization=False)

    def percent(value: Decimal) -> str:
        share = (Decimal(value) / 100).normalize()
        return format_percent(share, locale=number_locale, decimal_quantization=False)

    return amount, date, number, percent


def _logo(org: Organization) -> str:
    """The logo as a data: URI (read from the storage, never fetched), or ""."""
    if not org.logo_key:
        return ""
    kind = LOGO_TYPES.get(org.logo_key.rsplit(".", 1)[-1].lower())
    if kind is None:
        return ""
    try:
        data = storage().get(org.logo_key)
    except (KeyError, StorageError) as exc:
        log.warning("PDF of org %s: logo %s unavailable: %s", org.id, org.logo_key, exc)
        return ""
    return f"data:{kind};base64,{base64.b64encode(data).decode('ascii')}"


def _customer(invoice: Invoice) -> tuple[str, str, str, str]:
    """Name (may hold an "Attn." line), address, email and tax id, as issued or, for a
    draft, as the CRM has them now."""
    if invoice.status != "draft":
        return (
            invoice.customer_name,
            invoice.customer_address,
            invoice.customer_email,
            invoice.customer_tax_id,
        )
    company, contact = invoice.company, invoice.contact
    name = services.customer_name_of(company, contact)
    if company is not None and contact is not None:
        name += f"\n{_('Attn.')} {contact.display_name}"
    email = (contact.email if contact else "") or (company.email if company else "")
    return name, services.address_of(company or contact), email, ""


def _credited_number(note: Invoice) -> str:
    from startvora.extensions import db

    credited = db.session.get(Invoice, note.credit_for_id) if note.credit_for_id else None
    return credited.number or "" if credited is not None else ""


def _lines_of(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _address_lines(text: str, locale: str) -> list[str]:
    """An address's lines; a line that is only a country code ("DE") is named ("Germany")."""
    territories = Locale.parse(locale).territories
    return [
        territories.get(line, line) if re.fullmatch(r"[A-Z]{2}", line) else line
        for line in _lines_of(text)
    ]


def _group(code: str) -> str:
    return " ".join(code[i : i + 4] for i in range(0, len(code), 4))


def _document(invoice: Invoice, org: Organization, settings: FinanceSettings) -> dict[str, Any]:
    amount, date, number, percent = _formats(org)
    cur = invoice.currency
    inclusive = invoice.prices_include_tax
    rate_of = {t.tax_rate_id: t for t in invoice.taxes if t.tax_rate_id is not None}
    lines = []
    for i, line in enumerate(invoice.lines, start=1):
        title, _sep, detail = (line.description or "").strip().partition("\n")
        lines.append(
            {
                "position": i,
                "title": title,
                "detail": detail.strip(),
                "quantity": number(line.quantity),
                "unit": line.unit,
                "unit_price": amount(line.unit_price_minor, cur),
                "discount": percent(line.discount) if line.discount else "",
                "taxes": ", ".join(
                    percent(rate_of[tid].rate) for tid in line.tax_ids if tid in rate_of
                ),
                "amount": amount(line.total_minor if inclusive else line.net_minor, cur),
            }
        )
    name, address, email, tax_id = _customer(invoice)
    customer_lines = _lines_of(name)
    paid = invoice.paid_minor if invoice.status == "issued" else 0
    due = invoice.balance_minor if invoice.status == "issued" else invoice.total_minor
    credit_note = invoice.is_credit_note
    quote = invoice.is_quote
    payload = None if credit_note or quote else epc_payload(invoice, org, settings)
    iban = compact(settings.iban or "")
    watermark = {"draft": _("Draft"), "void": _("Void")}.get(invoice.status, "")
    return {
        "lang": (org.locale or "en").replace("_", "-"),
        "page_size": "letter" if (settings.paper or "").lower() == "letter" else "A4",
        "watermark": watermark,
        "status": invoice.status,
        "paid_in_full": invoice.status == "issued" and invoice.total_minor > 0 and due == 0,
        "void_reason": invoice.void_reason if invoice.status == "void" else "",
        "number": invoice.number or _("Draft"),
        "credit_note": credit_note,
        "title": _("Credit note") if credit_note else (_("Quote") if quote else _("Invoice")),
        "quote": quote,
        "credits": _credited_number(invoice) if credit_note else "",
        "credit_reason": invoice.credit_reason if credit_note else "",
        "tax_exemption": invoice.tax_exemption,
        "reference": invoice.number or "",
        "issue_date": date(invoice.issue_date),
        "due_date": date(invoice.due_date),
        "currency": cur,
        "seller": {
            "name": org.legal_name or org.name,
            "address": _address_lines(org.address, org.locale or "en"),
            "tax_id": org.tax_id,
        },
        "logo": _logo(org),
        "customer": {
            "name": customer_lines[0] if customer_lines else "",
            "extra": customer_lines[1:],
            "address": _address_lines(address, org.locale or "en"),
            "email": email,
            "tax_id": tax_id,
        },
        "lines": lines,
        "show_unit": any(line.unit for line in invoice.lines),
        "show_discount": any(line.discount for line in invoice.lines),
        "show_taxes": len(invoice.taxes) > 1,
        "inclusive": inclusive,
        "taxes": [
            {
                "name": t.name,
                "rate": percent(t.rate),
                "base": amount(t.base_minor, cur),
                "amount": amount(t.amount_minor, cur),
            }
            for t in invoice.taxes
        ],
        "subtotal": amount(invoice.subtotal_minor, cur),
        "tax": amount(invoice.tax_minor, cur),
        "total": amount(invoice.total_minor, cur),
        "paid": amount(paid, cur) if paid else "",
        "amount_due": amount(invoice.total_minor if credit_note or quote else due, cur),
        "notes": (invoice.notes or "").strip(),
        "footer": (invoice.footer or settings.footer or "").strip(),
        "bank": {
            "name": settings.bank_name,
            "iban": _group(iban),
            "bic": compact(settings.bic or ""),
        }
        if (iban or settings.bank_name) and invoice.status != "void" and invoice.kind == "invoice"
        else None,
        # The payment box is white: 2 modules of border complete the quiet zone around it.
        "qr": epc_qr(payload).svg_data_uri(scale=4, border=2, dark="#000", light="#fff")
        if payload
        else "",
    }
