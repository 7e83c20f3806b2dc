"""Import and export: the mechanism, shared by every module that imports records.

A file (CSV in any usual encoding and separator, or XLSX) becomes a `Table`; its columns are
mapped to the fields of a `Target` (a module's description of one kind of record); the first
rows are previewed with their errors; then `run_import` saves the rows in the background, each
valid row in its own savepoint, and writes the rows that failed, with their reasons, to a
downloadable error file. Exports write any list to CSV or XLSX, safe to open in a spreadsheet.
"""

from __future__ import annotations

from startvora.core.importer.export import export_filename, export_rows
from startvora.core.importer.job import BATCH, error_rows_csv, import_rows, run_import
from startvora.core.importer.reading import (
    ENCODINGS,
    MAX_BYTES,
    MAX_ROWS,
    PREVIEW_ROWS,
    XLSX_MIME,
    ImportFileError,
    Table,
    decode,
    read_table,
    sniff_delimiter,
)
from startvora.core.importer.rows import (
    TARGETS,
    Checked,
    Field,
    RowError,
    Target,
    check_mapping,
    check_row,
    get_target,
    preview,
    register,
    save_batch,
    save_row,
    suggest_mapping,
    validate_row,
)

__all__ = [
    "BATCH",
    "ENCODINGS",
    "MAX_BYTES",
    "MAX_ROWS",
    "PREVIEW_ROWS",
    "TARGETS",
    "XLSX_MIME",
    "Checked",
    "Field",
    "ImportFileError",
    "RowError",
    "Table",
    "Target",
    "check_mapping",
    "check_row",
    "decode",
    "error_rows_csv",
    "export_filename",
    "export_rows",
    "get_target",
    "import_rows",
    "preview",
    "read_table",
    "register",
    "run_import",
    "save_batch",
    "save_row",
    "sniff_delimiter",
    "suggest_mapping",
    "validate_row",
]
