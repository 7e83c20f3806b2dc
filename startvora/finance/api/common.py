"""What the finance API modules share: amounts as decimal strings, the parsing context, a
record of this organization or 404, and refusals as 422 problems."""

from __future__ import annotations

from typing import Any

from flask import g
from pydantic import BaseModel

from startvora.core import money
from startvora.core.api import ApiError, Invalid
from startvora.core.forms import FORM_ERROR
from startvora.extensions import db
from startvora.finance import services

MAX_LIMIT = 200


class Deleted(BaseModel):
    id: int
    deleted: bool


def amount(minor: int, currency: str) -> str:
    return format(money.from_minor(minor, currency), "f")


def parse_context(currency: str | None = None) -> dict[str, str]:
    return {"currency": currency or g.org.currency, "locale": "en"}  # plain decimals only


def get_own(model: Any, record_id: int, what: str) -> Any:
    obj = db.session.get(model, record_id)
    if obj is None or obj.org_id != g.org.id:
        raise ApiError(404, f"No such {what}.")
    return obj


def refused(exc: services.FinanceError) -> Invalid:
    return Invalid({exc.field or FORM_ERROR: str(exc.message)})
