"""Custom fields: definitions per organization and kind of record, values in a JSON column.

A record keeps its values in `custom` ({"key": value}); the definitions say what each key is
(text, number, date, choice, checkbox), so forms, lists, filters, import, export and the API
all read and check values the same way, through `parse_values` and `display`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Boolean, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from startvora.core.db import UTCDateTime, utcnow
from startvora.core.tenancy import TenantMixin
from startvora.extensions import db

KINDS = {
    "text": _l("Text"),
    "number": _l("Number"),
    "date": _l("Date"),
    "choice": _l("Choice"),
    "checkbox": _l("Checkbox"),
}
TRUE = {"1", "true", "yes", "on", "y", "x"}
FALSE = {"", "0", "false", "no", "off", "n"}
MAX_TEXT = 500
PREFIX = "cf_"  # form and import column names: cf_<key>


class CustomField(TenantMixin, db.Model):
    """One extra field of one kind of record (contact, company, lead, deal)."""

    __tablename__ = "core_custom_fields"
    __table_args__ = (UniqueConstraint("org_id", "entity", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entity: Mapped[str] = mapped_column(String(30))
    key: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(10))
    choices: Mapped[list[str]] = mapped_column(JSON, default=list)
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


def fields_for(org_id: int, entity: str) -> list[CustomField]:
    return list(
        db.session.execute(
            db.select(CustomField)
            .where(CustomField.org_id == org_id, CustomField.entity == entity)
            .order_by(CustomField.position, CustomField.id)
        ).scalars()
    )


def make_key(label: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "_", label.casefold()).strip("_")[:30] or "field"
    key, n = base, 2
    while key in taken:
        key, n = f"{base}_{n}", n + 1
    return key


def parse_value(field: CustomField, raw: Any) -> Any:
    """The stored value of one raw input (a form string, an import cell, JSON); ValueError."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if field.kind == "checkbox":
            return False
        if field.required:
            raise ValueError(_("%(field)s is required.", field=field.label))
        return None
    text = str(raw).strip()
    if field.kind == "text":
        if len(text) > MAX_TEXT:
            raise ValueError(
                _("%(field)s is longer than %(n)d characters.", field=field.label, n=MAX_TEXT)
            )
        return text
    if field.kind == "number":
        if isinstance(raw, bool):
            raise ValueError(_("%(field)s must be a number.", field=field.label))
        try:
            number = Decimal(text.replace(" ", "").replace(",", "."))
        except InvalidOperation:
            raise ValueError(_("%(field)s must be a number.", field=field.label)) from None
        if not number.is_finite():
            raise ValueError(_("%(field)s must be a number.", field=field.label))
        return int(number) if number == number.to_integral_value() else float(number)
    if field.kind == "date":
        try:
            return dt.date.fromisoformat(text[:10]).isoformat()
        except ValueError:
            raise ValueError(
                _("%(field)s must be a date like 2026-03-31.", field=field.label)
            ) from None
    if field.kind == "choice":
        for choice in field.choices:
            if choice.casefold() == text.casefold():
                return choice
        raise ValueError(
            _(
                "%(field)s must be one of: %(choices)s.",
                field=field.label,
                choices=", ".join(field.choices),
            )
        )
    if field.kind == "checkbox":
        if isinstance(raw, bool):
            return raw
        if text.casefold() in TRUE:
            return True
        if text.casefold() in FALSE:
            return False
        raise ValueError(_("%(field)s must be yes or no.", field=field.label))
    raise ValueError(field.kind)


def parse_values(
    fields: list[CustomField], raw: Mapping[str, Any], prefix: str = PREFIX, partial: bool = False
) -> tuple[dict[str, Any], dict[str, str]]:
    """Values by key and errors by input name (`<prefix><key>`) for the given inputs.

    With partial=True, fields absent from `raw` are left out (an API PATCH, an import without
    that column) instead of being read as empty.
    """
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for field in fields:
        name = prefix + field.key
        if partial and name not in raw:
            continue
        try:
            value = parse_value(field, raw.get(name))
        except ValueError as exc:
            errors[name] = str(exc)
            continue
        if value is not None:
            values[field.key] = value
    return values, errors


def display(field: CustomField, value: Any) -> str:
    """A value as people read it."""
    if value is None or value == "":
        return ""
    if field.kind == "checkbox":
        return _("Yes") if value else _("No")
    return str(value)


def json_value(column: Any, key: str) -> Any:
    """The SQL expression for one custom value (for filters and sorting)."""
    return func.json_extract(column, f"$.{key}")
