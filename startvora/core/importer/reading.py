"""Reading an uploaded CSV (any usual encoding and separator) or XLSX file into a Table."""

from __future__ import annotations

import codecs
import csv
import dataclasses
import datetime as dt
import io
import logging
import re
from collections.abc import Iterable, Sequence
from typing import Any

import filetype
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

log = logging.getLogger(__name__)

MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 200_000
MAX_COLUMNS = 200
PREVIEW_ROWS = 10
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ENCODINGS = {
    "utf-8": _l("UTF-8"),
    "utf-8-sig": _l("UTF-8 (with byte order mark)"),
    "utf-16": _l("UTF-16"),
    "utf-16-le": _l("UTF-16 (little-endian, no byte order mark)"),
    "cp1252": _l("Windows-1252 (Western European)"),
    "latin-1": _l("Latin-1 (ISO 8859-1)"),
    "xlsx": _l("Excel workbook"),
}
DELIMITERS = (",", ";", "\t", "|")
# A leading apostrophe is how exports (ours and spreadsheets') keep a formula-like text inert.
_ESCAPED = ("'=", "'+", "'-", "'@")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class ImportFileError(ValueError):
    """The file cannot be imported; `message` says why, for people."""

    def __init__(self, message: Any) -> None:
        super().__init__(str(message))
        self.message = message


def _not_tabular() -> ImportFileError:
    return ImportFileError(
        _l("This does not look like a CSV or Excel file. Save it as CSV or XLSX and try again.")
    )


# -- reading ------------------------------------------------------------------------------------


@dataclasses.dataclass
class Table:
    """A file read into a header and rows of text cells, every row as long as the header."""

    columns: list[str]
    rows: list[tuple[str, ...]]
    encoding: str  # a key of ENCODINGS
    delimiter: str = ""  # for CSV

    @property
    def encoding_label(self) -> str:
        return str(ENCODINGS.get(self.encoding, self.encoding))


def decode(data: bytes) -> tuple[str, str]:
    """The text of a CSV file and the encoding it was read with (a key of ENCODINGS)."""
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8", "replace"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise _not_tabular() from None
    head = data[:4096]
    # UTF-16 without a byte order mark: every other byte of Latin text is zero.
    if len(head) >= 8 and head[1::2].count(0) > 0.4 * len(head[1::2]) and not head[0::2].count(0):
        try:
            return data.decode("utf-16-le"), "utf-16-le"
        except UnicodeDecodeError:
            raise _not_tabular() from None
    if b"\x00" in data:
        raise _not_tabular()  # text files have no NUL bytes; this is binary
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def sniff_delimiter(text: str) -> str:
    """The separator that splits the first lines into the most, equally long, rows."""
    sample = text[:65536].splitlines()[:20]
    if len(sample) > 1 and len(text) > 65536:
        sample = sample[:-1]  # the last line of a cut sample may be cut too
    best, best_score = ",", (0, 0)
    for delimiter in DELIMITERS:
        try:
            widths = [len(r) for r in csv.reader(sample, delimiter=delimiter) if any(r)]
        except csv.Error:
            continue
        if not widths or widths[0] < 2:
            continue
        consistent = sum(1 for w in widths if w == widths[0])
        score = (consistent, widths[0])
        if score > best_score:
            best, best_score = delimiter, score
    return best


def clean_header(raw: Sequence[Any]) -> list[str]:
    """Header names: trimmed; an empty one gets its position, a repeated one a number."""
    names: list[str] = []
    seen: set[str] = set()
    for i, value in enumerate(raw, 1):
        name = " ".join(_CONTROL.sub(" ", str(value or "")).split())[:100]
        name = name or _("Column %(n)d", n=i)
        base, n = name, 2
        while name.casefold() in seen:
            name, n = f"{base} ({n})", n + 1
        seen.add(name.casefold())
        names.append(name)
    return names


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(timespec="seconds")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    text = str(value).strip()
    if text.startswith(_ESCAPED):
        text = text[1:]
    return text


def _shape(
    header: list[Any], body: Iterable[Sequence[Any]], preview: int | None, text_only: bool = False
) -> tuple[list[str], list[tuple[str, ...]]]:
    """Header and rows as text; empty rows dropped, short rows padded, columns capped.

    Rows are tuples: a tuple of strings leaves the garbage collector's watch, so a large file
    held through a long import costs the collector nothing.
    """
    while header and (header[-1] is None or not str(header[-1]).strip()):
        header = header[:-1]  # trailing empty header cells are no columns
    if not header:
        raise ImportFileError(
            _l("The file has no header row. Its first row must name the columns.")
        )
    if len(header) > MAX_COLUMNS:
        raise ImportFileError(_l("The file has more than %(n)d columns.", n=MAX_COLUMNS))
    columns = clean_header(header)
    width = len(columns)
    rows: list[tuple[str, ...]] = []
    for raw in body:
        cells = [c.strip() for c in raw] if text_only else [_cell_text(v) for v in raw]
        if text_only and any(c[:1] == "'" for c in cells):
            cells = [c[1:] if c.startswith(_ESCAPED) else c for c in cells]
        while len(cells) > width and not cells[-1]:
            cells.pop()  # trailing separators or empty spreadsheet cells
        if not any(cells):
            continue
        if preview is not None and len(rows) >= preview:
            break
        if len(rows) >= MAX_ROWS:
            raise ImportFileError(
                _l(
                    "The file has more than %(n)s rows. Split it into smaller files.",
                    n=f"{MAX_ROWS:,}",
                )
            )
        cells.extend([""] * (width - len(cells)))
        rows.append(tuple(cells))  # longer than the header when it has more cells: an error later
    return columns, rows


def _read_csv(data: bytes, preview: int | None) -> Table:
    text, encoding = decode(data)
    sample = text[:65536]
    if sample and len(_CONTROL.findall(sample)) > 0.01 * len(sample):
        raise _not_tabular()  # plain text has almost no control characters
    delimiter = sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader, [])
        columns, rows = _shape(list(header), reader, preview, text_only=True)
    except csv.Error as exc:
        raise ImportFileError(
            _l(
                "Line %(n)d of the file cannot be read: %(error)s",
                n=reader.line_num,
                error=str(exc),
            )
        ) from None
    return Table(columns, rows, encoding, delimiter)


def _read_xlsx(data: bytes, preview: int | None) -> Table:
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl fails on damaged workbooks in many ways; all mean this
        log.info("unreadable workbook: %s", exc)
        raise ImportFileError(_l("This Excel file cannot be read. It may be damaged.")) from None
    try:
        sheet = book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = list(next(rows, ()) or ())
        columns, body = _shape(header, rows, preview)
    except ImportFileError:
        raise
    except Exception as exc:
        log.info("unreadable workbook: %s", exc)
        raise ImportFileError(_l("This Excel file cannot be read. It may be damaged.")) from None
    finally:
        book.close()
    return Table(columns, body, "xlsx")


def read_table(data: bytes, filename: str = "", preview: int | None = None) -> Table:
    """Read an uploaded CSV or XLSX file; ImportFileError says why it cannot be imported.

    With `preview`, only that many rows are read.
    """
    if len(data) > MAX_BYTES:
        raise ImportFileError(
            _l(
                "The file is larger than %(mb)d MB. Split it into smaller files.",
                mb=MAX_BYTES >> 20,
            )
        )
    if not data.strip():
        raise ImportFileError(_l("The file is empty."))
    if data.startswith(b"PK\x03\x04"):
        from startvora.core.files import XLSX, sniff

        if (sniff(data, filename) or ("",))[0] == XLSX:
            return _read_xlsx(data, preview)
        if filename.lower().endswith(".xlsx"):
            raise ImportFileError(_l("This Excel file cannot be read. It may be damaged."))
        raise _not_tabular()
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError(
            _l("Old Excel files (.xls) cannot be read. Save the sheet as XLSX or CSV instead.")
        )
    kind = filetype.guess(data[:8192])
    if kind is not None and not kind.mime.startswith("text/"):
        raise _not_tabular()
    return _read_csv(data, preview)
