"""Uploaded and generated files: checked by their content, stored under opaque keys, served
only to members of their organization, never able to run script in the browser.

Modules attach files to their records with `owner=("invoice", invoice.id)`.
"""

from __future__ import annotations

import codecs
import datetime as dt
import hashlib
import io
import logging
import re
import secrets
import threading
import unicodedata
import warnings
import zipfile
import zlib
from typing import Any
from urllib.parse import quote

import filetype
from flask import Response, abort, current_app, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, String, event
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship
from werkzeug.datastructures import FileStorage

from startvora.core.db import UTCDateTime, after_commit, utcnow
from startvora.core.errors import render_error
from startvora.core.permissions import require
from startvora.core.storage import StorageError, storage
from startvora.core.tenancy import TenantMixin, get_scoped_or_404, org_blueprint
from startvora.extensions import db

log = logging.getLogger(__name__)

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ODT = "application/vnd.oasis.opendocument.text"
ODS = "application/vnd.oasis.opendocument.spreadsheet"

# Every type Startvora accepts: what to call it, and the extensions a name of it may have
# (the first is the one its storage key gets).
TYPES: dict[str, tuple[Any, tuple[str, ...]]] = {
    "image/png": (_l("a PNG image"), ("png",)),
    "image/jpeg": (_l("a JPEG image"), ("jpg", "jpeg", "jpe", "jfif")),
    "image/gif": (_l("a GIF image"), ("gif",)),
    "image/webp": (_l("a WebP image"), ("webp",)),
    "application/pdf": (_l("a PDF document"), ("pdf",)),
    DOCX: (_l("a Word document"), ("docx",)),
    XLSX: (_l("an Excel workbook"), ("xlsx",)),
    ODT: (_l("an OpenDocument text"), ("odt",)),
    ODS: (_l("an OpenDocument spreadsheet"), ("ods",)),
    # No html, svg, xml or js: opened from a download folder, those can run script.
    "text/plain": (_l("a plain text file"), ("txt", "text", "md", "log", "json", "tsv")),
    "text/csv": (_l("a CSV file"), ("csv",)),
}
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
INLINE_TYPES = IMAGE_TYPES | {"application/pdf"}

THUMBNAIL_SIZE = 320
# 50 megapixels: a 48 MP phone photo fits; a "decompression bomb" (a small file that unpacks
# to gigabytes) does not. Decoding the largest accepted image takes about 200 MB.
MAX_PIXELS = 50_000_000
CACHE_SECONDS = 3600
CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"


class UploadError(ValueError):
    """An upload was refused; `message` says why, for people."""

    def __init__(self, message: Any) -> None:
        super().__init__(str(message))
        self.message = message


class StoredFile(TenantMixin, db.Model):
    """One file of an organization; the bytes live in the storage under `key`."""

    __tablename__ = "core_files"
    __table_args__ = (Index("ix_core_files_owner", "owner_kind", "owner_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column()
    sha256: Mapped[str] = mapped_column(String(64))
    thumbnail_key: Mapped[str | None] = mapped_column(String(300))
    width: Mapped[int | None] = mapped_column()
    height: Mapped[int | None] = mapped_column()
    owner_kind: Mapped[str | None] = mapped_column(String(40))
    owner_id: Mapped[int | None] = mapped_column()
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("auth_users.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    created_by = relationship("User")

    @property
    def is_image(self) -> bool:
        return self.content_type in IMAGE_TYPES


def _office_kind(data: bytes) -> str | None:
    """Which office document a ZIP archive is, from its member names; None for any other."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if "word/vbaProject.bin" in names or "xl/vbaProject.bin" in names:
                return None  # macro-enabled documents are refused
            if "[Content_Types].xml" in names and "word/document.xml" in names:
                return DOCX
            if "[Content_Types].xml" in names and "xl/workbook.xml" in names:
                return XLSX
            if "mimetype" in names and archive.getinfo("mimetype").file_size <= 100:
                declared = archive.read("mimetype").strip().decode("ascii", "replace")
                return declared if declared in (ODT, ODS) else None
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, RuntimeError, zlib.error):
        return None  # a damaged or encrypted archive is no office document
    return None


def sniff(data: bytes, filename: str = "") -> tuple[str, str] | None:
    """The content type and extension of an accepted file, judged by its bytes alone.

    The name only tells plain text from CSV; None means Startvora does not accept it.
    """
    if data.startswith(b"PK\x03\x04"):
        kind = _office_kind(data)
    else:
        guessed = filetype.guess(data)
        kind = guessed.mime if guessed is not None and guessed.mime in INLINE_TYPES else None
        if kind is None and data and b"\x00" not in data and _is_utf8(data):
            kind = "text/csv" if _extension(filename) == "csv" else "text/plain"
    if kind is None:
        return None
    return kind, TYPES[kind][1][0]


def _is_utf8(data: bytes) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:  # piece by piece: a large file is never held as text too
        for start in range(0, len(data), 1 << 20):
            decoder.decode(data[start : start + (1 << 20)])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _extension(name: str) -> str:
    return name.rsplit(".", 1)[1].lower() if "." in name.strip(".") else ""


def clean_filename(name: str | None) -> str:
    """The uploaded name, fit for display: no folders, control characters or odd spacing."""
    name = unicodedata.normalize("NFC", (name or "").replace("\\", "/").rsplit("/", 1)[-1])
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C")
    name = " ".join(name.split()).strip(". ")
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = stem[: 190 - len(ext)] + dot + ext if dot and len(ext) <= 10 else name[:200]
    return name or "file"


def _max_bytes() -> int:
    return current_app.extensions["startvora.settings"].storage.max_upload_mb * 1024 * 1024


def _read_limited(upload: FileStorage, limit: int) -> bytes:
    """The upload's bytes, read in chunks; stops as soon as it passes the limit."""
    chunks, total = [], 0
    while chunk := upload.stream.read(min(1024 * 1024, limit + 1 - total)):
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:
            raise UploadError(_l("The file is larger than %(mb)d MB.", mb=limit // 1024 // 1024))
    return b"".join(chunks)


def store_upload(
    org_id: int,
    user_id: int | None,
    upload: FileStorage,
    *,
    allowed: set[str] | frozenset[str] | None = None,
    owner: tuple[str, int] | None = None,
) -> StoredFile:
    """Check an uploaded file by its content and store it; UploadError says why not."""
    if allowed is not None and not allowed <= TYPES.keys():
        raise ValueError(f"unknown content types: {sorted(set(allowed) - TYPES.keys())}")
    name = clean_filename(upload.filename)
    data = _read_limited(upload, _max_bytes())
    if not data:
        raise UploadError(_l("%(name)s is empty.", name=name))
    sniffed = sniff(data, name)
    if sniffed is None:
        raise UploadError(_l("%(name)s is not a file type Startvora accepts.", name=name))
    content_type, ext = sniffed
    if allowed is not None and content_type not in allowed:
        kinds = ", ".join(str(TYPES[t][0]) for t in sorted(allowed))
        raise UploadError(
            _l("%(name)s is not a file type accepted here (%(kinds)s).", name=name, kinds=kinds)
        )
    claimed = _extension(name)
    if not claimed:
        name = f"{name}.{ext}"
    elif claimed not in TYPES[content_type][1]:
        raise UploadError(
            _l("%(name)s is really %(kind)s.", name=name, kind=TYPES[content_type][0])
        )
    try:
        return _save(org_id, name, data, content_type, ext, user_id, owner, strict=True)
    except StorageError as exc:
        log.warning("upload not stored: %s", exc)
        raise UploadError(
            _l("The file storage cannot be reached. Nothing was saved; try again.")
        ) from exc


def store_bytes(
    org_id: int,
    filename: str,
    data: bytes,
    content_type: str,
    created_by_id: int | None = None,
    owner: tuple[str, int] | None = None,
) -> StoredFile:
    """Store a file the application made itself (a PDF, an email attachment)."""
    name = clean_filename(filename)
    known = TYPES.get(content_type)
    ext = known[1][0] if known else _extension(name)
    if not re.fullmatch(r"[a-z0-9]{1,10}", ext):
        ext = "bin"
    return _save(org_id, name, data, content_type, ext, created_by_id, owner, strict=False)


def _save(
    org_id: int,
    name: str,
    data: bytes,
    content_type: str,
    ext: str,
    created_by_id: int | None,
    owner: tuple[str, int] | None,
    strict: bool,
) -> StoredFile:
    thumb = None
    if content_type in IMAGE_TYPES or content_type == "application/pdf":
        try:
            if content_type == "application/pdf":
                thumb = make_pdf_thumbnail(data, name)
            else:
                thumb = make_thumbnail(data, name)
        except UploadError:
            # A PDF that pdfium cannot draw is kept all the same, with no preview.
            if strict and content_type != "application/pdf":
                raise
            log.warning("no thumbnail for %s", name)
    token = secrets.token_hex(16)
    row = StoredFile(
        org_id=org_id,
        key=f"org-{org_id}/{token}.{ext}",
        filename=name,
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        created_by_id=created_by_id,
        owner_kind=owner[0] if owner else None,
        owner_id=owner[1] if owner else None,
    )
    db.session.connection()  # a transaction is open, so its end is seen (see _forget below)
    stored: list[str] = []
    try:
        storage().put(row.key, data, content_type)
        stored.append(row.key)
        if thumb is not None:
            row.thumbnail_key = f"org-{org_id}/{token}-thumb.{thumb[1]}"
            row.width, row.height = thumb[2], thumb[3]
            storage().put(row.thumbnail_key, thumb[0], f"image/{thumb[1]}")
            stored.append(row.thumbnail_key)
    except StorageError:
        _remove(stored)
        raise
    # Kept once the transaction commits; removed if it rolls back instead.
    db.session.info.setdefault(_PENDING, []).extend(stored)
    db.session.add(row)
    db.session.flush()
    return row


def make_thumbnail(data: bytes, name: str = "") -> tuple[bytes, str, int, int]:
    """A preview fitting THUMBNAIL_SIZE (WebP, else PNG), its extension, and the image's upright
    width and height; UploadError when the image is unreadable or has too many pixels."""
    from PIL import Image, ImageOps, features

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    too_big = UploadError(_l("%(name)s has too many pixels to be processed.", name=name))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                if image.width * image.height > MAX_PIXELS:
                    raise too_big
                width, height = image.size
                if image.getexif().get(0x0112) in (5, 6, 7, 8):  # EXIF orientation: turned
                    width, height = height, width
                image.draft(None, (THUMBNAIL_SIZE, THUMBNAIL_SIZE))  # JPEG: decode smaller
                thumb = ImageOps.exif_transpose(image)
                thumb.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))
                if thumb.mode not in ("RGB", "RGBA"):
                    thumb = thumb.convert("RGBA" if thumb.has_transparency_data else "RGB")
                out = io.BytesIO()
                ext = "webp" if features.check("webp") else "png"
                thumb.save(out, "WEBP" if ext == "webp" else "PNG", quality=80)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise too_big from None
    except UploadError:
        raise
    except Exception as exc:  # Pillow fails on broken images in many ways; all mean the same
        log.info("unreadable image %s: %r", name, exc)
        raise UploadError(_l("%(name)s is damaged or not a readable image.", name=name)) from exc
    return out.getvalue(), ext, width, height


def make_pdf_thumbnail(data: bytes, name: str = "") -> tuple[bytes, str, int, int]:
    """A preview of a PDF's first page (a receipt, a scanned bill), as make_thumbnail gives;
    UploadError when the PDF cannot be read."""
    with _PDFIUM:  # PDFium is not thread-safe: one document at a time per process
        return _pdf_preview(data, name)


_PDFIUM = threading.Lock()


def _pdf_preview(data: bytes, name: str) -> tuple[bytes, str, int, int]:
    import pypdfium2
    from PIL import features

    try:
        pdf = pypdfium2.PdfDocument(data)
        try:
            if len(pdf) == 0:
                raise UploadError(_l("%(name)s has no pages.", name=name))
            page = pdf[0]
            width, height = page.get_size()  # points
            scale = THUMBNAIL_SIZE / max(width, height, 1)
            image = page.render(scale=scale).to_pil()
            page.close()
        finally:
            pdf.close()
    except UploadError:
        raise
    except Exception as exc:  # pdfium refuses broken files with several error types
        log.info("unreadable PDF %s: %r", name, exc)
        raise UploadError(_l("%(name)s is damaged or not a readable PDF.", name=name)) from exc
    out = io.BytesIO()
    ext = "webp" if features.check("webp") else "png"
    image.convert("RGB").save(out, "WEBP" if ext == "webp" else "PNG", quality=80)
    return out.getvalue(), ext, round(width), round(height)


def delete_file(f: StoredFile) -> None:
    """Delete a file's row; its stored bytes go once the deletion is committed."""
    keys = [k for k in (f.key, f.thumbnail_key) if k]
    db.session.delete(f)
    db.session.flush()
    after_commit(_remove, keys)


def _remove(keys: list[str]) -> None:
    for key in keys:
        try:
            storage().delete(key)
        except Exception as exc:  # an orphan in the storage is harmless; say so and go on
            log.warning("stored file %s not removed: %s", key, exc)


_PENDING = "startvora_files_pending"


@event.listens_for(Session, "after_commit")
def _keep(session: Session) -> None:
    if not session.in_nested_transaction():
        session.info.pop(_PENDING, None)


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction: Any) -> None:
    # The outermost transaction ended without a commit: files stored in it belong to nothing.
    if transaction.parent is None and (keys := session.info.pop(_PENDING, None)):
        from flask import has_app_context

        if has_app_context():
            _remove(keys)


bp = org_blueprint("files", __name__, url_prefix="/files")


def _ascii_name(name: str) -> str:
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    plain = re.sub(r"[^A-Za-z0-9._ ()-]+", "_", plain).strip(" ._")
    return plain or "file"


def _serve(key: str, content_type: str, etag: str, filename: str) -> Response:
    if request.if_none_match.contains_weak(etag):
        response = Response(status=304)
    else:
        try:
            data = storage().get(key)
        except KeyError:
            log.warning("stored file %s is missing from the storage", key)
            abort(404)
        except StorageError as exc:
            log.warning("storage unreachable serving %s: %s", key, exc)
            return render_error(
                503, _("The file storage cannot be reached. Try again in a moment.")
            )
        response = Response(data, mimetype=content_type)
        disposition = "inline" if content_type in INLINE_TYPES else "attachment"
        response.headers["Content-Disposition"] = (
            f'{disposition}; filename="{_ascii_name(filename)}"; '
            f"filename*=UTF-8''{quote(filename, safe='')}"
        )
    response.set_etag(etag)
    response.cache_control.private = True  # members only: no shared cache may keep it
    response.cache_control.max_age = CACHE_SECONDS
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = CSP
    return response


def attached_to(kind: str, owner_id: int) -> list[StoredFile]:
    """The files attached to one record (owner=(kind, id)), oldest first."""
    return list(
        db.session.execute(
            db.select(StoredFile)
            .where(StoredFile.owner_kind == kind, StoredFile.owner_id == owner_id)
            .order_by(StoredFile.id)
        ).scalars()
    )


def serve(f: StoredFile) -> Response:
    """A stored file as a download; the caller has checked who may have it."""
    return _serve(f.key, f.content_type, f.sha256, f.filename)


@bp.get("/<int:file_id>")
@require("org:view")
def download(file_id: int) -> Response:
    """A stored file, to members of its organization."""
    f = get_scoped_or_404(StoredFile, file_id)
    return _serve(f.key, f.content_type, f.sha256, f.filename)


@bp.get("/<int:file_id>/thumbnail")
@require("org:view")
def thumbnail(file_id: int) -> Response:
    """An image's preview; 404 for files that have none."""
    f = get_scoped_or_404(StoredFile, file_id)
    if not f.thumbnail_key:
        abort(404)
    ext = f.thumbnail_key.rsplit(".", 1)[-1]
    stem = f.filename.rsplit(".", 1)[0]
    return _serve(f.thumbnail_key, f"image/{ext}", f"{f.sha256}-thumb", f"{stem}-preview.{ext}")
