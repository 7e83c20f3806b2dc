"""Saved views of a list: its search, filters and sort kept under a name, for one or everyone."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qsl, urlencode

from sqlalchemy import Boolean, ForeignKey, String, or_
from sqlalchemy.orm import Mapped, mapped_column

from startvora.core.db import UTCDateTime, utcnow
from startvora.core.tenancy import TenantMixin
from startvora.extensions import db

KEPT = ("q", "sort", "dir")  # and every f_<filter>


class SavedView(TenantMixin, db.Model):
    __tablename__ = "core_saved_views"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("auth_users.id", ondelete="CASCADE"))
    list_name: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(80))
    query: Mapped[str] = mapped_column(String(1000))
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


def clean_query(query_string: str) -> str:
    """Only the list's own state (no cursors, no tokens) from a query string."""
    pairs = [
        (k, v)
        for k, v in parse_qsl(query_string, keep_blank_values=False)
        if k in KEPT or k.startswith("f_")
    ]
    return urlencode(pairs)[:1000]


def views_for(org_id: int, user_id: int, list_name: str) -> list[SavedView]:
    return list(
        db.session.execute(
            db.select(SavedView)
            .where(
                SavedView.org_id == org_id,
                SavedView.list_name == list_name,
                or_(SavedView.user_id == user_id, SavedView.shared.is_(True)),
            )
            .order_by(SavedView.name)
        ).scalars()
    )
