"""A report with the filters shown, as a CSV file, an Excel workbook or a PDF; each export is
recorded in the audit log."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from babel.numbers import format_decimal, format_percent
from flask import Response, abort, g, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from startvora.core import audit, money
from startvora.core.i18n import date_filter
from startvora.core.importer.export import export_filename, export_rows
from startvora.core.permissions import require
from startvora.extensions import db
from startvora.finance import services
from startvora.finance.blueprints import bp
from startvora.finance.report_views import sheets
from startvora.finance.report_views.common import BY_SLUG, build, caption, read, show, today
from startvora.finance.report_views.sheets import COUNT, MONEY, RATE, SHARE, Sheet

FORMATS = ("csv", "xlsx", "pdf")
PDF_LIMIT = 200  # customers, products or categories printed; the others on one line
LANDSCAPE_FROM = 6  # amount columns: so many (an aging, a year by month) print across the page
SMALL_FROM = 10  # amount columns: so many (a year by month) print in a smaller type


@bp.get("/reports/<any(" + ", ".join(f'"{slug}"' for slug in BY_SLUG) + "):report>/export")
@require("finance:view")
def reports_export(report: str) -> Response:
    """The report with the filters shown, as a CSV file, an Excel workbook or a PDF."""
    spec = BY_SLUG[report]
    fmt = request.args.get("format", "csv")
    if fmt not in FORMATS:
        abort(404)
    filters, errors = read(spec)
    if errors:
        return show(spec.name)  # the page, with what to correct
    title = str(spec.title)
    data = build(spec, filters, PDF_LIMIT if fmt == "pdf" else None)
    sheet = sheets.sheet_of(spec.name, title, caption(spec, filters), data)
    if fmt == "pdf":
        left_out = getattr(data, "others_count", 0)
        response = Response(
            _pdf(sheet, left_out),
            mimetype="application/pdf",
            headers={
                "Content-Disposition": f'attachment; filename="{export_filename(title, "pdf")}"',
                "Cache-Control": "private, no-store",
            },
        )
    else:
        header = [_header(c) for c in sheet.columns]
        response = export_rows(title, header, _plain_rows(sheet, fmt), fmt)
    audit.record(
        "finance.report_exported",
        org=g.org.id,
        actor=current_user,
        summary=_("%(report)s, %(range)s, %(format)s", report=title, range=sheet.caption,
                  format=fmt.upper()),
        report=spec.slug,
        format=fmt,
        filters=filters.params(spec.kind),
    )  # fmt: skip
    db.session.commit()
    return response


# -- CSV and XLSX --------------------------------------------------------------------------------


def _header(column: sheets.Column) -> str:
    return f"{column.label} (%)" if column.kind in (SHARE, RATE) else column.label


def _plain(value: Any, kind: str, currency: str, xlsx: bool) -> Any:
    """A cell for a spreadsheet: amounts and shares as decimals (numbers in a workbook)."""
    if value is None or kind not in (MONEY, SHARE, RATE):
        return "" if value is None else value
    if kind == MONEY:
        number = money.from_minor(value, currency)
    elif kind == SHARE:
        number = (Decimal(value) * 100).quantize(Decimal("0.1"))
    else:
        number = Decimal(value).normalize()
    # A workbook keeps numbers as binary floating point anyway; as text they would not add up.
    return float(number) if xlsx else format(number, "f")


def _plain_rows(sheet: Sheet, fmt: str) -> list[list[Any]]:
    xlsx = fmt == "xlsx"
    rows = []
    for row in sheet.rows:
        cells = list(row.cells) + [None] * (len(sheet.columns) - len(row.cells))
        rows.append(
            [
                _plain(v, c.kind, sheet.currency, xlsx)
                for v, c in zip(cells, sheet.columns, strict=True)
            ]
        )
    return rows


# -- PDF -----------------------------------------------------------------------------------------


def _printed(value: Any, kind: str, currency: str, locale: str) -> str:
    """A cell for print: amounts without the currency sign (the heading names it)."""
    if value is None:
        return ""
    if kind == MONEY:
        digits = money.exponent(currency)
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        return format_decimal(money.from_minor(value, currency), pattern, locale=locale)
    if kind == SHARE:
        return format_percent(value, "#,##0.0%", locale=locale)
    if kind == RATE:
        return format_percent(Decimal(value) / 100, locale=locale, decimal_quantization=False)
    if kind == COUNT:
        return format_decimal(value, locale=locale)
    return str(value)


def _pdf(sheet: Sheet, left_out: int = 0) -> bytes:
    """The sheet printed on the organization's paper, in the reader's language; `left_out`
    rows were added up on one line."""
    from startvora.finance import pdf

    org = g.org
    locale = org.number_locale or str(get_locale() or "en")
    paper = "letter" if (services.settings_of(org.id).paper or "").lower() == "letter" else "A4"
    amounts = sum(c.kind == MONEY for c in sheet.columns)
    rows = [
        {
            "style": row.style,
            "cells": [
                "–"
                if v == 0 and c.kind == MONEY and not row.style
                else _printed(v, c.kind, sheet.currency, locale)
                for v, c in zip(row.cells, sheet.columns, strict=False)
            ],
        }
        for row in sheet.rows
    ]
    doc = {
        "lang": str(get_locale() or "en").replace("_", "-"),
        "page_size": f"{paper} landscape" if amounts >= LANDSCAPE_FROM else paper,
        "small": amounts >= SMALL_FROM,
        "status": "report",
        "watermark": "",
        "seller": {"name": org.legal_name or org.name},
        "title": sheet.title,
        "caption": sheet.caption,
        "amounts_in": _("Amounts in %(currency)s", currency=sheet.currency),
        "printed": _("Printed on %(date)s", date=date_filter(today())),
        "note": _(
            "The %(n)d largest are printed one by one; the CSV and Excel exports list every one.",
            n=PDF_LIMIT,
        )
        if left_out
        else "",
        "columns": sheet.columns,
        "rows": rows,
    }
    return pdf.render_pdf(render_template("finance/reports/pdf.html", doc=doc))
