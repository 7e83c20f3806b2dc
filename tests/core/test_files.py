"""Uploads: judged by their content, limited in size, thumbnailed, served only to members."""

from __future__ import annotations

import dataclasses
import io
import json
import random
import struct
import zipfile
import zlib

import pytest
from flask import request
from PIL import Image
from werkzeug.datastructures import FileStorage

from startvora.core import files
from startvora.core.files import DOCX, ODS, ODT, XLSX, StoredFile, UploadError
from startvora.core.storage import StorageError, storage
from startvora.core.tenancy import org_context, system_context
from startvora.extensions import db as _db
from tests import factories


def image(fmt: str = "PNG", size=(800, 400), orientation: int | None = None) -> bytes:
    out = io.BytesIO()
    extra = {}
    if orientation:
        exif = Image.Exif()
        exif[0x0112] = orientation
        extra["exif"] = exif
    Image.new("RGB", size, (200, 30, 30)).save(out, fmt, **extra)
    return out.getvalue()


def office(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def png_header(width: int, height: int) -> bytes:
    """A PNG that claims to be huge but holds almost nothing: a decompression bomb's shape."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 1000))
        + chunk(b"IEND", b"")
    )


PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
CSV = "name,city\nJürgen,Köln\n".encode()
OOXML = {"[Content_Types].xml": b"<Types/>", "_rels/.rels": b"<Relationships/>"}
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56 + b"\x90" * 200
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 50 + b"PE\x00\x00"


@pytest.mark.parametrize(
    ("data", "name", "expected"),
    [
        (image("PNG"), "", ("image/png", "png")),
        (image("JPEG"), "", ("image/jpeg", "jpg")),
        (image("GIF"), "", ("image/gif", "gif")),
        (image("WEBP"), "", ("image/webp", "webp")),
        (PDF, "", ("application/pdf", "pdf")),
        (office({**OOXML, "word/document.xml": b"<w/>"}), "", (DOCX, "docx")),
        (office({**OOXML, "xl/workbook.xml": b"<x/>"}), "", (XLSX, "xlsx")),
        (office({"mimetype": ODT.encode(), "content.xml": b"<o/>"}), "", (ODT, "odt")),
        (office({"mimetype": ODS.encode(), "content.xml": b"<o/>"}), "", (ODS, "ods")),
        (CSV, "people.csv", ("text/csv", "csv")),
        (CSV, "people.txt", ("text/plain", "txt")),
        ("Grüße\n".encode(), "", ("text/plain", "txt")),
        # Names and claimed types never decide: a PNG called .csv is still a PNG.
        (image("PNG"), "data.csv", ("image/png", "png")),
        (random.Random(1).randbytes(4096), "", None),  # binary noise
        (ELF, "", None),
        (EXE, "setup.txt", None),
        (office({"readme.txt": b"hi"}), "", None),  # a plain ZIP archive
        (office({**OOXML, "word/document.xml": b"", "word/vbaProject.bin": b"m"}), "", None),
        (b"PK\x03\x04 not really a zip", "", None),
        ("text".encode("utf-16"), "", None),  # NUL bytes
        (b"caf\xe9", "", None),  # Latin-1, not UTF-8
        (b"", "", None),
    ],
)
def test_sniff_judges_by_content(data, name, expected):
    assert files.sniff(data, name) == expected


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("C:\\Users\\me\\Überblick  2024.csv", "Überblick 2024.csv"),
        ("../../etc/pass\x00wd", "passwd"),
        ("  .hidden.txt. ", "hidden.txt"),
        ("", "file"),
        (None, "file"),
        ("a" * 300 + ".pdf", "a" * 187 + ".pdf"),
    ],
)
def test_clean_filename(raw, clean):
    assert files.clean_filename(raw) == clean


def upload(people, data: bytes, name: str, **kwargs) -> StoredFile:
    stream = FileStorage(stream=io.BytesIO(data), filename=name)
    with org_context(people.org_a.id):
        return files.store_upload(people.org_a.id, people.alice.id, stream, **kwargs)


def count_files() -> int:
    with system_context("test: every organization's files"):
        return _db.session.execute(_db.select(_db.func.count(StoredFile.id))).scalar_one()


def test_an_image_is_stored_with_a_thumbnail(people):
    data = image("PNG", (800, 400))
    f = upload(people, data, "Photo.png", owner=("contact", 7))
    _db.session.commit()
    assert f.key.startswith(f"org-{people.org_a.id}/") and f.key.endswith(".png")
    assert (f.filename, f.content_type, f.size) == ("Photo.png", "image/png", len(data))
    assert (f.width, f.height, f.owner_kind, f.owner_id) == (800, 400, "contact", 7)
    assert f.created_by_id == people.alice.id
    assert storage().get(f.key) == data
    with Image.open(io.BytesIO(storage().get(f.thumbnail_key))) as thumb:
        assert thumb.size == (320, 160)


def test_exif_rotation_is_applied(people):
    f = upload(people, image("JPEG", (400, 200), orientation=6), "turned.jpeg")
    assert (f.width, f.height) == (200, 400)
    with Image.open(io.BytesIO(storage().get(f.thumbnail_key))) as thumb:
        assert thumb.size == (160, 320)


def test_a_pdf_gets_a_preview_of_its_first_page(people):
    from weasyprint import HTML

    data = HTML(string="<h1>Receipt</h1><p>Total 12.50</p>").write_pdf()
    f = upload(people, data, "receipt.pdf")
    assert (f.width, f.height) == (595, 842)  # A4, in points
    with Image.open(io.BytesIO(storage().get(f.thumbnail_key))) as thumb:
        assert thumb.size[1] == 320 and 225 <= thumb.size[0] <= 227


def test_a_document_gets_no_thumbnail_and_a_missing_extension(people):
    f = upload(people, PDF, "scan")
    assert (f.filename, f.content_type, f.thumbnail_key, f.width) == (
        "scan.pdf",
        "application/pdf",
        None,
        None,
    )


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"", "empty.txt", "empty.txt is empty."),
        (image("PNG"), "report.pdf", "report.pdf is really a PNG image."),
        (PDF, "invoice.docx", "invoice.docx is really a PDF document."),
        (b"<script>alert(1)</script>", "page.html", "page.html is really a plain text file."),
        (ELF, "tool.txt", "tool.txt is not a file type Startvora accepts."),
        (EXE, "setup.exe", "setup.exe is not a file type Startvora accepts."),
        (png_header(10_000, 10_000), "bomb.png", "bomb.png has too many pixels"),
        (b"\x89PNG\r\n\x1a\n" + b"junk" * 50, "broken.png", "broken.png is damaged"),
    ],
)
def test_refused_uploads_store_nothing(app, people, data, name, message):
    before = set(storage().list_keys())
    with pytest.raises(UploadError) as refused:
        upload(people, data, name)
    assert str(refused.value.message).startswith(message)
    _db.session.rollback()
    assert count_files() == 0 and set(storage().list_keys()) == before


def test_only_the_allowed_types(people):
    with pytest.raises(UploadError, match=r"not a file type accepted here \(a GIF image, a PNG"):
        upload(people, PDF, "a.pdf", allowed={"image/png", "image/gif"})
    assert upload(people, PDF, "a.pdf", allowed={"application/pdf"}).content_type == (
        "application/pdf"
    )
    with pytest.raises(ValueError, match="unknown content types"):
        upload(people, PDF, "a.pdf", allowed={"application/x-msdownload"})


def test_too_large_is_refused_without_reading_it_all(app, people, monkeypatch):
    settings = app.extensions["startvora.settings"]
    smaller = dataclasses.replace(
        settings, storage=dataclasses.replace(settings.storage, max_upload_mb=1)
    )
    monkeypatch.setitem(app.extensions, "startvora.settings", smaller)
    stream = io.BytesIO(b"a" * (3 * 1024 * 1024))
    before = set(storage().list_keys())
    with org_context(people.org_a.id), pytest.raises(UploadError) as refused:
        files.store_upload(people.org_a.id, None, FileStorage(stream=stream, filename="big.txt"))
    assert str(refused.value.message) == "The file is larger than 1 MB."
    assert stream.tell() == 1024 * 1024 + 1  # stopped one byte past the limit
    assert count_files() == 0 and set(storage().list_keys()) == before
    exactly = upload(people, b"a" * (1024 * 1024), "fits.txt")
    assert exactly.size == 1024 * 1024


def test_files_of_a_rolled_back_transaction_are_removed(people):
    f = upload(people, image("PNG"), "gone.png")
    keys = [f.key, f.thumbnail_key]
    _db.session.rollback()
    assert not any(storage().exists(k) for k in keys)
    kept = upload(people, PDF, "kept.pdf")
    _db.session.commit()
    assert storage().exists(kept.key)


def test_delete_file_removes_the_bytes_after_commit(people):
    f = upload(people, image("PNG"), "old.png")
    _db.session.commit()
    keys = [f.key, f.thumbnail_key]
    with org_context(people.org_a.id):
        files.delete_file(f)
        assert all(storage().exists(k) for k in keys)  # not yet: the deletion may roll back
        _db.session.commit()
    assert not any(storage().exists(k) for k in keys)
    assert count_files() == 0


class Flaky:
    """A storage that accepts the first file and then becomes unreachable."""

    name = "flaky"

    def __init__(self, real):
        self.real, self.puts, self.deleted = real, 0, []

    def put(self, key, data, content_type):
        self.puts += 1
        if self.puts > 1:
            raise StorageError("S3 storage cannot be reached: connection refused")
        self.real.put(key, data, content_type)

    def delete(self, key):
        self.deleted.append(key)
        self.real.delete(key)

    def get(self, key):
        raise StorageError("S3 storage cannot be reached: connection refused")


def test_unreachable_storage_is_a_clear_error_and_leaves_nothing(app, people, monkeypatch):
    flaky = Flaky(storage())
    monkeypatch.setitem(app.extensions, "startvora.storage", flaky)
    with pytest.raises(UploadError) as refused:
        upload(people, image("PNG"), "photo.png")  # the original goes in, its thumbnail fails
    assert str(refused.value.message) == (
        "The file storage cannot be reached. Nothing was saved; try again."
    )
    assert len(flaky.deleted) == 1 and not flaky.real.exists(flaky.deleted[0])
    _db.session.rollback()
    assert count_files() == 0


def test_store_bytes_for_generated_files(people):
    with org_context(people.org_a.id):
        pdf = files.store_bytes(people.org_a.id, "Invoice 7.pdf", PDF, "application/pdf")
        odd = files.store_bytes(people.org_a.id, "x", b"\x00\x01", "application/x-thing")
        bad = files.store_bytes(people.org_a.id, "b.png", b"\x89PNG broken", "image/png")
    assert pdf.key.endswith(".pdf") and pdf.created_by_id is None
    assert odd.key.endswith(".bin")
    assert bad.thumbnail_key is None  # the application's own file is kept, just not previewed


# Views: served to members only, never as something that can run


def stored(people, data: bytes, name: str, content_type: str, org=None) -> StoredFile:
    f = factories.make_file(
        org or people.org_a, data=data, filename=name, content_type=content_type
    )
    _db.session.commit()
    return f


def test_download_headers(client, people, login):
    f = stored(people, image("PNG"), "Foto März.png", "image/png")
    login(people.bob)  # any member may read, a viewer too
    response = client.get(f"/o/acme/files/{f.id}")
    assert response.status_code == 200 and response.data == storage().get(f.key)
    assert response.mimetype == "image/png"
    assert response.headers["Content-Disposition"] == (
        "inline; filename=\"Foto Marz.png\"; filename*=UTF-8''Foto%20M%C3%A4rz.png"
    )
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    csp = response.headers["Content-Security-Policy"]
    assert "sandbox" in csp and "default-src 'none'" in csp and "script" not in csp
    assert response.headers["Cache-Control"] in ("private, max-age=3600", "max-age=3600, private")
    assert response.headers["ETag"] == f'"{f.sha256}"'
    again = client.get(f"/o/acme/files/{f.id}", headers={"If-None-Match": f'"{f.sha256}"'})
    assert again.status_code == 304 and again.data == b""


@pytest.mark.parametrize(
    ("data", "name", "content_type", "disposition"),
    [
        (PDF, "a.pdf", "application/pdf", "inline"),
        (CSV, "a.csv", "text/csv", "attachment"),
        (b"<script>alert(1)</script>", "a.txt", "text/plain", "attachment"),
        (office({**OOXML, "word/document.xml": b"<w/>"}), "a.docx", DOCX, "attachment"),
    ],
)
def test_only_images_and_pdf_are_inline(
    client, people, login, data, name, content_type, disposition
):
    f = stored(people, data, name, content_type)
    login(people.carol)
    response = client.get(f"/o/acme/files/{f.id}")
    assert response.mimetype == content_type
    assert response.headers["Content-Disposition"].startswith(f'{disposition}; filename="{name}"')


def test_thumbnail_route(client, people, login):
    photo = stored(people, image("PNG", (640, 640)), "p.png", "image/png")
    pdf = stored(people, PDF, "a.pdf", "application/pdf")
    login(people.alice)
    response = client.get(f"/o/acme/files/{photo.id}/thumbnail")
    assert response.status_code == 200 and response.mimetype.startswith("image/")
    with Image.open(io.BytesIO(response.data)) as thumb:
        assert thumb.size == (320, 320)
    assert response.headers["ETag"] != f'"{photo.sha256}"'
    assert client.get(f"/o/acme/files/{pdf.id}/thumbnail").status_code == 404


def test_other_organizations_and_strangers_get_nothing(client, people, login):
    ours = stored(people, PDF, "ours.pdf", "application/pdf")
    theirs = stored(people, PDF, "theirs.pdf", "application/pdf", org=people.org_b)
    anonymous = client.get(f"/o/acme/files/{ours.id}")
    assert anonymous.status_code == 302 and "/sign-in" in anonymous.headers["Location"]
    login(people.alice)
    assert client.get(f"/o/acme/files/{theirs.id}").status_code == 404
    assert client.get(f"/o/acme/files/{theirs.id}/thumbnail").status_code == 404
    assert client.get("/o/acme/files/999").status_code == 404
    login(people.charlie)
    assert client.get(f"/o/acme/files/{ours.id}").status_code == 404
    assert client.get(f"/o/bravo/files/{ours.id}").status_code == 404


def test_unreachable_storage_when_serving(app, client, people, login, monkeypatch):
    f = stored(people, PDF, "a.pdf", "application/pdf")
    monkeypatch.setitem(app.extensions, "startvora.storage", Flaky(storage()))
    login(people.alice)
    response = client.get(f"/o/acme/files/{f.id}")
    assert response.status_code == 503
    assert "The file storage cannot be reached" in response.get_data(as_text=True)


@pytest.mark.parametrize("kind", ["page", "htmx", "api"])
def test_an_oversized_request_gets_413(make_app, kind):
    other = make_app(storage__max_upload_mb=1)
    assert other.config["MAX_CONTENT_LENGTH"] == 2 * 1024 * 1024

    @other.post("/api/v1/test-upload")  # no API endpoint takes files yet
    def api_upload():
        return {"files": len(request.files)}

    with other.app_context():
        _db.create_all()
    client = other.test_client()
    url = "/api/v1/test-upload" if kind == "api" else "/o/acme/settings"
    headers = {"HX-Request": "true"} if kind == "htmx" else {}
    # Built by hand: the test client would spool a body this size to a file it never closes.
    body = (
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n\r\n'
        + b"x" * (2 * 1024 * 1024 + 10)
        + b"\r\n--b--\r\n"
    )
    response = client.post(
        url, data=body, content_type="multipart/form-data; boundary=b", headers=headers
    )
    assert response.status_code == 413
    message = "The upload is too large (limit 1 MB)."
    if kind == "page":
        assert message in response.get_data(as_text=True) and "<html" in response.text
    elif kind == "htmx":
        assert message in json.loads(response.headers["HX-Trigger"])["showToast"]["message"]
    else:
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["detail"] == message
