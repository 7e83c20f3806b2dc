"""The organizations module's blueprints, shared by its view modules."""

from __future__ import annotations

from flask import Blueprint

from startvora.core.tenancy import org_blueprint

home_bp = Blueprint("home", __name__)  # pages outside any organization
bp = org_blueprint("orgs", __name__)  # /o/<org_slug>/...
