"""Import runs: a file, its column mapping, and the progress of the job that imports it.

The mechanism (reading CSV/XLSX, mapping, preview, per-row validation, the background job with
progress, the error file) lives in `startvora.core.importer`; each module gives it the rows'
schema and a function that saves one valid row.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from startvora.core.db import TimestampMixin, UTCDateTime
from startvora.core.tenancy import TenantMixin
from startvora.extensions import db

STATUSES = ("uploaded", "queued", "running", "done", "failed")


class ImportRun(TenantMixin, TimestampMixin, db.Model):
    __tablename__ = "core_import_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("auth_users.id", ondelete="SET NULL"))
    entity: Mapped[str] = mapped_column(String(40))
    filename: Mapped[str] = mapped_column(String(255))
    file_key: Mapped[str] = mapped_column(String(300))  # the uploaded file in the storage
    encoding: Mapped[str] = mapped_column(String(20), default="")
    columns: Mapped[list[str]] = mapped_column(JSON, default=list)
    mapping: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # column -> field
    on_duplicate: Mapped[str] = mapped_column(String(10), default="skip")  # skip | update
    status: Mapped[str] = mapped_column(String(10), default="uploaded")
    total: Mapped[int] = mapped_column(default=0)
    processed: Mapped[int] = mapped_column(default=0)
    created: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    skipped: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    errors_key: Mapped[str] = mapped_column(String(300), default="")  # the rows that failed
    message: Mapped[str] = mapped_column(Text, default="")
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
