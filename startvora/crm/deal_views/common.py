"""What the deal pages share: labels, the schema context, the current pipeline."""

from __future__ import annotations

import re

from flask import g
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from startvora.core.tenancy import get_scoped_or_404
from startvora.crm import deals
from startvora.crm.models import Pipeline
from startvora.extensions import db

DEAL_INPUTS = (
    "title",
    "pipeline_id",
    "stage_id",
    "value",
    "currency",
    "expected_close",
    "owner_id",
    "company_name",
    "contact_name",
    "tags",
)
CURRENCIES = ("EUR", "USD", "GBP", "CHF", "JPY", "CAD", "AUD", "SEK", "NOK", "DKK", "PLN")
EMAIL_IN_NAME = re.compile(r"<([^<>\s]+@[^<>\s]+)>\s*$")
STATUS_LABELS = {"open": _l("Open"), "won": _l("Won"), "lost": _l("Lost")}


def schema_context() -> dict[str, str]:
    return {"currency": g.org.currency, "locale": g.org.number_locale or str(get_locale())}


def pipeline_or_first(pipeline_id: int | None = None) -> Pipeline:
    """The pipeline asked for, else the first one (made on first use)."""
    if pipeline_id is not None:
        return get_scoped_or_404(Pipeline, pipeline_id)
    first = deals.ensure_default_pipeline(g.org.id)
    db.session.commit()
    return first
