"""The import mechanism: reading files in any usual shape, mapping columns, the job, exports."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import random
from typing import Any, ClassVar

import openpyxl
import pytest

from startvora.core import importer
from startvora.core.importer import Field, ImportFileError, RowError, Target, read_table
from startvora.core.imports import ImportRun
from startvora.core.storage import storage
from startvora.core.tenancy import org_context
from startvora.extensions import db as _db


def xlsx(rows: list[list[Any]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# -- reading ------------------------------------------------------------------------------------


def test_utf8_with_and_without_bom():
    plain = "Name,City\nZoë,Kraków\n".encode()
    table = read_table(plain)
    assert (table.encoding, table.columns, [list(r) for r in table.rows]) == (
        "utf-8",
        ["Name", "City"],
        [["Zoë", "Kraków"]],
    )
    table = read_table(codecs.BOM_UTF8 + plain)
    assert table.encoding == "utf-8-sig"
    assert table.columns == ["Name", "City"]  # the mark is not part of the first column's name


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le"])
def test_utf16(codec):
    data = "Name\tCity\nZoë\tKraków\n".encode(codec)  # utf-16 writes a BOM, utf-16-le does not
    table = read_table(data)
    assert table.encoding == codec
    assert table.delimiter == "\t"
    assert [list(r) for r in table.rows] == [["Zoë", "Kraków"]]


def test_windows_1252_with_accents_and_semicolons():
    data = "Nom;Société;Ville\nRenée;Café Noël;Orléans\nJosé;Müller & Fils;Besançon\n"
    table = read_table(data.encode("cp1252"))
    assert table.encoding == "cp1252"
    assert table.encoding_label.startswith("Windows-1252")
    assert table.delimiter == ";"
    assert list(table.rows[0]) == ["Renée", "Café Noël", "Orléans"]
    assert table.rows[1][1] == "Müller & Fils"


def test_latin1_when_cp1252_cannot_decode():
    data = b"Name\nA\x81b\n"  # 0x81 is undefined in cp1252
    assert read_table(data).encoding == "latin-1"


def test_semicolons_inside_quotes_do_not_fool_the_sniffer():
    data = b'Name,Notes\n"Ada","likes; semicolons; a lot"\n"Bo","x"\n'
    table = read_table(data)
    assert table.delimiter == ","
    assert list(table.rows[0]) == ["Ada", "likes; semicolons; a lot"]


def test_headers_empty_and_repeated_and_ragged_rows():
    data = b"Email,,Email,Phone\na@x.test,1,b@x.test\n\n,,,\nc@x.test,2,d@x.test,5,\n"
    table = read_table(data)
    assert table.columns == ["Email", "Column 2", "Email (2)", "Phone"]
    # short rows are padded, empty rows dropped, a trailing empty cell is no extra cell
    assert table.rows == [("a@x.test", "1", "b@x.test", ""), ("c@x.test", "2", "d@x.test", "5")]


def test_apostrophe_escapes_from_exports_are_undone():
    table = read_table(b"Phone,Formula,Plain\n'+49 30 1234567,'=1+1,it's\n")
    assert [list(r) for r in table.rows] == [["+49 30 1234567", "=1+1", "it's"]]


def test_xlsx_first_sheet_with_dates_and_numbers():
    data = xlsx(
        [
            ["Name", "Since", "Met at", "Employees", "Score", None],
            ["Ada", dt.datetime(2024, 3, 31), dt.datetime(2024, 3, 31, 14, 5), 120, 4.5, None],
            [None, None, None, None, None, None],
            ["Bo", dt.date(2020, 1, 2), None, 3.0, True, None],
        ]
    )
    table = read_table(data, "people.xlsx")
    assert table.encoding == "xlsx"
    assert table.columns == ["Name", "Since", "Met at", "Employees", "Score"]
    assert [list(r) for r in table.rows] == [
        ["Ada", "2024-03-31", "2024-03-31T14:05:00", "120", "4.5"],
        ["Bo", "2020-01-02", "", "3", "true"],
    ]


def test_ten_megabytes_of_garbage_is_refused_clearly():
    garbage = random.Random(5).randbytes(10 * 1024 * 1024)
    with pytest.raises(ImportFileError) as caught:
        read_table(garbage, "contacts.csv")
    assert "does not look like a CSV or Excel file" in str(caught.value.message)


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\n" * 20,
        b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4,
        b"PK\x03\x04" + b"\x00" * 200,  # a zip that is no workbook
        b"Name,City\nAda\x00,Paris\n",  # a NUL byte: binary
        bytes(range(1, 32)) * 200,  # control characters are no text
    ],
    ids=["pdf", "png", "zip", "nul", "control"],
)
def test_binary_files_are_not_tables(data):
    with pytest.raises(ImportFileError) as caught:
        read_table(data)
    assert "does not look like a CSV or Excel file" in str(caught.value.message)


def test_old_excel_and_empty_files_say_what_to_do():
    with pytest.raises(ImportFileError, match="Old Excel files"):
        read_table(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 500)
    with pytest.raises(ImportFileError, match="empty"):
        read_table(b"  \n\n")
    with pytest.raises(ImportFileError, match="no header row"):
        read_table(b",,,\nAda,1\n")


def test_damaged_workbook():
    data = xlsx([["Name"], ["Ada"]])
    with pytest.raises(ImportFileError, match="cannot be read"):
        read_table(data[: len(data) // 2] + b"\x00" * 100, "people.xlsx")


def test_limits(monkeypatch):
    monkeypatch.setattr(importer.reading, "MAX_BYTES", 1000)
    with pytest.raises(ImportFileError, match="larger than"):
        read_table(b"Name\n" + b"Ada\n" * 300)
    monkeypatch.setattr(importer.reading, "MAX_BYTES", 20 << 20)
    monkeypatch.setattr(importer.reading, "MAX_ROWS", 5)
    with pytest.raises(ImportFileError, match="more than 5 rows"):
        read_table(b"Name\n" + b"Ada\n" * 6)
    assert len(read_table(b"Name\n" + b"Ada\n" * 5).rows) == 5
    assert len(read_table(b"Name\n" + b"Ada\n" * 6, preview=2).rows) == 2  # a preview
    with pytest.raises(ImportFileError, match="columns"):
        read_table((",".join(f"c{i}" for i in range(201)) + "\n1\n").encode())


# -- mapping ------------------------------------------------------------------------------------


FIELDS = [
    Field("first_name", "First name", aliases=("Given name",)),
    Field("email", "Email", required=True, aliases=("E-mail", "Email address")),
    Field("phone", "Phone", aliases=("Telephone",)),
    Field("cf_size", "Company size"),
]


def test_mapping_suggestion_by_names_and_aliases():
    columns = ["E-Mail Address", "given_name", "TELEPHONE", "Company Size", "Fax", "email"]
    assert importer.suggest_mapping(columns, FIELDS) == {
        "E-Mail Address": "email",
        "given_name": "first_name",
        "TELEPHONE": "phone",
        "Company Size": "cf_size",
        "Fax": "",
        "email": "",  # each field once: the first column wins
    }


class Person(Target):
    """A tiny target for the mechanism's tests: people kept in a list, duplicates by email."""

    entity = "test-people"
    saved: ClassVar = []

    def fields(self) -> list[Field]:
        return FIELDS

    def validate(self, row):
        errors = {}
        if "@" not in row.get("email", ""):
            errors["email"] = "not an email"
        if row.get("phone", "").isalpha():
            errors["phone"] = "not a phone"
        return (None, None, errors) if errors else (dict(row), {}, {})

    def duplicate_key(self, valid):
        return valid["email"]

    def find_existing(self, valid):
        return next((p for p in self.saved if p["email"] == valid["email"]), None)

    def save(self, valid, custom, existing):
        if valid.get("first_name") == "boom":
            raise RowError("refused by a rule")
        if existing is not None:
            existing.update(valid)
        else:
            self.saved.append(dict(valid))


def test_mapping_problems():
    target = Person(1, None)
    assert importer.check_mapping(target, {"a": "", "b": ""}) == [
        "Map at least one column to a field.",
        "No column is mapped to Email, which every row needs.",
    ]
    assert importer.check_mapping(target, {"a": "email", "b": "email"}) == [
        "Only one column can go into Email."
    ]
    assert importer.check_mapping(target, {"a": "email", "b": "phone"}) == []


def test_a_batch_saves_valid_rows_and_reports_each_bad_one(app):
    Person.saved = [{"email": "old@x.test", "first_name": "Old"}]
    target = Person(1, None)
    columns = ["Mail", "Name", "Tel"]
    mapping = {"Mail": "email", "Name": "first_name", "Tel": "phone"}
    batch = [
        ["a@x.test", "Ada", "1"],
        ["nope", "Bad", "abc"],
        ["old@x.test", "Updated", ""],
        ["a@x.test", "Ada again", ""],  # repeats the first row of the same batch
        ["b@x.test", "boom", ""],
        ["c@x.test", "Cy", "", "extra!"],
    ]
    with app.app_context():
        rows = importer.save_batch(target, columns, mapping, batch, "update")
    assert [r.outcome for r in rows] == ["create", "error", "update", "update", "error", "error"]
    assert rows[1].errors == {"Mail": "not an email", "Tel": "not a phone"}
    assert rows[1].message == "Mail: not an email; Tel: not a phone"
    assert rows[4].message == "refused by a rule"
    assert "more cells than the header" in rows[5].message and "extra!" in rows[5].message
    assert Person.saved == [
        {"email": "old@x.test", "first_name": "Updated", "phone": ""},
        {"email": "a@x.test", "first_name": "Ada again", "phone": ""},
    ]


# -- the job ------------------------------------------------------------------------------------


@pytest.fixture
def person_target():
    importer.register(Person)
    Person.saved = []
    yield Person
    importer.TARGETS.pop(Person.entity, None)


def start_run(org_id: int, data: bytes, mapping: dict[str, str], **values: Any) -> int:
    key = f"org-{org_id}/imports/test-{random.randrange(10**9)}.csv"
    storage().put(key, data, "text/csv")
    table = read_table(data)
    with org_context(org_id):
        run = ImportRun(
            org_id=org_id,
            entity=Person.entity,
            filename="people.csv",
            file_key=key,
            columns=table.columns,
            mapping=mapping,
            total=len(table.rows),
            status="queued",
            **values,
        )
        _db.session.add(run)
        _db.session.commit()
        return run.id


def load(org_id: int, run_id: int) -> ImportRun:
    with org_context(org_id):
        _db.session.expire_all()
        return _db.session.get(ImportRun, run_id)


def test_job_imports_in_batches_and_resumes_without_doubling(
    app, db, people, person_target, monkeypatch
):
    monkeypatch.setattr(importer.job, "BATCH", 4)
    lines = ["Mail,Name"] + [f"p{i}@x.test,P{i}" if i % 5 else f"bad{i},B{i}" for i in range(10)]
    org = people.org_a.id
    run_id = start_run(org, "\n".join(lines).encode(), {"Mail": "email", "Name": "first_name"})

    calls = []
    real_save_batch = importer.job.save_batch

    def crash_on_second_batch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("the worker died")
        return real_save_batch(*args, **kwargs)

    monkeypatch.setattr(importer.job, "save_batch", crash_on_second_batch)
    with pytest.raises(RuntimeError):
        importer.run_import.call_local(org, run_id)
    run = load(org, run_id)
    assert (run.status, run.processed, run.created, run.failed) == ("failed", 4, 3, 1)
    assert "tried again" in run.message

    importer.run_import.call_local(org, run_id)  # the retry goes on from row 4
    run = load(org, run_id)
    assert (run.status, run.total, run.processed) == ("done", 10, 10)
    assert (run.created, run.updated, run.skipped, run.failed) == (8, 0, 0, 2)
    assert len(Person.saved) == 8  # nothing saved twice
    assert run.finished_at is not None

    errors = storage().get(run.errors_key).decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(errors))) == [
        ["Mail", "Name", "Error"],
        ["bad0", "B0", "Mail: not an email"],
        ["bad5", "B5", "Mail: not an email"],
    ]
    importer.run_import.call_local(org, run_id)  # done: a third run changes nothing
    assert len(Person.saved) == 8
    assert load(org, run_id).created == 8


def test_job_skips_duplicates_and_fails_clearly_on_a_bad_file(app, db, people, person_target):
    org = people.org_a.id
    Person.saved = [{"email": "a@x.test", "first_name": "Kept"}]
    run_id = start_run(
        org, b"Mail,Name\na@x.test,New\nb@x.test,Bo\n", {"Mail": "email", "Name": "first_name"}
    )
    importer.run_import.call_local(org, run_id)
    run = load(org, run_id)
    assert (run.created, run.skipped, run.errors_key) == (1, 1, "")
    assert Person.saved[0]["first_name"] == "Kept"

    run_id = start_run(org, b"Mail\nx@x.test\n", {"Mail": "email"})
    with org_context(org):
        storage().put(load(org, run_id).file_key, b"\x00\x01garbage" * 100, "text/csv")
    importer.run_import.call_local(org, run_id)
    run = load(org, run_id)
    assert run.status == "failed"
    assert "does not look like a CSV or Excel file" in run.message


# -- export -------------------------------------------------------------------------------------


def test_export_csv_and_xlsx_keep_formulas_inert(app):
    rows = [['=HYPERLINK("http://evil")', "+49 30 1", 3, dt.date(2026, 3, 31), True, "bad\x07"]]
    header = ["Name", "Phone", "Count", "Since", "Active", "Note"]
    with app.test_request_context():
        response = importer.export_rows("Contacts (Acme)", header, rows, "csv")
        assert response.mimetype == "text/csv"
        disposition = response.headers["Content-Disposition"]
        assert (
            disposition.startswith('attachment; filename="Contacts-Acme-') and ".csv" in disposition
        )
        lines = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
        assert lines[1][:2] == ['\'=HYPERLINK("http://evil")', "'+49 30 1"]

        response = importer.export_rows("Contacts", header, rows, "xlsx")
        assert response.mimetype == importer.XLSX_MIME
        assert ".xlsx" in response.headers["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(response.get_data())).active
    values = [c.value for c in sheet[2]]
    assert values[0] == '=HYPERLINK("http://evil")'
    assert sheet["A2"].data_type == "s"  # text, never a formula
    assert values[1:5] == ["+49 30 1", 3, dt.datetime(2026, 3, 31), True]
    assert values[5] == "bad"  # characters a workbook cannot hold are dropped
