"""Finance's blueprint, shared by its view modules: /o/<org_slug>/finance/..."""

from __future__ import annotations

from flask import Blueprint

from startvora.core.tenancy import org_blueprint

bp = org_blueprint("finance", __name__, url_prefix="/finance")

# Pages a customer opens from a signed link, without an account: /p/invoices/<token>
public_bp = Blueprint("finance_public", __name__, url_prefix="/p")
