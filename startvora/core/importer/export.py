"""Exports: any list as CSV (with the list component's escaping) or XLSX, safe to open."""

from __future__ import annotations

import datetime as dt
import io
import logging
import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

from flask import Response

from startvora.core.db import utcnow
from startvora.core.importer.reading import XLSX_MIME
from startvora.core.listview import csv_response

log = logging.getLogger(__name__)


# -- export -------------------------------------------------------------------------------------


def _xlsx_value(sheet: Any, value: Any) -> Any:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if value is None or isinstance(value, bool | int | float | dt.date | dt.datetime):
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value
    cell = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", str(value)))
    cell.data_type = "s"  # text stays text: "=SUM(...)" is never run as a formula
    return cell


def export_filename(stem: str, extension: str) -> str:
    """A download name like "contacts-2026-03-31.csv": plain ASCII, no path."""
    plain = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    plain = re.sub(r"[^A-Za-z0-9_-]+", "-", plain).strip("-") or "export"
    return f"{plain}-{utcnow().date().isoformat()}.{extension}"


def export_rows(
    stem: str, header: Sequence[Any], rows: Iterable[Sequence[Any]], format: str = "csv"
) -> Response:
    """A download of rows as CSV (through the list component's escaping) or XLSX."""
    if format != "xlsx":
        return csv_response(export_filename(stem, "csv"), [str(h) for h in header], rows)
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=re.sub(r"[\[\]:*?/\\]", "", stem)[:31] or "Export")
    sheet.append([_xlsx_value(sheet, str(h)) for h in header])
    for row in rows:
        sheet.append([_xlsx_value(sheet, v) for v in row])
    out = io.BytesIO()
    book.save(out)
    name = export_filename(stem, "xlsx")
    return Response(
        out.getvalue(),
        mimetype=XLSX_MIME,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
